import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Path (relative, `/`-separated; directories end in `/`) → content hash (files) or '' (directories). */
export type TreeSnapshot = ReadonlyMap<string, string>;

export interface SnapshotOptions {
  /** Entries skipped with everything below them. */
  skip?: (name: string, relativePath: string) => boolean;
  /**
   * Directories that count even when empty. Any other directory counts only when something
   * kept is below it: an empty directory left behind is invisible to clients.
   */
  keepEmpty?: (name: string) => boolean;
}

/**
 * Takes snapshots of a directory tree: every file with a hash of its content. Files are hashed
 * again only when their inode, size or change time moved since the last snapshot, so that a
 * snapshot after every fuzzed request stays cheap. Synchronous on purpose: the registry under
 * test runs in this process and must not change the tree while it is walked.
 */
export class TreeSnapshotter {
  private readonly hashes = new Map<string, { key: string; hash: string }>();

  constructor(
    private readonly root: string,
    private readonly options: SnapshotOptions = {},
  ) {}

  take(): TreeSnapshot {
    const found = new Map<string, string>();
    this.walk('', found);
    return found;
  }

  /** Returns true when something was kept below `relative`. */
  private walk(relative: string, found: Map<string, string>): boolean {
    let entries;
    try {
      entries = readdirSync(join(this.root, relative), { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    let kept = false;
    for (const entry of entries) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (this.options.skip?.(entry.name, path)) continue;
      if (entry.isDirectory()) {
        if (this.walk(path, found) || this.options.keepEmpty?.(entry.name)) {
          found.set(`${path}/`, '');
          kept = true;
        }
      } else {
        const hash = this.hashOf(path);
        if (hash === undefined) continue; // removed while walking
        found.set(path, hash);
        kept = true;
      }
    }
    return kept;
  }

  private hashOf(path: string): string | undefined {
    const full = join(this.root, path);
    let key: string;
    try {
      const stat = statSync(full, { bigint: true });
      key = `${stat.ino}:${stat.size}:${stat.ctimeNs}:${stat.mtimeNs}:${stat.mode}`;
    } catch {
      return undefined;
    }
    const known = this.hashes.get(path);
    if (known?.key === key) return known.hash;
    let hash: string;
    try {
      hash = createHash('sha256').update(readFileSync(full)).digest('hex');
    } catch {
      return undefined;
    }
    this.hashes.set(path, { key, hash });
    return hash;
  }
}

/** What differs between two snapshots, one line per path (empty when they are equal). */
export function snapshotDifferences(before: TreeSnapshot, after: TreeSnapshot): string[] {
  const differences: string[] = [];
  for (const [path, hash] of before) {
    if (!after.has(path)) differences.push(`removed ${path}`);
    else if (after.get(path) !== hash) differences.push(`changed ${path}`);
  }
  for (const path of after.keys()) if (!before.has(path)) differences.push(`added ${path}`);
  return differences.sort();
}
