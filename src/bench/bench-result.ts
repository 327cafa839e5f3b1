import type { BenchOptions } from './bench-options.js';
import type { BenchRun } from './bench-run.js';
import type { HistogramBin, LatencyHistogram } from './latency-histogram.js';
import type { BenchMetrics } from './metrics.js';

/**
 * The outcome of one run, as `--json` prints it and both reports read it. Field names are
 * stable: scripts compare runs with them. Latencies in milliseconds, sizes in bytes, rates per
 * second, MB = 10^6 bytes (as regbench reports).
 */
export interface BenchResult {
  scenario: string;
  registry: string;
  /** ISO time the timed phase started. */
  startedAt: string;
  /** The options of the run; `count` and `durationMs` are null when not a bound. */
  params: Omit<BenchOptions, 'registry' | 'count' | 'durationMs'> & { scenario: string; count: number | null; durationMs: number | null };
  /** Seconds of untimed setup, and of the timed phase. */
  setupSeconds: number;
  seconds: number;
  /** Payload bytes moved (sent and received) during the timed phase. */
  bytes: number;
  /** Scenario counters: images, blobs_uploaded, blobs_skipped, catalog_entries, ... */
  counts: Record<string, number>;
  rates: {
    /** Requests (answered or failed) per second. */
    requests_per_s: number;
    /** Operations per second: images pushed or pulled, listings, manifest fetches (requests when the scenario has no larger unit). */
    ops_per_s: number;
    /** Images pushed or pulled per second (0 when the scenario moves no images). */
    images_per_s: number;
    MB_per_s: number;
  };
  /** Per request type (`blob-put`, `manifest-get`, ...). */
  requests: Record<string, LatencyStats>;
  /** Per whole operation (`image-push`, `image-pull`, `catalog-walk`, ...). */
  operations: Record<string, LatencyStats>;
  /** One entry per second of the timed phase. */
  timeSeries: { second: number; requests: number; errors: number; bytes: number }[];
  /** Non-empty latency histogram bars per request type. */
  histograms: Record<string, HistogramBin[]>;
  notes: string[];
  errors: { count: number; first: string[] };
  /** False whenever any error happened. */
  valid: boolean;
}

export interface LatencyStats {
  /** Successful requests (their latencies make the percentiles). */
  count: number;
  errors: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** The result of a finished run (`metrics`: of the timed phase; missing when setup failed). */
export function benchResult(run: BenchRun, scenario: string, startedAt: Date, metrics: BenchMetrics | undefined, seconds: number): BenchResult {
  const { registry, prefix, concurrency, count, durationMs, ...rest } = run.options;
  const params = { scenario, prefix, concurrency, count: count ?? null, durationMs: durationMs ?? null, ...rest };
  const requests = table(metrics?.requests);
  const operations = table(metrics?.operations);
  const perSecond = (n: number) => (seconds > 0 ? round(n / seconds, 2) : 0);
  const requestCount = Object.values(requests).reduce((sum, r) => sum + r.count + r.errors, 0);
  const opCount = Object.keys(operations).length > 0 ? Object.values(operations).reduce((sum, r) => sum + r.count, 0) : Object.values(requests).reduce((sum, r) => sum + r.count, 0);
  const images = (operations['image-push']?.count ?? 0) + (operations['image-pull']?.count ?? 0);
  const bytes = metrics?.bytes ?? 0;
  const histograms: Record<string, HistogramBin[]> = {};
  for (const [name, stats] of metrics?.requests ?? []) histograms[name] = stats.histogram.bins();
  const errorCount = metrics?.errors ?? 0;
  return {
    scenario,
    registry,
    startedAt: startedAt.toISOString(),
    params,
    setupSeconds: round(run.setupTimeMs / 1000, 3),
    seconds: round(seconds, 3),
    bytes,
    counts: Object.fromEntries(Object.entries(run.counts).sort(([a], [b]) => a.localeCompare(b))),
    rates: {
      requests_per_s: perSecond(requestCount),
      ops_per_s: perSecond(opCount),
      images_per_s: perSecond(images),
      MB_per_s: seconds > 0 ? round(bytes / 1e6 / seconds, 2) : 0,
    },
    requests,
    operations,
    timeSeries: (metrics?.series ?? []).map((s, second) => ({ second, ...s })),
    histograms,
    notes: [...run.notes],
    errors: { count: errorCount, first: [...(metrics?.errorMessages ?? [])] },
    valid: errorCount === 0,
  };
}

function table(map: Map<string, { histogram: LatencyHistogram; errors: number }> | undefined): Record<string, LatencyStats> {
  const out: Record<string, LatencyStats> = {};
  for (const [name, { histogram, errors }] of [...(map ?? [])].sort(([a], [b]) => a.localeCompare(b))) {
    out[name] = {
      count: histogram.count,
      errors,
      p50: round(histogram.percentile(0.5), 3),
      p90: round(histogram.percentile(0.9), 3),
      p99: round(histogram.percentile(0.99), 3),
      max: round(histogram.maxMs, 3),
      mean: round(histogram.meanMs, 3),
    };
  }
  return out;
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
