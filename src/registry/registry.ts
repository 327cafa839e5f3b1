import type { EventPublisher } from '../events/event.js';
import type { StorageDriver } from '../storage/driver.js';
import type { BlobDescriptorCache } from './blob-descriptor-cache.js';
import { BlobStore } from './blob-store.js';
import { Catalog } from './catalog.js';
import { CatalogIndex } from './catalog-index.js';
import { resolveLimits, type RegistryLimits } from './limits.js';
import { ManifestStore } from './manifest-store.js';
import { Referrers } from './referrers.js';
import { requireRepository } from './repository.js';
import { deleteRepository, type RepositoryDeleteResult } from './repository-delete.js';
import { TagStore } from './tag-store.js';
import { UploadSessions } from './uploads.js';

export interface RegistryOptions {
  /** `storage.delete.enabled`: deletes of blobs, manifests and tags are refused unless true. */
  deleteEnabled: boolean;
  /**
   * `storage.redirect` (on unless `disable`): blob GETs are answered with a 307 to the store
   * when the driver can make a URL. HEAD and manifests are always served here.
   */
  redirect?: boolean;
  /** `storage.cache.blobdescriptor`: blob sizes by digest, to spare stats on HEAD and GET. */
  blobDescriptors?: BlobDescriptorCache;
  /**
   * `storage.maintenance.readonly.enabled`: the HTTP front refuses every write (see server.ts);
   * the registry objects themselves do not check it, so offline tools still work.
   */
  readOnly?: boolean;
  /** Told when a background refresh of the catalog index fails (the request that started it has its answer already). */
  onCatalogRefreshError?: (error: unknown) => void;
  /**
   * `notifications`: where the HTTP handlers report pushes, pulls, mounts and deletes. Absent
   * when no endpoint is configured; handlers then build no event at all.
   */
  events?: EventPublisher;
  /** `limits`, `catalog.maxentries`, `tags.maxtags`: what is not set takes its default (limits.ts). */
  limits?: Partial<RegistryLimits>;
}

/** What a registry is, independent of HTTP: one object per storage driver. */
export class Registry {
  readonly blobs: BlobStore;
  readonly uploads: UploadSessions;
  readonly tags: TagStore;
  readonly manifests: ManifestStore;
  readonly referrers: Referrers;
  /** The limits in effect (the HTTP handlers read the manifest size and page sizes here). */
  readonly limits: RegistryLimits;
  /** The exact walk of the storage tree (garbage collection, usage). */
  readonly catalog: Catalog;
  /** What `_catalog` pages come from, on drivers with change tokens (see catalog-index.ts). */
  private readonly catalogIndex: CatalogIndex | undefined;

  constructor(
    readonly driver: StorageDriver,
    readonly options: RegistryOptions,
  ) {
    this.catalogIndex = driver.changeToken
      ? new CatalogIndex(driver, { onRefreshError: options.onCatalogRefreshError })
      : undefined;
    const noteRepository = (name: string) => this.catalogIndex?.noteRepository(name);
    this.limits = resolveLimits(options.limits);
    this.blobs = new BlobStore(driver, options.blobDescriptors, noteRepository);
    this.uploads = new UploadSessions(driver, this.blobs, this.limits.uploadBytes);
    this.tags = new TagStore(driver, this.limits.tagsPerRepository);
    this.manifests = new ManifestStore(driver, this.blobs, this.tags, noteRepository, this.limits.manifestDepth);
    this.referrers = new Referrers(this.manifests);
    this.catalog = new Catalog(driver);
  }

  /** Every repository name in code-point order, for `_catalog`. */
  async repositories(): Promise<readonly string[]> {
    return this.catalogIndex ? await this.catalogIndex.current() : await this.catalog.all();
  }

  /** Builds the catalog index in the background (at start-up), so the first `_catalog` page need not wait for it. */
  warmUp(): void {
    this.catalogIndex?.warmUp();
  }

  /** Throws NAME_UNKNOWN (404) unless the repository holds content. */
  async requireRepository(name: string): Promise<void> {
    await requireRepository(this.driver, name);
  }

  /** Deletes a whole repository (see repository-delete.ts); blob content stays for garbage collection. */
  async deleteRepository(name: string): Promise<RepositoryDeleteResult> {
    const result = await deleteRepository(this.driver, name, { deleteEnabled: this.options.deleteEnabled });
    this.catalogIndex?.forgetRepository(name);
    return result;
  }
}
