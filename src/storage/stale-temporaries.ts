import { opendir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { temporaryPrefix } from './driver.js';

/** What one sweep of temporary files found. */
export interface TemporarySweep {
  /** Temporary files older than the cutoff: removed, or with `dryRun` only counted. */
  readonly stale: number;
  /** Temporary files younger than the cutoff, left alone: a write may still be using them. */
  readonly young: number;
  /** Directories read. */
  readonly directories: number;
}

export interface TemporarySweepOptions {
  /** Temporary files last modified before this instant are stale. */
  olderThan: Date;
  /** Count stale files, remove nothing. */
  dryRun?: boolean;
  /** Stops the walk between directories (the sweep resolves with what it did so far). */
  signal?: AbortSignal;
}

/**
 * Removes `.tmp-*` files older than `olderThan` anywhere below `root`. This walks the whole
 * tree, so it runs in the background (with the upload purge) or in `garbage-collect`, never
 * before a registry serves. A live write keeps its temporary for milliseconds, so a cutoff of
 * the upload purge age (a week by default) cannot take one from under a write; even then the
 * write would fail cleanly (its rename finds nothing), never leave a wrong file in place.
 * Entries that vanish during the walk (a rename, a delete) are skipped.
 */
export async function removeStaleTemporaries(root: string, options: TemporarySweepOptions): Promise<TemporarySweep> {
  const cutoff = options.olderThan.getTime();
  let stale = 0;
  let young = 0;
  let directories = 0;
  const pending = [root];
  while (pending.length > 0 && !options.signal?.aborted) {
    const directory = pending.pop()!;
    let entries;
    try {
      // opendir streams the entries: a blob shard directory can hold many thousands.
      entries = await opendir(directory, { bufferSize: 256 });
    } catch (error) {
      if (isGone(error)) continue;
      throw error;
    }
    directories++;
    for await (const entry of entries) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) {
        pending.push(path);
        continue;
      }
      if (!entry.name.startsWith(temporaryPrefix)) continue;
      try {
        if ((await stat(path)).mtimeMs >= cutoff) {
          young++;
          continue;
        }
        if (!options.dryRun) await unlink(path);
        stale++;
      } catch (error) {
        if (!isGone(error)) throw error;
      }
    }
  }
  return { stale, young, directories };
}

/** ENOENT and ENOTDIR: the entry went away (renamed into place, deleted) while we looked. */
function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
