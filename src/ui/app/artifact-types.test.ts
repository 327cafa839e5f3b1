import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { artifactLabel } from './artifact-types.js';

describe('artifact type labels', () => {
  it('names signatures, SBOMs and attestations, and nothing else', () => {
    assert.equal(artifactLabel('application/vnd.dev.cosign.artifact.sig.v1+json'), 'Signature (cosign)');
    assert.equal(artifactLabel('application/vnd.dev.sigstore.bundle.v0.3+json'), 'Sigstore bundle');
    assert.equal(artifactLabel('application/vnd.dev.sigstore.bundle+json'), 'Sigstore bundle');
    assert.equal(artifactLabel('application/vnd.cncf.notary.signature'), 'Signature (Notation)');
    assert.equal(artifactLabel('application/spdx+json'), 'SBOM (SPDX)');
    assert.equal(artifactLabel('text/spdx'), 'SBOM (SPDX)');
    assert.equal(artifactLabel('application/vnd.cyclonedx+json'), 'SBOM (CycloneDX)');
    assert.equal(artifactLabel('application/vnd.in-toto+json'), 'Attestation (in-toto)');
    assert.equal(artifactLabel('application/vnd.example.thing'), undefined);
    assert.equal(artifactLabel(undefined), undefined);
  });
});
