import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectError } from '../helpers/http.js';
import {
  digestOf,
  emptyContent,
  emptyDescriptor,
  mediaTypes,
  pushBlob,
  pushImage,
  pushManifest,
  type Descriptor,
  type PushedManifest,
} from '../helpers/push.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

interface ReferrerDescriptor extends Descriptor {
  artifactType?: string;
  annotations?: Record<string, string>;
}

const signatureType = 'application/vnd.example.signature.v1';
const sbomConfigType = 'application/vnd.example.sbom.config.v1+json';
const bundleType = 'application/vnd.example.bundle.v1';

describe('referrers', { timeout: 60_000 }, () => {
  let registry: TestRegistry;
  let url: string;
  let subject: PushedManifest;
  let subjectDescriptor: Descriptor;
  /** Every referrer of `subject` in r/app, as the referrers API must describe it. */
  const expected: ReferrerDescriptor[] = [];

  function byDigest(list: ReferrerDescriptor[]): ReferrerDescriptor[] {
    return [...list].sort((a, b) => (a.digest < b.digest ? -1 : 1));
  }

  async function referrers(name: string, digest: string, query = ''): Promise<Response> {
    return await fetch(`${url}/v2/${name}/referrers/${digest}${query}`);
  }

  function assertIndex(response: Response): void {
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), mediaTypes.ociIndex);
    assert.equal(response.headers.get('docker-distribution-api-version'), 'registry/2.0');
  }

  before(async () => {
    registry = await startTestRegistry();
    url = registry.url;
    subject = await pushImage(url, 'r/app', 'v1');
    subjectDescriptor = { mediaType: subject.mediaType, digest: subject.digest, size: subject.size };
    await pushBlob(url, 'r/app', emptyContent, mediaTypes.ociEmpty);

    // An image manifest with artifactType and annotations.
    const signature = await pushBlob(url, 'r/app', 'signature bytes', 'application/vnd.example.signature.payload');
    const signed = await pushManifest(url, 'r/app', 'sig', {
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      artifactType: signatureType,
      config: emptyDescriptor,
      layers: [signature],
      subject: subjectDescriptor,
      annotations: { 'org.example.signer': 'alice', 'org.opencontainers.image.created': '2024-05-01T00:00:00Z' },
    });
    expected.push({
      mediaType: mediaTypes.ociManifest,
      digest: signed.digest,
      size: signed.size,
      artifactType: signatureType,
      annotations: { 'org.example.signer': 'alice', 'org.opencontainers.image.created': '2024-05-01T00:00:00Z' },
    });

    // An image manifest without artifactType: the config media type stands in for it.
    const sbom = await pushImage(url, 'r/app', undefined, {
      config: { mediaType: sbomConfigType, content: '{"format":"spdx"}' },
      subject: subjectDescriptor,
    });
    expected.push({ mediaType: mediaTypes.ociManifest, digest: sbom.digest, size: sbom.size, artifactType: sbomConfigType });

    // An index without artifactType: the descriptor has none either.
    const bundle = await pushManifest(url, 'r/app', 'bundle', {
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      manifests: [{ mediaType: signed.mediaType, digest: signed.digest, size: signed.size }],
      subject: subjectDescriptor,
      annotations: { 'org.example.kind': 'bundle' },
    });
    expected.push({ mediaType: mediaTypes.ociIndex, digest: bundle.digest, size: bundle.size, annotations: { 'org.example.kind': 'bundle' } });

    // An index with artifactType.
    const typedBundle = await pushManifest(url, 'r/app', 'typed-bundle', {
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      artifactType: bundleType,
      manifests: [],
      subject: subjectDescriptor,
    });
    expected.push({ mediaType: mediaTypes.ociIndex, digest: typedBundle.digest, size: typedBundle.size, artifactType: bundleType });

    // Not referrers of the subject: no subject, another subject, another repository.
    await pushImage(url, 'r/app', 'plain');
    await pushImage(url, 'r/app', 'other-subject', { subject: { ...subjectDescriptor, digest: digestOf('another subject') } });
    await pushBlob(url, 'r/other', emptyContent, mediaTypes.ociEmpty);
    await pushManifest(url, 'r/other', 'sig', {
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      artifactType: signatureType,
      config: emptyDescriptor,
      layers: [],
      subject: subjectDescriptor,
    });
  });
  after(async () => {
    await registry.close();
  });

  test('lists every manifest whose subject is the digest, as an OCI index', async () => {
    const response = await referrers('r/app', subject.digest);
    assertIndex(response);
    assert.equal(response.headers.get('oci-filters-applied'), null);
    assert.deepEqual(await response.json(), { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: byDigest(expected) });
  });

  test('?artifactType= filters and says so in OCI-Filters-Applied', async () => {
    for (const type of [signatureType, sbomConfigType, bundleType]) {
      const response = await referrers('r/app', subject.digest, `?artifactType=${encodeURIComponent(type)}`);
      assertIndex(response);
      assert.equal(response.headers.get('oci-filters-applied'), 'artifactType');
      const body = (await response.json()) as { manifests: ReferrerDescriptor[] };
      assert.deepEqual(body.manifests, byDigest(expected.filter((d) => d.artifactType === type)), type);
      assert.equal(body.manifests.length, 1);
    }
  });

  test('a filter that matches nothing gives an empty list', async () => {
    const response = await referrers('r/app', subject.digest, '?artifactType=application%2Fvnd.example.none');
    assertIndex(response);
    assert.equal(response.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual(await response.json(), { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [] });
  });

  test('a digest with no referrers, or an unknown repository, gives 200 and an empty list', async () => {
    for (const [name, digest] of [
      ['r/app', digestOf('nothing refers to this')],
      ['r/never-pushed', subject.digest],
    ] as const) {
      const response = await referrers(name, digest);
      assertIndex(response);
      assert.deepEqual(await response.json(), { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [] });
    }
  });

  test('a referrer pushed before its subject is listed', async () => {
    const future = digestOf('subject pushed later');
    const early = await pushManifest(url, 'r/app', 'early', {
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      artifactType: signatureType,
      config: emptyDescriptor,
      layers: [],
      subject: { mediaType: mediaTypes.ociManifest, digest: future, size: 1 },
    });
    const response = await referrers('r/app', future);
    assertIndex(response);
    assert.deepEqual(((await response.json()) as { manifests: ReferrerDescriptor[] }).manifests, [
      { mediaType: mediaTypes.ociManifest, digest: early.digest, size: early.size, artifactType: signatureType },
    ]);
  });

  test('a deleted referrer is no longer listed', async () => {
    const target = await pushImage(url, 'r/app', 'delete-target');
    const referrer = await pushImage(url, 'r/app', undefined, {
      artifactType: signatureType,
      subject: { mediaType: target.mediaType, digest: target.digest, size: target.size },
    });
    const before = (await (await referrers('r/app', target.digest)).json()) as { manifests: ReferrerDescriptor[] };
    assert.deepEqual(before.manifests.map((d) => d.digest), [referrer.digest]);
    assert.equal((await fetch(`${url}/v2/r/app/manifests/${referrer.digest}`, { method: 'DELETE' })).status, 202);
    const after = (await (await referrers('r/app', target.digest)).json()) as { manifests: ReferrerDescriptor[] };
    assert.deepEqual(after.manifests, []);
  });

  test('an invalid digest is 400 DIGEST_INVALID', async () => {
    for (const digest of ['latest', 'sha256:abc', `md5:${'0'.repeat(32)}`, `sha256:${'A'.repeat(64)}`]) {
      await expectError(await referrers('r/app', digest), 400, 'DIGEST_INVALID');
    }
  });

  test('only GET is supported', async () => {
    const response = await fetch(`${url}/v2/r/app/referrers/${subject.digest}`, { method: 'DELETE' });
    await expectError(response, 405, 'UNSUPPORTED');
    assert.equal(response.headers.get('allow'), 'GET');
  });
});
