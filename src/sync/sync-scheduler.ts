import type { Logger } from 'pino';
import type { SyncJobConfig } from '../config/sections/sync.js';
import { runSyncJob } from './sync-job.js';
import type { SyncReport } from './sync-report.js';
import { countSyncRun } from './sync-stats.js';

/** What the scheduler needs of a `sync` job: its name and, to run inside `serve`, how often. */
export interface ScheduledJob {
  readonly name: string;
  /** Milliseconds between the start of one run and the next; absent: the job only runs on demand. */
  readonly schedule?: number | undefined;
}

/** Runs one job once; stops early (rejecting, or resolving with `aborted`) when `signal` aborts. */
export type SyncRunner<J> = (job: J, options: { log: Logger; signal: AbortSignal }) => Promise<SyncReport>;

export interface SyncSchedulerOptions<J> {
  run: SyncRunner<J>;
  log: Logger;
  /**
   * Wait before a job's first run (or its schedule, when that is shorter). Not zero: the
   * destination may be this very registry, which should be listening first.
   */
  firstRunDelayMs?: number;
}

/** The default wait before the first run of each job. */
export const defaultFirstRunDelayMs = 5_000;

/** Node's timers cannot wait longer (a longer delay would fire at once). */
const maxTimerMs = 2 ** 31 - 1;

/**
 * Runs every `sync` job that has a `schedule` inside `berth serve`: a first run shortly after
 * start, then one every `schedule`. A job never overlaps itself: its next run is timed from the
 * start of the previous one but begins only after that one ended, so a run that takes longer
 * than the schedule is followed at once by the next (and a warning). Exactly one process of a
 * deployment should run it (with workers: the primary), as two would copy the same tags twice.
 */
export class SyncScheduler<J extends ScheduledJob> {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Map<J, Promise<void>>();
  /** Aborts the runs in progress at stop(): a long copy must not hold up shutdown. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly jobs: readonly J[],
    private readonly options: SyncSchedulerOptions<J>,
  ) {}

  /** The jobs that run on a schedule (the others run only from `berth sync`). */
  get scheduledJobs(): J[] {
    return this.jobs.filter((job) => job.schedule !== undefined && job.schedule > 0);
  }

  start(): void {
    const firstDelay = this.options.firstRunDelayMs ?? defaultFirstRunDelayMs;
    for (const job of this.scheduledJobs) {
      const firstIn = Math.min(firstDelay, job.schedule!);
      this.options.log.info({ job: job.name, schedule_ms: job.schedule, first_in_ms: firstIn }, 'sync job scheduled');
      this.schedule(job, firstIn);
    }
  }

  /**
   * Cancels the next runs, aborts the runs in progress and waits until they have ended, or for
   * `waitMs` at most: a run stops between tags, and the tag it is copying may be a big image.
   * Resolves true when no run was left going.
   */
  async stop(waitMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    this.stopping.abort();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const ended = Promise.all(this.running.values()).then(() => true);
    if (waitMs === Number.POSITIVE_INFINITY) return await ended;
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), waitMs)));
    const done = await Promise.race([ended, gaveUp]);
    clearTimeout(timer);
    if (!done) this.options.log.warn({ jobs: [...this.running.keys()].map((job) => job.name), wait_ms: waitMs }, 'sync runs still going at shutdown are cut');
    return done;
  }

  private schedule(job: J, delayMs: number): void {
    if (this.stopping.signal.aborted) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const started = Date.now();
      const run = this.runOnce(job).finally(() => {
        this.running.delete(job);
        const elapsed = Date.now() - started;
        if (elapsed > job.schedule! && !this.stopping.signal.aborted) {
          this.options.log.warn({ job: job.name, schedule_ms: job.schedule, duration_ms: elapsed }, 'sync run took longer than its schedule; the next one starts now');
        }
        this.schedule(job, Math.max(0, job.schedule! - elapsed));
      });
      this.running.set(job, run);
    }, Math.min(delayMs, maxTimerMs));
    timer.unref();
    this.timers.add(timer);
  }

  /** One run, logged and counted. Never rejects: a failed run is logged and the schedule goes on. */
  private async runOnce(job: J): Promise<void> {
    const { log } = this.options;
    const started = Date.now();
    try {
      // The engine names the job in its own lines.
      const report = await this.options.run(job, { log, signal: this.stopping.signal });
      if (report.aborted) {
        log.info({ job: job.name, copied: report.copied, duration_ms: Date.now() - started }, 'sync run stopped by shutdown');
        return;
      }
      const fields = {
        job: job.name,
        copied: report.copied,
        unchanged: report.unchanged,
        failed: report.failed,
        referrers_copied: report.referrersCopied,
        errors: report.errors.length,
        duration_ms: Date.now() - started,
      };
      if (report.ok) log.info(fields, 'sync run finished');
      // The report's own entries say which tags failed and why: `berth sync --job` shows them too.
      else log.warn({ ...fields, problems: problemsOf(report) }, 'sync run finished with failures');
      countSyncRun(job.name, { copied: report.copied, failed: !report.ok });
    } catch (error) {
      if (this.stopping.signal.aborted) {
        log.info({ job: job.name, duration_ms: Date.now() - started }, 'sync run stopped by shutdown');
        return;
      }
      log.error({ job: job.name, err: error, duration_ms: Date.now() - started }, 'sync run failed');
      countSyncRun(job.name, { copied: 0, failed: true });
    }
  }
}

/**
 * The scheduler of a config's `sync` jobs (`berth serve`), started; undefined when no job has a
 * `schedule`.
 */
export function startSyncSchedule(jobs: readonly SyncJobConfig[] | undefined, log: Logger): SyncScheduler<SyncJobConfig> | undefined {
  const scheduler = new SyncScheduler(jobs ?? [], { run: (job, options) => runSyncJob(job, options), log });
  if (scheduler.scheduledJobs.length === 0) return undefined;
  scheduler.start();
  return scheduler;
}

/** At most this many failures are named in a run's log line; the count says how many there were. */
const maxProblemsLogged = 5;

/** The first failures of a run, one short text each, for its log line. */
function problemsOf(report: SyncReport): string[] {
  const tags = report.tags.filter((tag) => tag.outcome === 'failed').map((tag) => `${tag.sourceRepository}:${tag.tag}: ${tag.error ?? 'failed'}`);
  const others = report.errors.map((problem) => (problem.repository === undefined ? problem.message : `${problem.repository}: ${problem.message}`));
  return [...tags, ...others].slice(0, maxProblemsLogged);
}
