import { isNotFound, type StorageDriver } from '../storage/driver.js';
import { paths } from '../storage/paths.js';

/** The registry's base path in storage (as Distribution lays it out). */

/** Storage answered but the registry's data, seen there before, is gone. */
export class StorageGoneError extends Error {
  constructor(readonly path: string) {
    super(`${path} was there and is missing: the storage is not the registry's any more`);
    this.name = 'StorageGoneError';
  }
}

/**
 * The cheap storage call behind `health.storagedriver` and `/readyz`: one `stat` of the registry's
 * base directory. A new registry has no base directory yet, so "not found" is fine until the
 * directory has been seen once; after that it means the storage was lost (a volume unmounted, the
 * root directory moved away) and counts as a failure, where Distribution, which stats `/`, would
 * still report healthy.
 */
export class StorageProbe {
  private seen = false;

  constructor(private readonly driver: StorageDriver) {}

  /** Resolves when storage answers as expected; rejects with the driver's error otherwise. */
  async check(): Promise<void> {
    try {
      await this.driver.stat(paths.root);
      this.seen = true;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      if (this.seen) throw new StorageGoneError(paths.root);
    }
  }
}
