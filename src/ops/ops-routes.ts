import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExtraRoute } from '../http/server.js';
import { replyJson, reply } from '../http/respond.js';
import type { HealthMonitor } from './health-monitor.js';
import type { StorageProbe } from './storage-probe.js';

/** How long `/readyz` waits for storage before calling it not ready. */
const readyTimeoutMs = 5_000;

/** `/livez`: the process is up and its event loop answers; nothing else is checked. */
export function livenessRoute(): ExtraRoute {
  return { path: '/livez', handle: async (_req, res) => reply(res, 200, { 'Content-Type': 'text/plain' }, 'ok\n') };
}

/**
 * `/readyz`: 200 when one cheap storage call (see StorageProbe) succeeds now, 503 with
 * `{"storage": "<error>"}` when it fails or takes longer than 5 s. Asked on each request rather
 * than cached, so a load balancer sees storage come back at its next probe.
 */
export function readinessRoute(probe: StorageProbe): ExtraRoute {
  return {
    path: '/readyz',
    handle: async (_req, res) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`storage did not answer within ${readyTimeoutMs} ms`)), readyTimeoutMs);
      });
      try {
        await Promise.race([probe.check(), timeout]);
        reply(res, 200, { 'Content-Type': 'text/plain' }, 'ok\n');
      } catch (error) {
        replyJson(res, 503, { storage: error instanceof Error ? error.message : String(error) });
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * `/debug/health` as Distribution answers it: 200 with `{}` while every check passes, 503 with
 * `{"<check>": "<error>", ...}` naming each failing one.
 */
export function healthRoute(monitor: HealthMonitor): ExtraRoute {
  return {
    path: '/debug/health',
    handle: async (_req, res) => {
      const failures = monitor.failures();
      replyJson(res, Object.keys(failures).length === 0 ? 200 : 503, failures);
    },
  };
}

/** Where the Prometheus text comes from: this process's registry, or the primary's aggregation of its workers. */
export interface MetricsSource {
  /** The exposition text; rejects when it cannot be gathered (a worker did not answer). */
  metrics(): Promise<string>;
  /** The Content-Type of that text. */
  readonly contentType: string;
}

/** `http.debug.prometheus.path`: the metrics in Prometheus text format. */
export function metricsRoute(path: string, source: MetricsSource): ExtraRoute {
  return {
    path,
    handle: async (_req: IncomingMessage, res: ServerResponse) => {
      try {
        reply(res, 200, { 'Content-Type': source.contentType }, await source.metrics());
      } catch (error) {
        reply(res, 500, { 'Content-Type': 'text/plain' }, `metrics unavailable: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    },
  };
}
