import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { cacheLookups } from '../registry/cache-stats.js';
import { gcTotals } from '../gc/gc-stats.js';
import { syncTotals } from '../sync/sync-stats.js';

/**
 * Every Prometheus metric Berth exports, in one registry per server (tests run several servers
 * in one process; a global registry would mix them). Names follow Prometheus conventions:
 * `berth_` prefix, base units (seconds, bytes) in the name, `_total` on counters.
 */
export interface RegistryMetrics {
  /** What `/metrics` renders; in a worker of `serve`, also what the primary aggregates. */
  readonly registry: Registry;
  /** Requests answered, by route name (`manifest`, `blob`, ..., `unmatched`), method and status. */
  readonly requests: Counter<'route' | 'method' | 'status'>;
  /** Time from the request's arrival to the end of its answer, by route and method. */
  readonly requestDuration: Histogram<'route' | 'method'>;
  /** Body bytes of requests and answers, counted as requests end (the access log's bytes_in/bytes_out). */
  readonly receivedBytes: Counter;
  readonly sentBytes: Counter;
  /** Upload requests (POST, PATCH, PUT of a blob upload) being served now. */
  readonly uploadsInProgress: Gauge;
  /** Storage driver calls by driver, operation and outcome (`ok`, `not_found`, `error`). */
  readonly storageCalls: Counter<'driver' | 'operation' | 'outcome'>;
  /** Time a storage call took (for reader and writer: until the stream was open). */
  readonly storageDuration: Histogram<'driver' | 'operation'>;
  /** Storage calls that failed with anything but "path not found". */
  readonly storageErrors: Counter<'driver' | 'operation'>;
  /** Events an endpoint (`notifications`) accepted, by endpoint name. */
  readonly eventsDelivered: Counter<'endpoint'>;
  /** Failed delivery attempts (each retry counts), by endpoint name. */
  readonly eventDeliveryFailures: Counter<'endpoint'>;
  /** Events dropped because the endpoint's queue was full, by endpoint name. */
  readonly eventsDropped: Counter<'endpoint'>;
  /** Events held for the endpoint now (waiting or being sent); summed across workers. */
  readonly eventQueueLength: Gauge<'endpoint'>;
}

/** Latency buckets in seconds: from a cached manifest (sub-millisecond) to a large blob. */
const requestBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const storageBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

/** A fresh registry with every Berth metric and Node's default process metrics. */
export function createRegistryMetrics(): RegistryMetrics {
  const registry = new Registry();
  // Node's process metrics keep their standard names, which ready-made dashboards look for.
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  // Caches and garbage collection count in plain process-wide numbers (registry/ and gc/ know
  // nothing of Prometheus); they are read here when /metrics is asked for.
  new Counter({
    name: 'berth_cache_lookups_total',
    help: 'Lookups in the in-memory caches, by cache and result (hit or miss)',
    labelNames: ['cache', 'result'],
    registers,
    collect() {
      this.reset();
      for (const [cache, counts] of cacheLookups()) {
        this.inc({ cache, result: 'hit' }, counts.hits);
        this.inc({ cache, result: 'miss' }, counts.misses);
      }
    },
  });
  new Counter({
    name: 'berth_gc_runs_total',
    help: 'Online garbage collection runs by this process, by result (ok or failed)',
    labelNames: ['result'],
    registers,
    collect() {
      this.reset();
      const totals = gcTotals();
      this.inc({ result: 'ok' }, totals.runs);
      this.inc({ result: 'failed' }, totals.failures);
    },
  });
  new Counter({
    name: 'berth_gc_freed_bytes_total',
    help: 'Bytes of blobs deleted by online garbage collection in this process (dry runs count nothing)',
    registers,
    collect() {
      this.reset();
      this.inc(gcTotals().bytesFreed);
    },
  });
  registerSyncMetrics(registry);
  return {
    registry,
    requests: new Counter({
      name: 'berth_http_requests_total',
      help: 'HTTP requests answered, by route name, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    }),
    requestDuration: new Histogram({
      name: 'berth_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by route name and method',
      labelNames: ['route', 'method'],
      buckets: requestBuckets,
      registers,
    }),
    receivedBytes: new Counter({ name: 'berth_http_received_bytes_total', help: 'Body bytes received in requests', registers }),
    sentBytes: new Counter({ name: 'berth_http_sent_bytes_total', help: 'Body bytes sent in answers', registers }),
    uploadsInProgress: new Gauge({
      name: 'berth_uploads_in_progress',
      help: 'Blob upload requests (POST, PATCH, PUT) being served now',
      registers,
    }),
    storageCalls: new Counter({
      name: 'berth_storage_operations_total',
      help: 'Storage driver calls, by driver, operation and outcome (ok, not_found, error)',
      labelNames: ['driver', 'operation', 'outcome'],
      registers,
    }),
    storageDuration: new Histogram({
      name: 'berth_storage_operation_duration_seconds',
      help: 'Time a storage driver call took (reader and writer: until the stream was open), by driver and operation',
      labelNames: ['driver', 'operation'],
      buckets: storageBuckets,
      registers,
    }),
    storageErrors: new Counter({
      name: 'berth_storage_errors_total',
      help: 'Storage driver calls that failed other than with "path not found", by driver and operation',
      labelNames: ['driver', 'operation'],
      registers,
    }),
    eventsDelivered: new Counter({
      name: 'berth_events_delivered_total',
      help: 'Registry events accepted by a notification endpoint, by endpoint name',
      labelNames: ['endpoint'],
      registers,
    }),
    eventDeliveryFailures: new Counter({
      name: 'berth_event_delivery_failures_total',
      help: 'Failed attempts to deliver events to a notification endpoint (each retry counts), by endpoint name',
      labelNames: ['endpoint'],
      registers,
    }),
    eventsDropped: new Counter({
      name: 'berth_events_dropped_total',
      help: 'Registry events dropped because the endpoint queue was full, by endpoint name',
      labelNames: ['endpoint'],
      registers,
    }),
    eventQueueLength: new Gauge({
      name: 'berth_event_queue_length',
      help: 'Registry events held for a notification endpoint (waiting or being sent), by endpoint name',
      labelNames: ['endpoint'],
      registers,
    }),
  };
}

/**
 * `sync` jobs run on a schedule by this process (`serve` runs them in one process: the single
 * one, or the primary when there are workers). Read from sync/'s plain totals when scraped.
 */
export function registerSyncMetrics(registry: Registry): void {
  const registers = [registry];
  new Counter({
    name: 'berth_sync_runs_total',
    help: 'Scheduled sync job runs, by job and result (ok, or failed: the run failed or one of its tags did)',
    labelNames: ['job', 'result'],
    registers,
    collect() {
      this.reset();
      for (const [job, totals] of syncTotals()) {
        this.inc({ job, result: 'ok' }, totals.ok);
        this.inc({ job, result: 'failed' }, totals.failed);
      }
    },
  });
  new Counter({
    name: 'berth_sync_copied_tags_total',
    help: 'Tags copied by scheduled sync job runs (new or changed at the source), by job',
    labelNames: ['job'],
    registers,
    collect() {
      this.reset();
      for (const [job, totals] of syncTotals()) this.inc({ job }, totals.copied);
    },
  });
}
