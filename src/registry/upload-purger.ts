import type { Logger } from 'pino';
import { isNotFound, type StorageDriver } from '../storage/driver.js';
import { paths } from '../storage/paths.js';
import { deleteIfPresent, listOrEmpty } from './links.js';

/** `storage.maintenance.uploadpurging` (durations in milliseconds). */
export interface UploadPurgeOptions {
  /** Sessions started longer ago than this are stale. */
  age: number;
  /** Only log what would be removed. */
  dryRun: boolean;
  /** The current time; injected by tests. */
  now?: () => Date;
}

/** One stale session found by a purge. */
export interface StaleUpload {
  readonly repository: string;
  readonly id: string;
  readonly startedAt: Date;
  /** Where the start time came from: the `startedat` file, or the data file's modification time. */
  readonly source: 'startedat' | 'mtime';
}

export interface UploadPurgeResult {
  /** Stale sessions: removed, or with `dryRun` only reported. */
  readonly stale: readonly StaleUpload[];
  /** Sessions kept: younger than `age`, or without a start time that could be read. */
  readonly kept: number;
}

/**
 * RFC 3339 as Distribution and Berth write `startedat` (`2024-05-01T10:00:00Z`,
 * `2024-05-01T12:00:00.123456789+02:00`). Anything else is unreadable rather than guessed at by
 * Date.parse.
 */
const rfc3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** The instant a `startedat` file names, or undefined when it is not RFC 3339. */
export function parseStartedAt(text: string): Date | undefined {
  const match = rfc3339.exec(text.trim());
  if (!match) return undefined;
  // Date.parse keeps milliseconds only; Go writes up to nine fraction digits.
  const fraction = match[2] ? match[2].slice(0, 4) : '';
  const time = Date.parse(`${match[1]}${fraction}${match[3]!.toUpperCase()}`);
  return Number.isNaN(time) ? undefined : new Date(time);
}

/**
 * Removes upload sessions older than `age` from every repository, those of a name with only
 * uploads (not yet a repository) included. The start time is the session's `startedat` file;
 * when that is missing or unreadable (a write cut short, another registry's format) the data
 * file's modification time stands in, and without that file the session directory's. A session
 * completed or cancelled while the purge runs is simply gone already.
 */
export async function purgeStaleUploads(driver: StorageDriver, options: UploadPurgeOptions, log?: Logger): Promise<UploadPurgeResult> {
  const cutoff = (options.now?.() ?? new Date()).getTime() - options.age;
  const stale: StaleUpload[] = [];
  let kept = 0;
  for (const repository of await namesWithUploads(driver)) {
    for (const id of await listOrEmpty(driver, paths.uploads(repository))) {
      const started = await startTime(driver, repository, id);
      if (!started || started.startedAt.getTime() >= cutoff) {
        kept++;
        continue;
      }
      const upload = { repository, id, ...started };
      stale.push(upload);
      const fields = { repository, upload: id, startedat: started.startedAt.toISOString(), source: started.source };
      if (options.dryRun) {
        log?.info(fields, 'upload purge (dry run): would remove stale upload');
      } else {
        await deleteIfPresent(driver, paths.upload(repository, id));
        log?.info(fields, 'upload purge: removed stale upload');
      }
    }
  }
  return { stale, kept };
}

/** Every name under `repositories/` that has an `_uploads` directory, nested names included. */
async function namesWithUploads(driver: StorageDriver): Promise<string[]> {
  const found: string[] = [];
  const walk = async (prefix: string): Promise<void> => {
    const directory = prefix ? `${paths.repositoriesRoot}/${prefix}` : paths.repositoriesRoot;
    const children = await listOrEmpty(driver, directory);
    if (prefix && children.includes('_uploads')) found.push(prefix);
    for (const child of children) {
      // Name components never start with `_`: `_layers`, `_manifests` and `_uploads` are not names.
      if (!child.startsWith('_')) await walk(prefix ? `${prefix}/${child}` : child);
    }
  };
  await walk('');
  return found;
}

async function startTime(driver: StorageDriver, repository: string, id: string): Promise<Omit<StaleUpload, 'repository' | 'id'> | undefined> {
  try {
    const startedAt = parseStartedAt((await driver.getContent(paths.uploadStartedAt(repository, id))).toString('utf8'));
    if (startedAt) return { startedAt, source: 'startedat' };
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  // A process killed while creating the session can leave neither file (only a temporary, which
  // the sweep removes): the directory's own time then dates it, so it does not stay for ever.
  for (const path of [paths.uploadData(repository, id), paths.upload(repository, id)]) {
    try {
      return { startedAt: (await driver.stat(path)).modTime, source: 'mtime' };
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  return undefined;
}

/** Timers as the purger uses them; tests pass their own to run rounds without waiting. */
export interface PurgeTimers {
  setTimeout(run: () => void, ms: number): { unref?(): unknown };
  clearTimeout(timer: unknown): void;
}

/** Node's timers cannot wait longer (a longer delay would fire at once): a longer interval runs this often. */
const maxTimerMs = 2 ** 31 - 1;

/** The longest wait before the first purge (Distribution waits up to an hour, at random). */
const maxFirstDelayMs = 60_000;

/**
 * Runs purgeStaleUploads every `interval`, the first time after a random delay of up to a
 * minute (so registries started together do not all walk the storage at once). A round that
 * fails is logged and the schedule goes on. Exactly one process of a deployment on shared
 * storage should run it: `berth serve` runs it in the primary, not in each worker.
 */
export class UploadPurger {
  private timer: unknown;
  private stopped = false;
  private running: Promise<void> | undefined;
  /** Ends a sweep in progress at stop(): a walk of a large tree must not hold up shutdown. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly driver: StorageDriver,
    private readonly options: UploadPurgeOptions & { interval: number },
    private readonly log: Logger,
    private readonly timers: PurgeTimers = { setTimeout, clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout) },
  ) {}

  start(): void {
    const firstDelay = Math.floor(Math.random() * Math.min(maxFirstDelayMs, this.options.interval));
    this.log.info(
      { age_ms: this.options.age, interval_ms: this.options.interval, dryrun: this.options.dryRun, first_in_ms: firstDelay },
      'upload purging scheduled',
    );
    this.schedule(firstDelay);
  }

  /**
   * One purge now, then a sweep of the temporary files killed processes left (same age: a
   * write uses its temporary for far less); resolves when done. Failures are logged, not thrown.
   */
  async runOnce(): Promise<void> {
    try {
      const result = await purgeStaleUploads(this.driver, this.options, this.log);
      this.log.info({ stale: result.stale.length, kept: result.kept, dryrun: this.options.dryRun }, 'upload purge done');
    } catch (error) {
      this.log.error({ err: error }, 'upload purge failed');
    }
    if (!this.driver.sweepTemporaries) return;
    try {
      const olderThan = new Date((this.options.now?.() ?? new Date()).getTime() - this.options.age);
      const sweep = await this.driver.sweepTemporaries({ olderThan, dryRun: this.options.dryRun, signal: this.stopping.signal });
      this.log.info({ ...sweep, dryrun: this.options.dryRun }, 'stale temporary files swept');
    } catch (error) {
      this.log.error({ err: error }, 'sweep of stale temporary files failed');
    }
  }

  /** Cancels the next round and waits for a round in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    const timer = this.timers.setTimeout(() => {
      this.running = this.runOnce().then(() => {
        this.running = undefined;
        this.schedule(this.options.interval);
      });
    }, Math.min(delay, maxTimerMs));
    timer.unref?.();
    this.timer = timer;
  }
}
