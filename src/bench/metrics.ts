import { performance } from 'node:perf_hooks';
import { LatencyHistogram } from './latency-histogram.js';

/**
 * What a run measures: every request timed and counted by type, whole operations (an image
 * push or pull) timed by name, payload bytes, errors with the first few messages, and a
 * per-second time series. Memory is bounded whatever the duration: histograms are fixed size
 * and the series grows by one small entry per second.
 */

/** How many error messages are kept for the report; the count goes on. */
export const keptErrorMessages = 5;

/** One second of the run. */
export interface SecondSample {
  /** Requests completed in this second (answered or failed). */
  requests: number;
  errors: number;
  /** Payload bytes sent or received in this second. */
  bytes: number;
}

/** Counts and latencies of one request type or operation. */
export interface TypeStats {
  histogram: LatencyHistogram;
  errors: number;
}

export class BenchMetrics {
  private readonly started = performance.now();
  readonly requests = new Map<string, TypeStats>();
  readonly operations = new Map<string, TypeStats>();
  readonly series: SecondSample[] = [];
  readonly errorMessages: string[] = [];
  errors = 0;
  bytes = 0;

  /** Milliseconds since this object was made (the start of the clock). */
  elapsedMs(): number {
    return performance.now() - this.started;
  }

  /** A request of `type` answered as expected after `ms`, moving `bytes` of payload. */
  requestDone(type: string, ms: number, bytes = 0): void {
    stats(this.requests, type).histogram.record(ms);
    this.bytes += bytes;
    const second = this.second();
    second.requests++;
    second.bytes += bytes;
  }

  /**
   * A request of `type` failed (unexpected answer or none). Its latency is not recorded: a
   * refused connection would drag the percentiles of real answers down.
   */
  requestFailed(type: string, error: Error): void {
    stats(this.requests, type).errors++;
    const second = this.second();
    second.requests++;
    second.errors++;
    this.noteError(error);
  }

  /** An error outside any one request (a check across answers, e.g. a tag missing from a list). */
  noteError(error: Error): void {
    this.errors++;
    if (this.errorMessages.length < keptErrorMessages) this.errorMessages.push(error.message);
  }

  /** A whole operation (e.g. `image-push`: all its requests) finished after `ms`. */
  operationDone(name: string, ms: number): void {
    stats(this.operations, name).histogram.record(ms);
  }

  /** Number of successful operations of `name`. */
  operationCount(name: string): number {
    return this.operations.get(name)?.histogram.count ?? 0;
  }

  private second(): SecondSample {
    const index = Math.floor(this.elapsedMs() / 1000);
    while (this.series.length <= index) this.series.push({ requests: 0, errors: 0, bytes: 0 });
    return this.series[index]!;
  }
}

function stats(map: Map<string, TypeStats>, name: string): TypeStats {
  let entry = map.get(name);
  if (!entry) {
    entry = { histogram: new LatencyHistogram(), errors: 0 };
    map.set(name, entry);
  }
  return entry;
}
