import type { Digest } from '../protocol/digest.js';
import { BoundedCache } from './bounded-cache.js';

/**
 * `storage.cache.blobdescriptor`: remembers the size of stored blob content by digest, so a
 * HEAD or GET of a blob costs no stat of the content. Only this global, content-addressed fact
 * is kept: whether a repository links the blob is always read from storage, so a link deleted
 * on another replica is seen at once. The cache is an optimisation: an implementation that
 * cannot reach its store answers "unknown" and lets the caller go to storage, never throws.
 */
export interface BlobDescriptorCache {
  /** A short name for logs (`inmemory`, `redis`). */
  readonly name: string;
  /** The size of the blob's content, or undefined when not known (or the cache is unreachable). */
  get(digest: Digest): Promise<number | undefined>;
  /** Records the size of content that is in storage now. */
  set(digest: Digest, size: number): Promise<void>;
  /**
   * Forgets the digest. Must be called after the content is deleted from storage (garbage
   * collection); with a shared cache (redis) every replica then goes back to storage.
   */
  delete(digest: Digest): Promise<void>;
  /** Releases connections; the cache answers "unknown" afterwards. */
  close(): Promise<void>;
}

/**
 * A per-process cache: fine for one process. With several processes (workers, replicas) a
 * content delete in one cannot reach the others, which is why several replicas want `redis`.
 */
export class MemoryDescriptorCache implements BlobDescriptorCache {
  readonly name = 'inmemory';
  private readonly sizes: BoundedCache<number>;

  /** `entries`: `storage.cache.blobdescriptorsize` (Distribution's default is 10000). */
  constructor(entries = 10_000) {
    this.sizes = new BoundedCache<number>(entries, undefined, 'blob_descriptors');
  }

  get(digest: Digest): Promise<number | undefined> {
    return Promise.resolve(this.sizes.get(digest.text));
  }

  set(digest: Digest, size: number): Promise<void> {
    this.sizes.set(digest.text, size);
    return Promise.resolve();
  }

  delete(digest: Digest): Promise<void> {
    this.sizes.delete(digest.text);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
