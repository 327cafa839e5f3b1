/** Manifest media types the registry understands (and the one it refuses). */
export const mediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

/** Manifests that list child manifests rather than layers. */
export const indexMediaTypes: ReadonlySet<string> = new Set([
  mediaTypes.ociIndex,
  mediaTypes.dockerManifestList,
]);

/** Manifests that reference a config and layers. */
export const imageMediaTypes: ReadonlySet<string> = new Set([
  mediaTypes.ociManifest,
  mediaTypes.dockerManifest,
]);

export const schema1MediaTypes: ReadonlySet<string> = new Set([
  mediaTypes.dockerSchema1,
  mediaTypes.dockerSchema1Signed,
]);

/** Strips parameters (`; charset=...`) and case from a Content-Type value. */
export function bareMediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}
