import { parseDigest, type Digest } from '../protocol/digest.js';

/** What a stored manifest points at, as garbage collection needs it. */
export interface ManifestReferences {
  /** Config and layers (foreign layers too: marking a digest that is not stored is harmless). */
  readonly blobs: readonly Digest[];
  /** Child manifests of an index. */
  readonly children: readonly Digest[];
  readonly subject?: Digest;
}

export class ManifestUnreadableError extends Error {
  constructor(
    readonly digest: string,
    options?: { cause?: unknown },
  ) {
    super(`manifest ${digest} is not JSON: refusing to collect, its references are unknown`, options);
    this.name = 'ManifestUnreadableError';
  }
}

/**
 * The references of stored manifest bytes, read leniently: the collector must never lose a blob
 * because a manifest written by another registry fails Berth's stricter push-time checks. Knows
 * OCI/Docker schema 2 images and indexes, and Docker schema 1 (`fsLayers[].blobSum`), which
 * `docker-registry` may have stored. Throws ManifestUnreadableError when the bytes are not a JSON
 * object, so that a run stops before deleting anything it cannot account for.
 */
export function manifestReferences(digest: string, bytes: Uint8Array): ManifestReferences {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new ManifestUnreadableError(digest, { cause: error });
  }
  if (!isObject(body)) throw new ManifestUnreadableError(digest);
  const blobs: Digest[] = [];
  const children: Digest[] = [];
  pushDigest(blobs, isObject(body.config) ? body.config.digest : undefined);
  for (const layer of arrayOf(body.layers)) pushDigest(blobs, isObject(layer) ? layer.digest : undefined);
  for (const layer of arrayOf(body.fsLayers)) pushDigest(blobs, isObject(layer) ? layer.blobSum : undefined);
  for (const child of arrayOf(body.manifests)) pushDigest(children, isObject(child) ? child.digest : undefined);
  const subject = isObject(body.subject) && typeof body.subject.digest === 'string' ? parseDigest(body.subject.digest) : undefined;
  return { blobs, children, subject };
}

function pushDigest(into: Digest[], value: unknown): void {
  const digest = typeof value === 'string' ? parseDigest(value) : undefined;
  if (digest) into.push(digest);
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
