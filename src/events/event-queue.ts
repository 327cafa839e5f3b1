import type { RegistryEvent } from './event.js';
import type { EventSink } from './event-sink.js';

/** A counter or gauge with an `endpoint` label (prom-client's fit; anything else with the same shape does too). */
interface Labelled {
  inc(labels: { endpoint: string }, value?: number): void;
}

/** The delivery metrics a queue moves (see ops/metrics.ts); every member optional, as metrics may be off. */
export interface DeliveryMetrics {
  /** Events the sink accepted. */
  readonly delivered?: Labelled;
  /** Failed delivery attempts (each retry counts). */
  readonly failures?: Labelled;
  /** Events dropped because the queue was full. */
  readonly dropped?: Labelled;
  /** Events waiting or being sent. */
  readonly queueLength?: { set(labels: { endpoint: string }, value: number): void };
}

/** Where a queue reports trouble (a pino logger fits). */
export interface DeliveryLog {
  /** Failures (once when they start, then once per backoff round) and drops. */
  warn(fields: Record<string, unknown>, message: string): void;
  /** An endpoint delivering again after failures. */
  info(fields: Record<string, unknown>, message: string): void;
}

export interface EventQueueOptions {
  /** Events held at most (waiting plus in flight); beyond it the oldest waiting one is dropped. */
  readonly maxLength: number;
  /** Consecutive failures after which the queue waits `backoffMs` between attempts. */
  readonly threshold: number;
  /** The wait between attempts once `threshold` is reached. */
  readonly backoffMs: number;
  /** Accepts the events this endpoint wants (its ignore rules); absent: all. */
  readonly accepts?: (event: RegistryEvent) => boolean;
  /** Moved as events are delivered, fail or are dropped; absent when metrics are off. */
  readonly metrics?: DeliveryMetrics;
  /** Absent: nothing is logged. */
  readonly log?: DeliveryLog;
}

/**
 * One endpoint's events, delivered in order by a single loop, retried until the sink accepts
 * them. `push` never waits: a dead endpoint fills the queue to `maxLength`, and from then on
 * the oldest waiting event is dropped for each new one. Oldest rather than newest because a
 * receiver that comes back cares most about the current state of the registry (the latest
 * pushes); the gap is counted (`dropped`) and logged.
 *
 * Retry as Distribution's endpoints do: after a failure the same batch is tried again at once,
 * and once `threshold` attempts in a row have failed, only every `backoffMs`.
 */
export class EventQueue {
  /** Waiting events are `waiting[head..]`; the consumed prefix is cut off now and then. */
  private waiting: RegistryEvent[] = [];
  private head = 0;
  private inFlight = 0;
  private failures = 0;
  private droppedSinceLog = 0;
  private wake: (() => void) | undefined;
  private closing = false;
  private readonly stopped = new AbortController();
  private readonly loop: Promise<void>;
  private readonly label: { endpoint: string };

  constructor(
    private readonly sink: EventSink,
    private readonly options: EventQueueOptions,
  ) {
    this.label = { endpoint: sink.name };
    this.loop = this.run();
  }

  /** The sink's name. */
  get name(): string {
    return this.sink.name;
  }

  /** Events held: waiting plus being sent. */
  get length(): number {
    return this.waiting.length - this.head + this.inFlight;
  }

  /** Queues the event if the endpoint wants it; ignored after close(). Never throws, never waits. */
  push(event: RegistryEvent): void {
    if (this.closing || (this.options.accepts && !this.options.accepts(event))) return;
    if (this.length >= this.options.maxLength) {
      if (this.waiting.length > this.head) this.head++;
      else return this.noteDropped(); // everything held is in flight: the new one goes
      this.noteDropped();
    }
    this.waiting.push(event);
    this.reportLength();
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /**
   * Stops taking events and tries to deliver the held ones until `deadlineMs` has passed; then
   * gives up on the rest. Resolves with the number of events not delivered.
   */
  async close(deadlineMs: number): Promise<number> {
    this.closing = true;
    this.wake?.();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
    });
    await Promise.race([this.loop, deadline]);
    clearTimeout(timer);
    const left = this.length;
    this.stopped.abort();
    await this.loop;
    await this.sink.close().catch(() => undefined);
    if (this.droppedSinceLog > 0) this.logDropped();
    return left;
  }

  private async run(): Promise<void> {
    const signal = this.stopped.signal;
    while (!signal.aborted) {
      if (this.waiting.length === this.head) {
        if (this.closing) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      const end = Math.min(this.waiting.length, this.head + this.sink.maxBatch);
      const batch = this.waiting.slice(this.head, end);
      this.head = end;
      this.compact();
      this.inFlight = batch.length;
      await this.deliver(batch, signal);
      this.inFlight = 0;
      this.reportLength();
    }
  }

  /** Writes the batch until it is accepted or the queue is stopped. */
  private async deliver(batch: readonly RegistryEvent[], signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (this.failures >= this.options.threshold) await sleep(this.options.backoffMs, signal);
      if (signal.aborted) return;
      try {
        await this.sink.write(batch, signal);
        if (this.failures > 0) this.options.log?.info({ endpoint: this.sink.name, failures: this.failures }, 'event endpoint recovered');
        this.failures = 0;
        this.options.metrics?.delivered?.inc(this.label, batch.length);
        if (this.droppedSinceLog > 0) this.logDropped();
        return;
      } catch (error) {
        if (signal.aborted) return;
        this.failures++;
        this.options.metrics?.failures?.inc(this.label);
        // One line when the endpoint starts failing and one per backoff round after, not one per attempt.
        if (this.failures === 1 || this.failures % Math.max(this.options.threshold, 1) === 0) {
          this.options.log?.warn(
            { endpoint: this.sink.name, failures: this.failures, queued: this.length, err: describe(error) },
            'event delivery failed; retrying',
          );
        }
      }
    }
  }

  /**
   * Counts a dropped event. The first drop of a run is logged at once; the run's total is logged
   * when a delivery next succeeds (or at close), so a dead endpoint does not flood the log.
   */
  private noteDropped(): void {
    this.options.metrics?.dropped?.inc(this.label);
    if (this.droppedSinceLog++ === 0) {
      this.options.log?.warn({ endpoint: this.sink.name, max: this.options.maxLength }, 'event queue is full; dropping the oldest events');
    }
  }

  private logDropped(): void {
    this.options.log?.warn({ endpoint: this.sink.name, dropped: this.droppedSinceLog }, 'events were dropped while the queue was full');
    this.droppedSinceLog = 0;
  }

  /** Cuts the consumed prefix once it is large, so a long-lived queue does not keep old events alive. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    } else if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    }
  }

  private reportLength(): void {
    this.options.metrics?.queueLength?.set(this.label, this.length);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;
  return String(error);
}
