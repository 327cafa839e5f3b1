import type { Digest } from '../protocol/digest.js';

/**
 * The on-disk layout, the same as CNCF Distribution's, so either registry serves what the
 * other wrote. Every path the registry touches is made here and nowhere else.
 *
 *   /docker/registry/v2/
 *     blobs/<alg>/<first two hex>/<hex>/data                        content, stored once
 *     repositories/<name>/
 *       _layers/<alg>/<hex>/link                                    blob belongs to the repository
 *       _manifests/revisions/<alg>/<hex>/link                       a manifest revision
 *       _manifests/tags/<tag>/current/link                          the digest the tag points at
 *       _manifests/tags/<tag>/index/<alg>/<hex>/link                every digest the tag has had
 *       _uploads/<id>/data                                          bytes of an upload in progress
 *       _uploads/<id>/startedat                                     RFC 3339 start time
 *
 * A link file holds the digest text (`sha256:<hex>`) with no newline. Callers pass only
 * names, tags, digests and upload ids that passed the protocol grammar; the driver checks
 * every path once more.
 */
const root = '/docker/registry/v2';

export const paths = {
  root,
  blobsRoot: `${root}/blobs`,
  repositoriesRoot: `${root}/repositories`,

  blobDirectory: (digest: Digest) => `${root}/blobs/${digest.algorithm}/${digest.hex.slice(0, 2)}/${digest.hex}`,
  blobData: (digest: Digest) => `${paths.blobDirectory(digest)}/data`,
  /**
   * Berth only (Distribution ignores it): written by online garbage collection before it deletes
   * the blob. While it exists the blob counts as missing for new references (a manifest push
   * fails cleanly); an upload of the same content removes it, and the collector deletes the
   * blob only if the marker is still there.
   */
  blobDeletingMarker: (digest: Digest) => `${paths.blobDirectory(digest)}/deleting`,
  /**
   * Berth only: where online garbage collection sets a blob's data aside before its last check
   * of the marker, so the data can go back if an upload wanted the blob in the meantime.
   */
  blobsSetAside: (algorithm: string) => `${root}/_berth/gc/aside/${algorithm}`,
  blobSetAside: (digest: Digest) => `${paths.blobsSetAside(digest.algorithm)}/${digest.hex}`,

  repository: (name: string) => `${root}/repositories/${name}`,
  layerLink: (name: string, digest: Digest) =>
    `${paths.repository(name)}/_layers/${digest.algorithm}/${digest.hex}/link`,
  layerLinkDirectory: (name: string, digest: Digest) =>
    `${paths.repository(name)}/_layers/${digest.algorithm}/${digest.hex}`,

  manifests: (name: string) => `${paths.repository(name)}/_manifests`,
  revisionsOf: (name: string, algorithm: string) => `${paths.manifests(name)}/revisions/${algorithm}`,
  revisionLinkDirectory: (name: string, digest: Digest) =>
    `${paths.revisionsOf(name, digest.algorithm)}/${digest.hex}`,
  revisionLink: (name: string, digest: Digest) => `${paths.revisionLinkDirectory(name, digest)}/link`,

  tags: (name: string) => `${paths.manifests(name)}/tags`,
  tag: (name: string, tag: string) => `${paths.tags(name)}/${tag}`,
  tagCurrentLink: (name: string, tag: string) => `${paths.tag(name, tag)}/current/link`,
  tagIndexLink: (name: string, tag: string, digest: Digest) =>
    `${paths.tag(name, tag)}/index/${digest.algorithm}/${digest.hex}/link`,

  uploads: (name: string) => `${paths.repository(name)}/_uploads`,
  upload: (name: string, id: string) => `${paths.uploads(name)}/${id}`,
  uploadData: (name: string, id: string) => `${paths.upload(name, id)}/data`,
  uploadStartedAt: (name: string, id: string) => `${paths.upload(name, id)}/startedat`,
} as const;

/**
 * Directories that make a directory a repository: it has content (layers or manifests). A
 * directory with only `_uploads` is not one yet, for the catalog and for every 404 alike.
 */
export const contentMarkers: readonly string[] = ['_layers', '_manifests'];
