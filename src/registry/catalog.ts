import { byCodePoint, type StorageDriver } from '../storage/driver.js';
import { paths } from '../storage/paths.js';
import { listOrEmpty } from './links.js';
import { mapLimit } from './map-limit.js';
import { isRepositoryListing } from './repository.js';

/**
 * The list of repositories: every directory under `repositories/` that holds `_manifests` or
 * `_layers` (a repository with only an upload in progress has no content yet), named by its
 * path. Names nest (`a` and `a/b` can both be repositories), so the walk goes on below a
 * repository too.
 */
export class Catalog {
  /** list: how a directory is read (the catalog index passes one that reuses unchanged listings). */
  constructor(
    driver: StorageDriver,
    private readonly list: (directory: string) => Promise<readonly string[]> = (directory) => listOrEmpty(driver, directory),
  ) {}

  /**
   * Every repository name, in code-point order. The walk goes one level at a time with a bounded
   * number of directories read at once: a recursive walk that started every read at once held
   * all 100,000 pending reads of a large store in memory (about 800 MiB more at start-up).
   */
  async all(): Promise<string[]> {
    const found: string[] = [];
    let level = [''];
    while (level.length > 0) {
      const listings = await mapLimit(level, walkConcurrency, (prefix) => this.list(directoryOf(prefix)));
      const next: string[] = [];
      level.forEach((prefix, i) => {
        const children = listings[i]!;
        if (isRepositoryListing(children)) found.push(prefix);
        // Name components never start with `_`, so `_layers`, `_manifests` and `_uploads` are skipped.
        for (const child of children) if (!child.startsWith('_')) next.push(prefix ? `${prefix}/${child}` : child);
      });
      level = next;
    }
    return found.sort(byCodePoint);
  }
}

/** Directories read at once during a walk: enough to keep the thread pool (or an object store) busy, no more. */
const walkConcurrency = 32;

function directoryOf(prefix: string): string {
  return prefix ? `${paths.repositoriesRoot}/${prefix}` : paths.repositoriesRoot;
}
