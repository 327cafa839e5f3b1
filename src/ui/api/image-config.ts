import { parseDigest } from '../../protocol/digest.js';
import { RegistryError } from '../../protocol/errors.js';
import { exceedsJsonDepth } from '../../registry/json-depth.js';
import type { Registry } from '../../registry/registry.js';
import { imageConfigMediaTypes, maxJsonDepth, type DescriptorView } from './manifest-view.js';

/**
 * The largest config blob the UI parses. Real image configs are a few KiB (tens with a long
 * history); a larger "config" is some artifact's payload, not worth reading into memory per request.
 */
export const maxConfigBytes = 1024 * 1024;

/**
 * An image config as read for the UI: `parsed` with its JSON object; `skipped` when it is not an
 * image config, is larger than maxConfigBytes, nests deeper than maxJsonDepth or is not a JSON
 * object (nothing more will come of reading it again); `missing` when its content is not in
 * storage (it may be pushed later).
 */
export type ConfigRead =
  | { readonly state: 'parsed'; readonly content: Record<string, unknown> }
  | { readonly state: 'skipped' }
  | { readonly state: 'missing' };

/** Reads the config a manifest names, within maxConfigBytes (see ConfigRead). */
export async function readImageConfig(registry: Registry, config: DescriptorView): Promise<ConfigRead> {
  const digest = parseDigest(config.digest);
  if (!digest || !imageConfigMediaTypes.has(config.mediaType) || config.size > maxConfigBytes) return { state: 'skipped' };
  let bytes: Buffer;
  try {
    bytes = await registry.blobs.getBytes(digest);
  } catch (error) {
    if (error instanceof RegistryError && error.code === 'BLOB_UNKNOWN') return { state: 'missing' };
    throw error;
  }
  // Deep nesting parses, but would overflow the stack when the answer is serialized (a 500).
  if (bytes.length > maxConfigBytes || exceedsJsonDepth(bytes, maxJsonDepth)) return { state: 'skipped' };
  try {
    const content: unknown = JSON.parse(bytes.toString('utf8'));
    if (typeof content === 'object' && content !== null && !Array.isArray(content)) {
      return { state: 'parsed', content: content as Record<string, unknown> };
    }
  } catch {
    // not JSON: shown as a plain blob
  }
  return { state: 'skipped' };
}

/** The config's `created` time as an ISO string, or null when absent or not a time. */
export function configCreated(content: Record<string, unknown>): string | null {
  return isoTime(content.created);
}

/** A time written in a manifest or config (RFC 3339), as an ISO string; null for anything else. */
export function isoTime(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return null;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? null : time.toISOString();
}
