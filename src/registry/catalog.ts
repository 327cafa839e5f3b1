import { byCodePoint, type StorageDriver } from '../storage/driver.js';
import { paths } from '../storage/paths.js';
import { listOrEmpty } from './links.js';
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

  /** Every repository name, in code-point order. */
  async all(): Promise<string[]> {
    const found: string[] = [];
    await this.walk('', found);
    return found.sort(byCodePoint);
  }

  private async walk(prefix: string, found: string[]): Promise<void> {
    const directory = prefix ? `${paths.repositoriesRoot}/${prefix}` : paths.repositoriesRoot;
    const children = await this.list(directory);
    if (isRepositoryListing(children)) found.push(prefix);
    // Name components never start with `_`, so `_layers`, `_manifests` and `_uploads` are skipped.
    const nested = children.filter((child) => !child.startsWith('_'));
    await Promise.all(nested.map((child) => this.walk(prefix ? `${prefix}/${child}` : child, found)));
  }
}
