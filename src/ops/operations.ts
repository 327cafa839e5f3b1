import { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import { ListenError } from '../http/listener.js';
import type { ExtraRoute, ServerOptions } from '../http/server.js';
import type { StorageDriver } from '../storage/driver.js';
import { answerMetricsRequests, clusterMetricsSource } from './cluster-metrics.js';
import { startDebugServer, type DebugServer } from './debug-server.js';
import { healthChecks } from './health-checks.js';
import { HealthMonitor } from './health-monitor.js';
import { InstrumentedDriver } from './instrumented-driver.js';
import { createRegistryMetrics, registerSyncMetrics, type RegistryMetrics } from './metrics.js';
import { healthRoute, livenessRoute, metricsRoute, readinessRoute, type MetricsSource } from './ops-routes.js';
import { StorageProbe } from './storage-probe.js';
import type { Tracer } from './tracing.js';

/**
 * Which process of `berth serve` this is: `single` serves the API and the debug address;
 * in a cluster each `worker` serves the API and hands its metrics to the `primary`, which serves
 * the debug address with every worker's metrics summed.
 */
export type ProcessRole = 'single' | 'worker' | 'primary';

/** Metrics and health, set up for one process. */
export interface Operations {
  /** The driver to use from now on: the given one, counted and timed when metrics are on, traced with a tracer. */
  readonly driver: StorageDriver;
  /** For createRequestHandler: request metrics (when on) and the health gate (when checks are configured). */
  readonly serverOptions: Pick<ServerOptions, 'metrics' | 'health'>;
  /** Every metric of this process when metrics are on (event delivery metrics among them). */
  readonly metrics: RegistryMetrics | undefined;
  /** `/livez` and `/readyz`, for the main listener. */
  readonly routes: readonly ExtraRoute[];
  /** The debug listener's port, when `http.debug.addr` is set and this process serves it. */
  readonly debugPort: number | undefined;
  /** Stops the checks and the debug listener. */
  stop(): Promise<void>;
}

/** The configuration named an address the debug listener cannot use. */
export class DebugAddressError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DebugAddressError';
  }
}

/**
 * Sets up `http.debug` (address, Prometheus) and `health` for this process. Metrics are only
 * gathered when something can read them: `http.debug.addr` set and `prometheus.enabled` true.
 * With a tracer (OpenTelemetry, see tracing-env.ts) storage calls become spans of their request.
 */
export async function startOperations(config: Config, driver: StorageDriver, role: ProcessRole, tracer?: Tracer): Promise<Operations> {
  const debug = config.http.debug;
  const prometheus = debug?.addr !== undefined && debug.prometheus?.enabled === true;
  const metrics: RegistryMetrics | undefined = prometheus && role !== 'primary' ? createRegistryMetrics() : undefined;
  if (metrics && role === 'worker') answerMetricsRequests(metrics.registry);
  const measured = metrics || tracer ? new InstrumentedDriver(driver, metrics, tracer) : driver;
  // The primary serves no API: its checks only feed the debug address, so without one it runs none.
  const checks = role === 'primary' && debug?.addr === undefined ? [] : healthChecks(config.health, measured);
  const monitor = new HealthMonitor(checks);
  monitor.start();
  const probe = new StorageProbe(measured);
  const routes = [livenessRoute(), readinessRoute(probe)];

  let debugServer: DebugServer | undefined;
  if (debug?.addr !== undefined && role !== 'worker') {
    const debugRoutes = [...routes, healthRoute(monitor)];
    if (prometheus) debugRoutes.push(metricsRoute(debug.prometheus?.path ?? '/metrics', metricsSource(role, metrics)));
    try {
      debugServer = await startDebugServer(debug.addr, debugRoutes);
    } catch (error) {
      monitor.stop();
      const reason = error instanceof ListenError ? error.message.replace(/^http\.addr: /, '') : (error as Error).message;
      throw new DebugAddressError(`http.debug.addr: ${reason}`, { cause: error });
    }
  }
  return {
    driver: measured,
    serverOptions: { metrics, health: checks.length > 0 ? monitor : undefined },
    metrics,
    routes,
    debugPort: debugServer?.port,
    stop: async () => {
      monitor.stop();
      await debugServer?.close();
    },
  };
}

function metricsSource(role: ProcessRole, metrics: RegistryMetrics | undefined): MetricsSource {
  if (role === 'primary') {
    // The primary runs the scheduled sync jobs: their counters join the workers' sums.
    const own = new Registry();
    registerSyncMetrics(own);
    return clusterMetricsSource(own);
  }
  const registry = metrics!.registry;
  return { contentType: registry.contentType, metrics: () => registry.metrics() };
}
