import { parseDigest, type Digest } from '../protocol/digest.js';

/** A blob a cached manifest holds in its repository, with the size its descriptor states. */
export interface CachedPart {
  readonly digest: Digest;
  /** Undefined when the manifest states none (schema 1 `fsLayers`): the stored size counts then. */
  readonly size?: number;
}

/**
 * The config and layers of stored manifest bytes, read leniently like garbage collection's
 * references (an upstream may serve what Berth's push checks would refuse), with their sizes so
 * that sizing the cache needs no stat per blob. An index holds no blobs (its children are
 * revisions of their own); bytes that are not a JSON object hold nothing.
 */
export function cachedParts(bytes: Uint8Array): CachedPart[] {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return [];
  }
  if (!isObject(body)) return [];
  const parts: CachedPart[] = [];
  const add = (digestText: unknown, size: unknown) => {
    const digest = typeof digestText === 'string' ? parseDigest(digestText) : undefined;
    if (!digest) return;
    parts.push({ digest, size: typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? size : undefined });
  };
  if (isObject(body.config)) add(body.config.digest, body.config.size);
  for (const layer of arrayOf(body.layers)) if (isObject(layer)) add(layer.digest, layer.size);
  for (const layer of arrayOf(body.fsLayers)) if (isObject(layer)) add(layer.blobSum, undefined);
  return parts;
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
