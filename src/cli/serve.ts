import cluster, { type Worker } from 'node:cluster';
import { availableParallelism, hostname } from 'node:os';
import type { Logger } from 'pino';
import { AuthConfigError, createAccessController } from '../auth/create-access-controller.js';
import { createDescriptorCache } from '../cache/create-descriptor-cache.js';
import { createNotifier } from '../events/create-notifier.js';
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { HttpConfig } from '../config/sections/http.js';
import {
  listen,
  ListenError,
  parseListenAddress as parseAddress,
  removeStaleSocket,
  type Listener,
  type ListenOptions,
} from '../http/listener.js';
import { createRequestHandler, type ServerOptions } from '../http/server.js';
import { requestOrigin } from '../http/urls.js';
import { collectOnce, startGcScheduler } from '../gc/scheduler.js';
import { DebugAddressError, startOperations, type Operations, type ProcessRole } from '../ops/operations.js';
import { tracerFromEnv } from '../ops/tracing-env.js';
import type { Tracer } from '../ops/tracing.js';
import { createLogger } from '../log.js';
import type { RegistryLimits } from '../registry/limits.js';
import { Registry } from '../registry/registry.js';
import { UploadPurger } from '../registry/upload-purger.js';
import { startSyncSchedule } from '../sync/sync-scheduler.js';
import { BlobStore } from '../registry/blob-store.js';
import { CacheEvictor, evictionInterval } from '../proxy/cache-evictor.js';
import { ignorePulls, PullLog, type PullRecord } from '../proxy/pull-record.js';
import { PullThrough } from '../proxy/pull-through.js';
import { upstreamsFromConfig } from '../proxy/upstreams.js';
import { UiAssets } from '../ui/static-assets.js';
import type { Digest } from '../protocol/digest.js';
import type { StorageDriver } from '../storage/driver.js';
import { createDriver } from '../storage/create-driver.js';

/** Splits Distribution's `http.addr` (`host:port`, `:port`, `[::1]:port`) for net.listen. */
export function parseListenAddress(addr: string): { host?: string; port: number } {
  return asConfigError(() => parseAddress(addr));
}

/**
 * The one place where the `http` config keys become the HTTP front's options. The schema has
 * checked every value already (tls certificate and key together, clientauth, minimumtls).
 */
export function httpOptions(http: HttpConfig): {
  listen: ListenOptions;
  server: Pick<ServerOptions, 'host' | 'prefix' | 'relativeUrls' | 'headers'>;
  drainMs: number;
} {
  const { tls } = http;
  if (http.net === 'tcp') parseListenAddress(http.addr);
  return {
    listen: {
      net: http.net,
      addr: http.addr,
      tls:
        tls?.certificate !== undefined && tls.key !== undefined
          ? {
              certificate: tls.certificate,
              key: tls.key,
              clientCas: tls.clientcas,
              clientAuth: tls.clientauth,
              minimumTls: tls.minimumtls,
            }
          : undefined,
      http2: !http.http2.disabled,
      h2c: http.h2c.enabled,
      timeouts: {
        headerMs: http.timeouts.header,
        idleMs: http.timeouts.idle,
        minRate: http.timeouts.minrate,
        minRateGraceMs: http.timeouts.minrategrace,
        requestMs: http.timeouts.request,
        maxConnections: http.maxconnections,
      },
    },
    server: { host: http.host, prefix: http.prefix, relativeUrls: http.relativeurls, headers: http.headers },
    drainMs: http.draintimeout,
  };
}

function asConfigError<T>(step: () => T): T {
  try {
    const result = step();
    if (result instanceof Promise) {
      return result.catch((error: unknown) => {
        throw error instanceof ListenError ? new ConfigError(error.message) : error;
      }) as T;
    }
    return result;
  } catch (error) {
    if (error instanceof ListenError) throw new ConfigError(error.message);
    throw error;
  }
}

/** `limits`, `catalog.maxentries` and `tags.maxtags` as the registry reads them (headersize and pathlength go to the HTTP front). */
export function registryLimits(config: Config): RegistryLimits {
  const { limits } = config;
  return {
    manifestBytes: limits.manifestsize,
    manifestDepth: limits.manifestdepth,
    tagsPerRepository: limits.tags,
    uploadBytes: limits.uploadsize,
    catalogPage: config.catalog.maxentries,
    tagsPage: config.tags.maxtags,
  };
}

