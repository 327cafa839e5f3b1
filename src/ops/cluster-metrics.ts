import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';
import type { MetricsSource } from './ops-routes.js';

/*
 * The primary of `berth serve --workers N` serves /metrics for all workers: it asks each worker
 * that is serving for its metrics over the cluster channel and sums them (prom-client's
 * aggregation: counters and histograms add up, gauges as each metric says). prom-client's own
 * AggregatorRegistry asks every connected worker, including one still starting that cannot
 * answer yet, and then times out; asking only workers that said they listen avoids that.
 */

/** Message types; not `berth:`, which serve.ts reads as startup messages. */
const requestType = 'berth-metrics:request';
const responseType = 'berth-metrics:response';
/** What a worker sends the primary once it serves (serve.ts). */
const listeningType = 'berth:listening';

/** One metric as a worker's registry exports it for aggregation. */
type MetricJson = MetricObjectWithValues<MetricValue<string>>;

/** A worker that does not answer within this time fails the scrape rather than hanging it. */
const answerTimeoutMs = 5_000;

interface MetricsRequest {
  type: typeof requestType;
  id: number;
}
interface MetricsResponse {
  type: typeof responseType;
  id: number;
  metrics?: MetricJson[];
  error?: string;
}

function hasType<T extends { type: string }>(message: unknown, type: T['type']): message is T {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}

/** In a worker: answers the primary's requests with this registry's metrics. */
export function answerMetricsRequests(registry: Registry): void {
  process.on('message', (message: unknown) => {
    if (!hasType<MetricsRequest>(message, requestType)) return;
    registry.getMetricsAsJSON().then(
      (metrics) => process.send?.({ type: responseType, id: message.id, metrics } satisfies MetricsResponse),
      (error: unknown) => process.send?.({ type: responseType, id: message.id, error: String(error) } satisfies MetricsResponse),
    );
  });
}

/**
 * In the primary: the summed metrics of the workers serving now, plus `own`, the metrics of
 * work the primary does itself (scheduled sync jobs). Must be created before the workers are
 * forked, so that it sees each one's "listening" message.
 */
export function clusterMetricsSource(own?: Registry): MetricsSource {
  const serving = new Set<Worker>();
  const pending = new Map<number, { waiting: Set<Worker>; answers: MetricJson[][]; done: (error?: Error) => void }>();
  let nextId = 0;
  cluster.on('message', (worker, message: unknown) => {
    if (hasType(message, listeningType)) serving.add(worker);
    if (!hasType<MetricsResponse>(message, responseType)) return;
    const request = pending.get(message.id);
    if (!request || !request.waiting.delete(worker)) return;
    if (message.error !== undefined) return request.done(new Error(`worker ${worker.id}: ${message.error}`));
    request.answers.push(message.metrics ?? []);
    if (request.waiting.size === 0) request.done();
  });
  cluster.on('exit', (worker) => {
    serving.delete(worker);
    // A worker that died while asked is left out of that scrape rather than failing it.
    for (const request of pending.values()) if (request.waiting.delete(worker) && request.waiting.size === 0) request.done();
  });
  return {
    contentType: AggregatorRegistry.PROMETHEUS_CONTENT_TYPE,
    metrics: async () => {
      const id = nextId++;
      const answers: MetricJson[][] = [];
      const waiting = new Set([...serving].filter((worker) => worker.isConnected()));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`${waiting.size} worker(s) did not send their metrics within ${answerTimeoutMs} ms`)), answerTimeoutMs);
        const done = (error?: Error) => {
          clearTimeout(timer);
          pending.delete(id);
          if (error) reject(error);
          else resolve();
        };
        pending.set(id, { waiting, answers, done });
        if (waiting.size === 0) return done();
        for (const worker of waiting) worker.send({ type: requestType, id } satisfies MetricsRequest);
      });
      if (own) answers.push(await own.getMetricsAsJSON());
      // One list per worker: aggregate() groups the metrics of the lists by name.
      return await AggregatorRegistry.aggregate(answers).metrics();
    },
  };
}
