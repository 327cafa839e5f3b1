/**
 * Scheduled `sync` runs of this process, kept as plain numbers per job so that sync/ does not
 * depend on a metrics library; src/ops reads them when metrics are scraped.
 */
export interface SyncJobTotals {
  /** Runs in which every tag was copied or found unchanged. */
  ok: number;
  /** Runs that threw, or in which at least one tag failed. */
  failed: number;
  /** Tags copied (new or changed at the source). */
  copied: number;
}

const totals = new Map<string, SyncJobTotals>();

/** One finished run of a job: `copied` tags, `failed` when the run threw or a tag failed. */
export function countSyncRun(job: string, result: { copied: number; failed: boolean }): void {
  let entry = totals.get(job);
  if (!entry) totals.set(job, (entry = { ok: 0, failed: 0, copied: 0 }));
  if (result.failed) entry.failed++;
  else entry.ok++;
  entry.copied += result.copied;
}

/** Every job that has run in this process, by name. */
export function syncTotals(): ReadonlyMap<string, Readonly<SyncJobTotals>> {
  return totals;
}