export interface ServeOptions {
  /** `--workers`: overrides `http.workers`. */
  workers?: number;
}

/**
 * `berth serve [config.yml]`: runs the registry until SIGTERM or SIGINT. With more than one
 * worker (`http.workers` or `--workers`; default: one per core but one) this process is the primary of
 * a node:cluster: it checks the configuration once, forks the workers, which all accept on the
 * same address and serve the same storage, replaces a worker that dies, and on SIGTERM lets
 * every worker drain as a single process would, then exits 0.
 */
export async function serve(configFile: string | undefined, options: ServeOptions = {}): Promise<void> {
  if (cluster.isWorker) return await runWorker(configFile);
  const { config, warnings, source } = await loadConfig(configFile);
  const log = createLogger(config.log.level, { formatter: config.log.formatter, fields: config.log.fields });
  for (const warning of warnings) log.warn({ config: source }, warning);
  const workers = workerCount(config, options.workers, log);
  if (workers === 1) {
    const server = await startServer(config, log, 'single');
    log.info({ config: source, ...server.summary }, 'berth is listening');
    const purger = startUploadPurger(config, server.driver, log);
    const evictor = startCacheEvictor(config, server.driver, log, server.forget, server.pulls);
    const sync = startSyncSchedule(config.sync, log);
    const stop = (signal: string) => {
      log.info({ signal, draintimeout_ms: server.drainMs }, 'shutting down');
      void Promise.all([server.stop(), purger?.stop(), evictor?.stop(), sync?.stop(server.drainMs)]).then(() => process.exit(0));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    return;
  }
  httpOptions(config.http);
  // The workers share one socket bound by this process: a stale one is removed once, here.
  if (config.http.net === 'unix') await asConfigError(() => removeStaleSocket(config.http.addr));
  const driver = await createDriver(config.storage);
  // The primary serves http.debug.addr for all workers (their metrics summed); set up before
  // forking so that a bad debug address fails the start, not a running cluster.
  const ops = await withOperations(config, driver, 'primary');
  if (ops.debugPort !== undefined) log.info({ debug_port: ops.debugPort }, 'debug endpoints are listening');
  await superviseWorkers(workers, log, source);
  // The primary purges for all workers: one walk of the storage, not one per worker.
  startUploadPurger(config, driver, log);
  // Scheduled sync jobs run here too: in each worker, every tag would be copied once per worker.
  const sync = startSyncSchedule(config.sync, log);
  if (sync) for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void sync.stop());
  // And evicts from the proxy cache for them (the workers record pulls in storage); garbage
  // collection forgets deleted blobs in a shared descriptor cache (a worker's own cannot be reached).
  const descriptors = config.storage.cache?.blobdescriptor === 'redis' || config.storage.cache?.layerinfo === 'redis' ? await createDescriptorCache(config, log) : undefined;
  const blobs = new BlobStore(driver, descriptors);
  startCacheEvictor(config, driver, log, (digest) => blobs.forget(digest));
}

/**
 * `proxy.ttl` and `proxy.maxsize`: eviction from the pull-through cache, in the one process that
 * purges uploads. Off without a proxy, when nothing expires and nothing is capped, and while
 * read-only (eviction deletes). After a round that dropped something, one online garbage
 * collection reclaims the blob data, unless `storage.maintenance.gc` collects on its own schedule.
 */
function startCacheEvictor(
  config: Config,
  driver: StorageDriver,
  log: Logger,
  forget: (digest: Digest) => Promise<void>,
  localPulls?: PullLog,
): { stop(): Promise<void> } | undefined {
  const { proxy } = config;
  if (!proxy || !evictsFromCache(config)) return undefined;
  const { readonly, gc } = config.storage.maintenance;
  if (readonly.enabled) {
    log.info('proxy cache eviction is off while the registry is read-only (storage.maintenance.readonly.enabled)');
    return undefined;
  }
  const upstreams = upstreamsFromConfig(proxy);
  const evictor = new CacheEvictor(
    driver,
    {
      ttlOf: (name) => upstreams.resolve(name)?.upstream.ttlMs,
      maxBytes: proxy.maxsize,
      intervalMs: evictionInterval(upstreams.all.map((upstream) => upstream.ttlMs)),
      localPulls,
      reclaim: gc.enabled
        ? undefined
        : {
            run: async () => {
              await collectOnce(driver, { graceMs: gc.grace, dryRun: false, deleteUntagged: false }, log, forget);
            },
            graceMs: gc.grace,
          },
    },
    log.child({ component: 'proxy-eviction' }),
  );
  evictor.start();
  return {
    stop: async () => {
      await evictor.stop();
      await upstreams.close();
    },
  };
}

