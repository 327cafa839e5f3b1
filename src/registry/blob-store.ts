import type { Readable } from 'node:stream';
import type { Digest } from '../protocol/digest.js';
import { RegistryError } from '../protocol/errors.js';
import { isNotFound, type StorageDriver } from '../storage/driver.js';
import { paths } from '../storage/paths.js';
import type { BlobDescriptorCache } from './blob-descriptor-cache.js';
import { deleteIfPresent, exists, readLink, writeLink } from './links.js';

export interface BlobDescriptor {
  readonly digest: Digest;
  readonly size: number;
}

/**
 * How strictly `statInRepository` asks. Online garbage collection marks a blob
 * (`paths.blobDeletingMarker`) before it deletes it, and deletes it only if the marker is still
 * there: a marked blob may vanish at any moment, so nothing new may come to rely on it.
 */
export interface StatOptions {
  /** A blob marked for deletion counts as missing. */
  readonly unmarked?: boolean;
  /** The content's presence and size are asked of storage itself, never of the descriptor cache. */
  readonly uncached?: boolean;
}

/** For a new reference (a manifest push, a mount): unmarked, and the content really there. */
export const forNewReference: StatOptions = { unmarked: true, uncached: true };

/**
 * Content-addressed blobs, stored once for the whole registry, and the per-repository links
 * that say a repository may serve them. A blob is visible in a repository only through a
 * link, and a link is written only after the blob's content is in place and verified.
 *
 * With a descriptor cache, reads take the content's size from it instead of a stat; links are
 * never cached. Writes (ingest, putBytes) always ask storage itself whether content is there:
 * a stale cache entry there would drop an upload whose content is in fact gone.
 */
export class BlobStore {
  constructor(
    private readonly driver: StorageDriver,
    private readonly descriptors?: BlobDescriptorCache,
    /** Told after a link is written: the repository holds content (the catalog index lists it). */
    private readonly onRepositoryContent: (name: string) => void = () => {},
  ) {}

  /** The blob's size, or undefined when no content is stored for the digest (from the cache when it knows). */
  async stat(digest: Digest): Promise<BlobDescriptor | undefined> {
    const cached = await this.descriptors?.get(digest);
    if (cached !== undefined) return { digest, size: cached };
    const stored = await this.statStorage(digest);
    if (stored) await this.descriptors?.set(digest, stored.size);
    return stored;
  }

  /**
   * Forgets what the descriptor cache knows of the digest. Whatever deletes blob content from
   * storage (garbage collection) calls this afterwards, so that no replica sharing the cache
   * answers for content that is gone. Throws when a shared cache cannot be reached.
   */
  async forget(digest: Digest): Promise<void> {
    await this.descriptors?.delete(digest);
  }

  /**
   * The blob as the repository sees it. Manifests are blobs too, so a manifest revision of the
   * repository counts as a link (as in Distribution). BLOB_UNKNOWN when not linked or not stored,
   * and with `unmarked` also when garbage collection has marked it for deletion.
   */
  async statInRepository(name: string, digest: Digest, options: StatOptions = {}): Promise<BlobDescriptor> {
    const linked =
      (await this.linkMatches(paths.layerLink(name, digest), digest)) ||
      (await this.linkMatches(paths.revisionLink(name, digest), digest));
    let blob: BlobDescriptor | undefined;
    if (linked) {
      const [stored, marked] = await Promise.all([
        options.uncached ? this.statStorage(digest) : this.stat(digest),
        options.unmarked ? this.isMarkedForDeletion(digest) : false,
      ]);
      blob = marked ? undefined : stored;
    }
    if (!blob) throw new RegistryError('BLOB_UNKNOWN', { detail: { digest: digest.text } });
    return blob;
  }

  /** True while online garbage collection has marked the blob for deletion. */
  async isMarkedForDeletion(digest: Digest): Promise<boolean> {
    return await exists(this.driver, paths.blobDeletingMarker(digest));
  }

  /**
   * Removes garbage collection's marker, if any: the blob is wanted again, so the collector,
   * which deletes only a blob still marked, keeps it. Callers check the content afterwards,
   * since the collector may have deleted it before the marker went.
   */
  private async unmark(digest: Digest): Promise<void> {
    if (await this.isMarkedForDeletion(digest)) await deleteIfPresent(this.driver, paths.blobDeletingMarker(digest));
  }

  /** A stream of the blob's bytes `start`..`end` (inclusive). */
  async open(digest: Digest, range?: { start: number; end: number }): Promise<Readable> {
    try {
      return await this.driver.reader(paths.blobData(digest), range && { offset: range.start, end: range.end });
    } catch (error) {
      if (isNotFound(error)) {
        // The cache said the content was there (or nobody asked it): make sure it stops saying so.
        await this.descriptors?.delete(digest).catch(() => undefined);
        throw new RegistryError('BLOB_UNKNOWN', { detail: { digest: digest.text }, cause: error });
      }
      throw error;
    }
  }

  /** A URL of the store itself for the blob's content, when the driver can make one. */
  async redirectURL(digest: Digest): Promise<string | undefined> {
    return await this.driver.redirectURL?.(paths.blobData(digest));
  }

  async link(name: string, digest: Digest): Promise<void> {
    await writeLink(this.driver, paths.layerLink(name, digest), digest);
    this.onRepositoryContent(name);
  }

  /** Removes the repository's link (the content stays for other repositories until collected). */
  async unlink(name: string, digest: Digest): Promise<void> {
    const removed =
      (await this.linkMatches(paths.layerLink(name, digest), digest)) &&
      (await deleteIfPresent(this.driver, paths.layerLinkDirectory(name, digest)));
    if (!removed) throw new RegistryError('BLOB_UNKNOWN', { detail: { digest: digest.text } });
  }

  /**
   * Moves verified upload data into the content store. When the content is already stored
   * (another upload of the same bytes won), the upload data is simply dropped: the content is
   * the same by definition of the digest. Content marked for deletion is unmarked first and only
   * then looked for, so content the collector already deleted is replaced by the upload's.
   */
  async ingest(uploadDataPath: string, digest: Digest, size: number): Promise<void> {
    await this.unmark(digest);
    if (await this.statStorage(digest)) {
      await deleteIfPresent(this.driver, uploadDataPath);
    } else {
      await this.driver.move(uploadDataPath, paths.blobData(digest));
    }
    await this.descriptors?.set(digest, size);
  }

  /**
   * Stores small content held in memory (manifests) under its digest, unmarking it first as
   * `ingest` does. Safe to call again to make sure the content is still there.
   */
  async putBytes(digest: Digest, bytes: Uint8Array): Promise<void> {
    await this.unmark(digest);
    const existing = await this.statStorage(digest);
    if (existing?.size !== bytes.length) await this.driver.putContent(paths.blobData(digest), bytes);
    await this.descriptors?.set(digest, bytes.length);
  }

  async getBytes(digest: Digest): Promise<Buffer> {
    try {
      return await this.driver.getContent(paths.blobData(digest));
    } catch (error) {
      if (isNotFound(error)) throw new RegistryError('BLOB_UNKNOWN', { detail: { digest: digest.text }, cause: error });
      throw error;
    }
  }

  private async statStorage(digest: Digest): Promise<BlobDescriptor | undefined> {
    try {
      const info = await this.driver.stat(paths.blobData(digest));
      return { digest, size: info.size };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async linkMatches(path: string, digest: Digest): Promise<boolean> {
    return (await readLink(this.driver, path))?.text === digest.text;
  }
}
