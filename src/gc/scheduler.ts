import type { Logger } from 'pino';
import type { Digest } from '../protocol/digest.js';
import type { StorageDriver } from '../storage/driver.js';
import { collectGarbage } from './collector.js';
import { countGcFailure, countGcRun } from './gc-stats.js';
import { GcLease } from './lease.js';

export interface GcSchedule {
  /** Time between runs; the first run comes one interval after start. */
  intervalMs: number;
  graceMs: number;
  dryRun: boolean;
  deleteUntagged: boolean;
}

export interface GcScheduler {
  /** Stops the timer and waits for a run in progress to finish. */
  stop(): Promise<void>;
  /** One run now (what the timer does); false when another collector held the lease. */
  runOnce(): Promise<boolean>;
}

/**
 * One online collection now, if this process gets the lease (false when another collector
 * holds it): what the scheduler runs on its timer, and what proxy cache eviction runs after a
 * round that dropped content.
 */
export async function collectOnce(
  driver: StorageDriver,
  schedule: Omit<GcSchedule, 'intervalMs'>,
  log: Logger,
  forget: (digest: Digest) => Promise<void>,
): Promise<boolean> {
  const lease = await GcLease.acquire(driver, { ttlMs: Math.max(10 * 60_000, schedule.graceMs) });
  if (!lease) {
    log.debug('garbage collection skipped: another process holds the lease');
    return false;
  }
  try {
    const summary = await collectGarbage(driver, {
      online: { graceMs: schedule.graceMs },
      dryRun: schedule.dryRun,
      deleteUntagged: schedule.deleteUntagged,
      forget,
      lease,
    }).catch((error: unknown) => {
      // Counted here, where runs are counted, so the cache evictor's runs count their failures too.
      countGcFailure();
      throw error;
    });
    countGcRun(summary.dryRun ? 0 : summary.bytesFreed);
    log.info(
      {
        dryrun: summary.dryRun,
        marked: summary.markedBlobs,
        blobs_deleted: summary.deletedBlobs.length,
        manifests_deleted: summary.deletedManifests.length,
        blobs_kept: summary.keptBlobs.length,
        bytes_freed: summary.bytesFreed,
      },
      'garbage collection finished',
    );
  } finally {
    await lease.release();
  }
  return true;
}

/**
 * Online garbage collection on a timer (`storage.maintenance.gc`). Every process of `serve` (each
 * worker, each replica) may run a scheduler: only the one holding the lease in storage collects,
 * so nothing depends on which process this is.
 */
export function startGcScheduler(
  driver: StorageDriver,
  schedule: GcSchedule,
  log: Logger,
  forget: (digest: Digest) => Promise<void>,
): GcScheduler {
  let running: Promise<boolean> | undefined;
  const runOnce = () => collectOnce(driver, schedule, log, forget);
  const tick = () => {
    if (running) return;
    running = runOnce()
      .catch((error: unknown) => {
        log.error({ err: error }, 'garbage collection failed');
        return false;
      })
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, schedule.intervalMs);
  timer.unref();
  return {
    runOnce,
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