/** True when cached content can expire (a `ttl` above 0) or is capped (`maxsize`). */
function evictsFromCache(config: Config): boolean {
  const { proxy } = config;
  if (!proxy) return false;
  const ttls = proxy.upstreams ? proxy.upstreams.map((upstream) => upstream.ttl ?? proxy.ttl) : [proxy.ttl];
  return proxy.maxsize !== undefined || ttls.some((ttl) => ttl > 0);
}

/**
 * The PullRecord the pull-through cache reports to: a PullLog writing to storage when eviction
 * reads pull times, else nothing is kept.
 */
function pullRecordFor(config: Config, driver: StorageDriver, log: Logger): PullLog | undefined {
  if (!evictsFromCache(config) || config.storage.maintenance.readonly.enabled) return undefined;
  const pulls = new PullLog(driver, { onFlushError: (error) => log.warn({ err: error }, 'proxy cache: writing pull times failed; retrying') });
  pulls.start();
  return pulls;
}

/**
 * `storage.maintenance.uploadpurging`, in exactly one process of a `berth serve`. Off when the
 * registry is read-only (as in Distribution: a purge deletes). Undefined when not running.
 */
function startUploadPurger(config: Config, driver: StorageDriver, log: Logger): UploadPurger | undefined {
  const { uploadpurging, readonly } = config.storage.maintenance;
  if (!uploadpurging.enabled) return undefined;
  if (readonly.enabled) {
    log.info('upload purging is off while the registry is read-only (storage.maintenance.readonly.enabled)');
    return undefined;
  }
  const purger = new UploadPurger(driver, { age: uploadpurging.age, interval: uploadpurging.interval, dryRun: uploadpurging.dryrun }, log);
  purger.start();
  return purger;
}

/** `--workers` / `http.workers`, or defaultWorkers(); always 1 for the inmemory driver. */
function workerCount(config: Config, flag: number | undefined, log: Logger): number {
  const asked = flag ?? config.http.workers;
  if (config.storage.inmemory) {
    if (asked !== undefined && asked > 1) {
      log.warn({ workers: asked }, 'storage.inmemory keeps its data inside one process: running 1 worker');
    }
    return 1;
  }
  return asked ?? defaultWorkers();
}

/**
 * One worker per core but one: the kernel's network and disk work, the thread pool (file
 * I/O) and the clients on the same machine need a core too. Measured on 2 cores, a second
 * worker added about 5% to small-request throughput and 170 MiB of memory (BENCHMARKS.md).
 */
export function defaultWorkers(): number {
  return Math.max(1, availableParallelism() - 1);
}

/** A running server in this process. */
interface RunningServer {
  /** The fields of the startup log line. */
  summary: Record<string, unknown>;
  drainMs: number;
  /** The storage it serves. */
  driver: StorageDriver;
  /** Tells the blob descriptor cache that garbage collection deleted a blob. */
  forget: (digest: Digest) => Promise<void>;
  /** Where the pull-through cache records pulls, when cache eviction reads them. */
  pulls?: PullLog;
  /** Drains (http.draintimeout) and releases connections; resolves when done. */
  stop(): Promise<void>;
}

/** startOperations, with a bad `http.debug.addr` reported as a configuration error. */
async function withOperations(config: Config, driver: StorageDriver, role: ProcessRole, tracer?: Tracer): Promise<Operations> {
  return await startOperations(config, driver, role, tracer).catch((error: unknown) => {
    throw error instanceof DebugAddressError ? new ConfigError(error.message) : error;
  });
}

