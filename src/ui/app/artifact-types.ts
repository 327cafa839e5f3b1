/**
 * Readable names for the artifact types of referrers (signatures, SBOMs, attestations). The
 * raw type is always shown next to the label; an unknown type has no label.
 */
const labels: Array<[RegExp, string]> = [
  [/^application\/vnd\.dev\.cosign\.artifact\.sig\.v1\+json$/, 'Signature (cosign)'],
  [/^application\/vnd\.dev\.cosign\.simplesigning\.v1\+json$/, 'Signature (cosign)'],
  [/^application\/vnd\.dev\.sigstore\.bundle(\.v[\d.]+)?\+json/, 'Sigstore bundle'],
  [/^application\/vnd\.cncf\.notary\.signature$/, 'Signature (Notation)'],
  [/spdx/i, 'SBOM (SPDX)'],
  [/cyclonedx/i, 'SBOM (CycloneDX)'],
  [/syft/i, 'SBOM (Syft)'],
  [/in-toto|intoto/i, 'Attestation (in-toto)'],
  [/^application\/vnd\.dsse\.envelope/, 'Attestation (DSSE)'],
  [/^application\/vnd\.oci\.image\.manifest\.v1\+json$/, 'Image'],
  [/^application\/vnd\.oci\.image\.index\.v1\+json$/, 'Image index'],
];

/** `application/vnd.cncf.notary.signature` → `Signature (Notation)`; undefined when unknown. */
export function artifactLabel(type: string | undefined): string | undefined {
  if (!type) return undefined;
  return labels.find(([pattern]) => pattern.test(type))?.[1];
}
