import { performance } from 'node:perf_hooks';
import { BenchRequestError, BenchSetupError } from './bench-error.js';
import type { BenchOptions } from './bench-options.js';
import { ContentPool } from './content.js';
import { BenchMetrics } from './metrics.js';
import { RegistryCalls } from './registry-calls.js';
import type { BenchTransport } from './transport.js';

/**
 * The state one scenario runs with: its options, the content pool, and the registry calls,
 * which record into throw-away metrics during setup phases and into the run's metrics once the
 * clock has started.
 */
export class BenchRun {
  readonly pool = new ContentPool();
  /** Counters a scenario reports (images, blobs uploaded and skipped, entries listed...). */
  readonly counts: Record<string, number> = {};
  /** Remarks for the reader (a registry ignoring `n`, a count reached before the duration...). */
  readonly notes: string[] = [];
  private timed: BenchMetrics | undefined;
  private readonly created = performance.now();
  private setupMs = 0;

  constructor(
    readonly options: BenchOptions,
    private readonly transport: BenchTransport,
    /** Progress lines (setup phases, the start of the clock); stderr in the CLI. */
    readonly log: (line: string) => void = () => {},
  ) {}

  /** The repository `name` of this run, under the prefix. */
  repo(name: string): string {
    return `${this.options.prefix}/${name}`;
  }

  /**
   * Runs an untimed preparation. Any error in it stops the scenario: BenchSetupError with the
   * first error as cause (a timed phase over a half-prepared registry would measure nonsense).
   */
  async setup<T>(what: string, work: (calls: RegistryCalls) => Promise<T>): Promise<T> {
    this.log(`setup: ${what}`);
    const metrics = new BenchMetrics();
    let result: T;
    try {
      result = await work(new RegistryCalls(this.transport, metrics));
    } catch (error) {
      throw new BenchSetupError(`setup (${what}) failed: ${(error as Error).message}`, { cause: error });
    }
    if (metrics.errors > 0) throw new BenchSetupError(`setup (${what}) failed: ${metrics.errorMessages[0]}`);
    return result;
  }

  /**
   * Starts the clock: calls made through the result are the measured ones. Counters start over
   * (what setup counted is not part of the figures).
   */
  startClock(): RegistryCalls {
    for (const name of Object.keys(this.counts)) delete this.counts[name];
    this.log(`timing ${this.options.concurrency} worker(s)`);
    this.setupMs = performance.now() - this.created;
    this.timed = new BenchMetrics();
    return new RegistryCalls(this.transport, this.timed);
  }

  /** The measured metrics (undefined before startClock). */
  get metrics(): BenchMetrics | undefined {
    return this.timed;
  }

  /** Milliseconds from the start of the run to the clock: setup phases and making the content. */
  get setupTimeMs(): number {
    return this.setupMs;
  }

  /** Adds `n` to counter `name`. */
  count(name: string, n = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + n;
  }
}

/**
 * Runs one operation of a timed phase: a BenchRequestError is already counted where it happened,
 * anything else is counted here; either way the worker goes on with its next operation.
 */
export async function attempt(calls: RegistryCalls, operation: () => Promise<void>): Promise<boolean> {
  try {
    await operation();
    return true;
  } catch (error) {
    if (!(error instanceof BenchRequestError)) calls.metrics.noteError(error instanceof Error ? error : new Error(String(error)));
    return false;
  }
}