async function startServer(config: Config, log: Logger, role: Exclude<ProcessRole, 'primary'>): Promise<RunningServer> {
  const http = httpOptions(config.http);
  // OpenTelemetry traces when the OTEL_* variables ask for them (each worker sends its own).
  const tracer = tracerFromEnv(process.env, log);
  const ops = await withOperations(config, await createDriver(config.storage), role, tracer);
  const { driver } = ops;
  const blobDescriptors = await createDescriptorCache(config, log);
  const pulls = pullRecordFor(config, driver, log);
  const pullRecord: PullRecord = pulls ?? ignorePulls;
  // Each process (each worker) has its own queues: see README "Events (notifications)".
  const metrics = ops.metrics;
  const notifier = createNotifier(config.notifications, {
    sourceAddr: config.http.net === 'tcp' ? `${hostname()}:${parseAddress(config.http.addr).port}` : hostname(),
    metrics: metrics && {
      delivered: metrics.eventsDelivered,
      failures: metrics.eventDeliveryFailures,
      dropped: metrics.eventsDropped,
      queueLength: metrics.eventQueueLength,
    },
    log,
  });
  const registry = new Registry(driver, {
    events: notifier,
    deleteEnabled: config.storage.delete.enabled,
    redirect: !(config.storage.redirect?.disable ?? false),
    blobDescriptors,
    readOnly: config.storage.maintenance.readonly.enabled,
    onCatalogRefreshError: (error) => log.warn({ err: error }, 'catalog index: refresh failed; the previous list is served'),
    limits: registryLimits(config),
  });
  const pullThrough = config.proxy
    ? new PullThrough(registry, upstreamsFromConfig(config.proxy), { pulls: pullRecord, log: log.child({ component: 'proxy' }) })
    : undefined;
  const ui = config.ui.enabled ? { assets: await UiAssets.load() } : undefined;
  if (ui?.assets.missing) log.warn(`web UI: ${ui.assets.missing}; /ui/ answers 503`);
  let listener: Listener;
  try {
    const auth = await createAccessController({ auth: config.auth, access: config.access, origin: requestOrigin }, log).catch((error: unknown) => {
      throw error instanceof AuthConfigError ? new ConfigError(error.message) : error;
    });
    const handler = createRequestHandler({
      registry,
      log,
      ...http.server,
      access: auth.access,
      extraRoutes: [...auth.endpoints, ...ops.routes],
      accessLog: !config.log.accesslog.disabled,
      ...ops.serverOptions,
      tracer,
      maxTargetLength: config.limits.pathlength,
      pullThrough,
      ui,
    });
    listener = await listen(handler, { ...http.listen, log, maxHeaderSize: config.limits.headersize }).catch((error: unknown) => {
      throw error instanceof ListenError ? new ConfigError(error.message) : error;
    });
  } catch (error) {
    await pullThrough?.close();
    await notifier?.close(0);
    await blobDescriptors?.close();
    await ops.stop();
    await tracer?.shutdown();
    throw error;
  }
  // After the listener is up: start-up does not wait for a walk of the whole tree.
  registry.warmUp();
  // Every process schedules; the lease in storage lets one collect at a time (read-only: none).
  const gcConfig = config.storage.maintenance.gc;
  const gc =
    gcConfig.enabled && !config.storage.maintenance.readonly.enabled
      ? startGcScheduler(
          driver,
          { intervalMs: gcConfig.interval, graceMs: gcConfig.grace, dryRun: gcConfig.dryrun, deleteUntagged: gcConfig.deleteuntagged },
          log,
          (digest) => registry.blobs.forget(digest),
        )
      : undefined;
  return {
    summary: {
      storage: driver.name,
      url: listener.url,
      address: listener.address,
      port: listener.port,
      http2: Boolean(http.listen.tls) && http.listen.http2,
      deletes: config.storage.delete.enabled,
      ...(config.storage.maintenance.readonly.enabled ? { readonly: true } : {}),
      ...(blobDescriptors ? { blobdescriptorcache: blobDescriptors.name } : {}),
      ...(ops.debugPort !== undefined ? { debug_port: ops.debugPort } : {}),
    },
    drainMs: http.drainMs,
    driver,
    forget: (digest) => registry.blobs.forget(digest),
    pulls,
    // As Distribution: stop accepting, give requests in flight (uploads) up to http.draintimeout,
    // then cut the rest. The exit is 0 either way: the stop was asked for.
    stop: async () => {
      const stopping = Date.now();
      const { drained } = await listener.close(http.drainMs);
      if (!drained) log.warn({ draintimeout_ms: http.drainMs }, 'requests still in flight were cut');
      // Queued events get what is left of the drain time (at least a second) to be delivered.
      const undelivered = await notifier?.close(Math.max(http.drainMs - (Date.now() - stopping), 1000));
      for (const [endpoint, count] of undelivered ?? []) {
        if (count > 0) log.warn({ endpoint, undelivered: count }, 'events not delivered before shutdown were lost');
      }
      await gc?.stop();
      await pullThrough?.close();
      await pulls?.stop().catch((error: unknown) => log.warn({ err: error }, 'proxy cache: pull times since the last flush were lost'));
      await blobDescriptors?.close();
      await ops.stop();
      await tracer?.shutdown();
    },
  };
}

