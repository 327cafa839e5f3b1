import { byCodePoint, type StorageDriver } from '../storage/driver.js';
import { Catalog } from './catalog.js';
import { changeTokenOf, listOrEmpty } from './links.js';
import { firstAfter } from './sorted-names.js';

/** What one directory under `repositories/` held when last read, and its change token then. */
interface KeptListing {
  readonly token: string;
  readonly children: readonly string[];
}

export interface CatalogIndexOptions {
  /** The shortest time between two checks of the whole tree for changes made by others. */
  refreshMs?: number;
  /** Called with what went wrong when a background refresh fails (the old list is kept). */
  onRefreshError?: (error: unknown) => void;
}

/**
 * The sorted list of repositories that `_catalog` pages are cut from, so that a page costs a
 * binary search instead of a walk of the whole tree (Distribution walks from the start for
 * every page, which makes a full listing quadratic). Derived from the storage layout only:
 * nothing is stored, so data written by any registry is listed.
 *
 * It stays current in three ways:
 * - repositories this process writes to or deletes are added or removed at once;
 * - changes by anything else (other workers, replicas, registries or offline tools sharing
 *   the storage) are found by a walk in the background when a page is asked for and the list
 *   is older than `refreshMs` (or ten times the last walk, on a large tree). The page is
 *   answered from the list in hand meanwhile, so they show up within about that time;
 * - the walk reads again only the directories whose change token moved, so a walk of an
 *   unchanged tree costs one stat per directory.
 *
 * Only for drivers with change tokens (the file system): on object stores a walk lists every
 * prefix, and replicas are the normal case there, so their catalog is walked per request.
 */
export class CatalogIndex {
  private names: string[] = [];
  private known = new Set<string>();
  private walkedAt = Number.NEGATIVE_INFINITY;
  private lastWalkMs = 0;
  private walking: Promise<void> | undefined;
  private directories = new Map<string, KeptListing>();
  /** Notes taken while a walk runs, applied over its result (it may have read too early). */
  private notesDuringWalk = new Map<string, boolean>();
  private readonly refreshMs: number;

  constructor(
    private readonly driver: StorageDriver,
    private readonly options: CatalogIndexOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? 2000;
  }

  /** Every repository name in code-point order; the first call waits for the first walk. */
  async current(): Promise<readonly string[]> {
    if (this.walkedAt === Number.NEGATIVE_INFINITY) {
      await this.refresh();
    } else if (Date.now() - this.walkedAt > Math.max(this.refreshMs, 10 * this.lastWalkMs)) {
      this.refresh().catch((error: unknown) => this.options.onRefreshError?.(error));
    }
    return this.names;
  }

  /** Starts the first walk now, in the background (at start-up), so the first page need not wait. */
  warmUp(): void {
    this.refresh().catch((error: unknown) => this.options.onRefreshError?.(error));
  }

  /** This process stored content in the repository: it is listed from now on. */
  noteRepository(name: string): void {
    if (this.walking) this.notesDuringWalk.set(name, true);
    if (this.known.has(name)) return;
    this.known.add(name);
    this.names.splice(firstAfter(this.names, name), 0, name);
  }

  /** This process deleted the repository. */
  forgetRepository(name: string): void {
    if (this.walking) this.notesDuringWalk.set(name, false);
    if (!this.known.delete(name)) return;
    this.names.splice(firstAfter(this.names, name) - 1, 1);
  }

  private refresh(): Promise<void> {
    this.walking ??= this.walk().finally(() => {
      this.walking = undefined;
    });
    return this.walking;
  }

  /** The same walk as the exact catalog, over listings kept while their change token holds. */
  private async walk(): Promise<void> {
    const started = Date.now();
    this.notesDuringWalk = new Map();
    const seen = new Map<string, KeptListing>();
    const found = await new Catalog(this.driver, (directory) => this.read(directory, seen)).all();
    for (const [name, present] of this.notesDuringWalk) {
      if (present) found.push(name);
    }
    const removed = new Set([...this.notesDuringWalk].filter(([, present]) => !present).map(([name]) => name));
    const known = new Set(found.filter((name) => !removed.has(name)));
    this.names = [...known].sort(byCodePoint);
    this.known = known;
    this.directories = seen;
    this.walkedAt = Date.now();
    this.lastWalkMs = this.walkedAt - started;
  }

  /** One directory's entries: the last walk's when its change token is the same. */
  private async read(directory: string, seen: Map<string, KeptListing>): Promise<readonly string[]> {
    const token = await changeTokenOf(this.driver, directory);
    const previous = this.directories.get(directory);
    if (token !== undefined && previous?.token === token) {
      seen.set(directory, previous);
      return previous.children;
    }
    const children = await listOrEmpty(this.driver, directory);
    // A directory too freshly changed to have a token is read again next time.
    if (token !== undefined) seen.set(directory, { token, children });
    return children;
  }
}
