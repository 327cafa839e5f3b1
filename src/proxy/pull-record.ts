import { randomUUID } from 'node:crypto';
import { deleteIfPresent, listOrEmpty } from '../registry/links.js';
import { isNotFound, type StorageDriver } from '../storage/driver.js';
import { paths } from '../storage/paths.js';

/**
 * Told of every successful pull of cached content through a proxied repository (the
 * pull-through cache calls it for manifests and blobs alike). Cache eviction (`proxy.ttl`,
 * `proxy.maxsize`) goes by the last pull, so this is on the pull path: it must not wait for
 * storage, and it never throws.
 */
export interface PullRecord {
  record(repository: string, digest: string, size: number): void;
}

/** For a cache without expiry or size limit: nothing reads the pull times, so none are kept. */
export const ignorePulls: PullRecord = { record: () => undefined };

/**
 * Berth only (Distribution never lists it): where last-pull times live in storage, beside the
 * garbage collection lease. `pulls.json` is the merged table, written only by the evictor;
 * `segments/` holds what each serving process has recorded since, one write-once file per flush.
 */
const pullsRoot = `${paths.root}/_berth/proxy-pulls`;
export const pullPaths = {
  merged: `${pullsRoot}/pulls.json`,
  segments: `${pullsRoot}/segments`,
  segment: (name: string) => `${pullsRoot}/segments/${name}`,
} as const;

/** The key of one cached item in a pull table: `<repository>@<digest>` (`@` is in neither grammar). */
export function pullKey(repository: string, digest: string): string {
  return `${repository}@${digest}`;
}

/** Last pull of each cached item, in milliseconds since the epoch, by pullKey. */
export type PullTimes = Map<string, number>;

export interface PullLogOptions {
  /** How often recorded pulls are written to storage (default a minute). */
  flushIntervalMs?: number;
  /** The clock; tests move it. */
  now?: () => number;
  /** Told when a flush fails (the pulls stay in memory for the next one). */
  onFlushError?: (error: unknown) => void;
}

const defaultFlushIntervalMs = 60_000;

/**
 * The PullRecord of a serving process: pulls are noted in memory and written every
 * `flushIntervalMs` as a new segment file, which no other process writes, so workers and
 * replicas sharing the storage never overwrite each other's records. The evictor reads the
 * segments, merges them into `pulls.json` and deletes them (see readPullTimes/savePullTimes).
 * Memory holds only what was pulled since the last flush.
 */
export class PullLog implements PullRecord {
  private pending: PullTimes = new Map();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly driver: StorageDriver,
    private readonly options: PullLogOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Sizes are not kept: eviction sizes content from the manifests and storage. */
  record(repository: string, digest: string, _size?: number): void {
    this.pending.set(pullKey(repository, digest), this.now());
  }

  /** Flushes on a timer until stop(). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      void this.flush().catch((error: unknown) => this.options.onFlushError?.(error));
    }, this.options.flushIntervalMs ?? defaultFlushIntervalMs);
    this.timer.unref();
  }

  /**
   * Writes the pulls recorded since the last flush as one segment; nothing when there are none.
   * On failure they are put back (a later pull of the same item keeps its newer time).
   */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing.catch(() => undefined);
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = (async () => {
      try {
        const name = `${this.now()}-${randomUUID()}.json`;
        await this.driver.putContent(pullPaths.segment(name), encode(batch));
      } catch (error) {
        for (const [key, time] of batch) if (!this.pending.has(key)) this.pending.set(key, time);
        throw error;
      }
    })();
    try {
      await this.flushing;
    } finally {
      this.flushing = undefined;
    }
  }

  /** Stops the timer and writes what is left. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}

/** The merged table and every segment, merged (the latest time wins); `segments` names what was read. */
export async function readPullTimes(driver: StorageDriver): Promise<{ times: PullTimes; segments: string[] }> {
  const times: PullTimes = new Map();
  mergeInto(times, await readTable(driver, pullPaths.merged));
  const segments = (await listOrEmpty(driver, pullPaths.segments)).filter((name) => name.endsWith('.json'));
  for (const name of segments) mergeInto(times, await readTable(driver, pullPaths.segment(name)));
  return { times, segments };
}

/**
 * Writes `times` as the merged table, then deletes the segments it includes. Segments written
 * meanwhile stay for the next round. Only one process should do this at a time (the evictor):
 * two at once may drop each other's latest segments, which only makes content look older.
 */
export async function savePullTimes(driver: StorageDriver, times: PullTimes, segmentsRead: readonly string[]): Promise<void> {
  await driver.putContent(pullPaths.merged, encode(times));
  for (const name of segmentsRead) await deleteIfPresent(driver, pullPaths.segment(name));
}

function mergeInto(into: PullTimes, from: PullTimes): void {
  for (const [key, time] of from) if ((into.get(key) ?? -Infinity) < time) into.set(key, time);
}

/** On storage: `{"pulls":{"<repository>@<digest>": <ms since epoch>, ...}}`. */
function encode(times: PullTimes): Buffer {
  return Buffer.from(JSON.stringify({ pulls: Object.fromEntries(times) }));
}

/** A table from storage; missing or unreadable (a foreign or damaged file) reads as empty. */
async function readTable(driver: StorageDriver, path: string): Promise<PullTimes> {
  let body: unknown;
  try {
    body = JSON.parse((await driver.getContent(path)).toString('utf8'));
  } catch (error) {
    if (isNotFound(error) || error instanceof SyntaxError) return new Map();
    throw error;
  }
  const pulls = typeof body === 'object' && body !== null ? (body as { pulls?: unknown }).pulls : undefined;
  const times: PullTimes = new Map();
  if (typeof pulls !== 'object' || pulls === null) return times;
  for (const [key, time] of Object.entries(pulls)) if (typeof time === 'number' && Number.isFinite(time)) times.set(key, time);
  return times;
}