/** What a worker tells the primary. */
type WorkerMessage =
  | { type: 'berth:listening'; summary: Record<string, unknown> }
  | { type: 'berth:failed'; configError: boolean; message: string; stack?: string };

function isWorkerMessage(message: unknown): message is WorkerMessage {
  return typeof message === 'object' && message !== null && String((message as { type?: unknown }).type).startsWith('berth:');
}

/** A worker: the same setup as a single process; the primary logs startup and answers signals. */
async function runWorker(configFile: string | undefined): Promise<void> {
  const send = (message: WorkerMessage) => new Promise<void>((resolve) => process.send!(message, undefined, {}, () => resolve()));
  let server: RunningServer;
  let log: Logger;
  try {
    // The primary has logged the warnings already.
    const { config } = await loadConfig(configFile);
    log = createLogger(config.log.level, { formatter: config.log.formatter, fields: config.log.fields }).child({ worker: cluster.worker!.id });
    server = await startServer(config, log, 'worker');
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    await send({ type: 'berth:failed', configError: error instanceof ConfigError, message: failure.message, stack: failure.stack });
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.debug({ signal }, 'worker is draining');
    void server.stop().then(() => process.exit(0));
  };
  // SIGTERM comes from the primary; SIGINT also straight from a terminal (the whole process group).
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await send({ type: 'berth:listening', summary: server.summary });
}

/** Delay before forking again after a replacement worker died before it was listening. */
const crashLoopDelayMs = 1_000;

/**
 * Forks the workers and waits until all listen (or one fails: then the others are stopped and
 * the failure is thrown, a ConfigError as one line). Afterwards keeps the count up until SIGTERM
 * or SIGINT, which drains every worker; the process exits 0 when the last one is gone.
 */
async function superviseWorkers(count: number, log: Logger, source: string): Promise<void> {
  let stopping = false;
  let started = false;
  const listening = new Set<Worker>();
  let ready: (summary: Record<string, unknown>) => void;
  let failed: (error: Error) => void;
  const startup = new Promise<Record<string, unknown>>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });

  const fork = () => {
    const worker = cluster.fork();
    worker.on('message', (message: unknown) => {
      if (!isWorkerMessage(message)) return;
      if (message.type === 'berth:listening') {
        listening.add(worker);
        if (!started && listening.size === count) ready(message.summary);
        // A replacement that comes up while stopping drains at once.
        if (stopping) worker.process.kill('SIGTERM');
      } else if (!started) {
        const error = message.configError ? new ConfigError(message.message) : new Error(message.message);
        if (!message.configError && message.stack) error.stack = message.stack;
        failed(error);
      } else {
        log.error({ worker: worker.id, err: { message: message.message, stack: message.stack } }, 'worker could not start');
      }
    });
    worker.on('exit', (code, signal) => {
      const wasListening = listening.delete(worker);
      if (stopping) {
        // After a failed startup, serve() throws instead (exit status 1).
        if (started && Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
        return;
      }
      if (!started) {
        failed(new Error(`worker ${worker.id} exited (${signal ?? code}) before it was listening`));
        return;
      }
      log.error({ worker: worker.id, pid: worker.process.pid, code, signal }, 'worker exited; starting another');
      if (wasListening) fork();
      else setTimeout(() => !stopping && fork(), crashLoopDelayMs).unref();
    });
  };

  for (let i = 0; i < count; i++) fork();
  let summary: Record<string, unknown>;
  try {
    summary = await startup;
  } catch (error) {
    stopping = true;
    await stopAll();
    throw error;
  }
  started = true;
  log.info({ config: source, ...summary, workers: count }, 'berth is listening');
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, workers: count }, 'shutting down');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** Kills every worker and waits until they are gone (startup failed). */
async function stopAll(): Promise<void> {
  const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) return resolve();
          worker.once('exit', () => resolve());
          worker.process.kill('SIGKILL');
        }),
    ),
  );
}
