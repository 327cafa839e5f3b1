import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import type { EventPublisher } from '../../src/events/event.js';
import type { PullThrough } from '../../src/proxy/pull-through.js';
import { listen, type Listener, type ListenOptions } from '../../src/http/listener.js';
import { createRequestHandler, type ServerOptions } from '../../src/http/server.js';
import type { BlobDescriptorCache } from '../../src/registry/blob-descriptor-cache.js';
import type { RegistryLimits } from '../../src/registry/limits.js';
import { Registry } from '../../src/registry/registry.js';
import type { StorageDriver } from '../../src/storage/driver.js';
import { FilesystemDriver } from '../../src/storage/filesystem-driver.js';
import { UiAssets } from '../../src/ui/static-assets.js';
import { httpsFetch, type TlsClientOptions } from './tls-client.js';

export const repoRoot = resolve(import.meta.dirname, '../..');

export interface TestRegistry {
  /** Base URL, e.g. http://127.0.0.1:40123 (https:// with TLS; for a unix socket, http://localhost) */
  url: string;
  /** host:port, as clients take it */
  hostPort: string;
  /** Storage root directory (filesystem driver) */
  root: string;
  registry: Registry;
  listener: Listener;
  close(): Promise<void>;
}

/** The server options a test may set, beside the storage. */
export type TestServerOptions = Partial<Pick<ServerOptions, 'host' | 'prefix' | 'relativeUrls' | 'headers' | 'access' | 'extraRoutes' | 'maxTargetLength'>>;

/**
 * Starts Berth in this process on 127.0.0.1 and an ephemeral port, on a fresh temporary
 * storage directory (or the given driver). For HTTP-level tests.
 *
 * With `root`, the filesystem driver serves that existing directory instead, and `close()` leaves
 * it in place: a second server on the same root is a restarted registry, and the caller owns it.
 */
export async function startTestRegistry(
  options: TestServerOptions & {
    deleteEnabled?: boolean;
    /** `storage.maintenance.readonly.enabled`. */
    readOnly?: boolean;
    /** `storage.redirect` on (the default in `berth serve`); off here unless asked. */
    redirect?: boolean;
    driver?: StorageDriver;
    root?: string;
    /** `storage.cache.blobdescriptor`; closed by close(). */
    blobDescriptors?: BlobDescriptorCache;
    /** How to listen (default: plain HTTP on 127.0.0.1, a free port). */
    listen?: Partial<ListenOptions>;
    /** Where handlers report pushes, pulls, mounts and deletes (`notifications`); the caller closes it. */
    events?: EventPublisher;
    /** `limits`, `catalog.maxentries`, `tags.maxtags` (defaults from src/registry/limits.ts). */
    limits?: Partial<RegistryLimits>;
    /** `proxy`: makes the pull-through cache over this registry; closed by close(). */
    pullThrough?: (registry: Registry) => PullThrough;
    /** `ui.enabled` (on in `berth serve`, off here unless asked): the UI's files from dist/ui-assets and its JSON API. */
    ui?: { enabled: boolean };
  } = {},
): Promise<TestRegistry> {
  const root = options.root ?? (await mkdtemp(join(tmpdir(), 'berth-test-')));
  const driver = options.driver ?? new FilesystemDriver(root);
  const registry = new Registry(driver, {
    deleteEnabled: options.deleteEnabled ?? true,
    redirect: options.redirect ?? false,
    blobDescriptors: options.blobDescriptors,
    readOnly: options.readOnly,
    events: options.events,
    limits: options.limits,
  });
  const pullThrough = options.pullThrough?.(registry);
  const handler = createRequestHandler({
    registry,
    log: pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' }),
    host: options.host,
    prefix: options.prefix,
    // The protocol suites compare Location and Link with API paths; the absolute URLs Berth sends
    // by default (as Distribution) are covered in test/http/urls.test.ts.
    relativeUrls: options.relativeUrls ?? options.host === undefined,
    headers: options.headers,
    access: options.access,
    extraRoutes: options.extraRoutes,
    maxTargetLength: options.maxTargetLength,
    accessLog: false,
    pullThrough,
    ui: options.ui?.enabled ? { assets: await UiAssets.load() } : undefined,
  });
  const listener = await listen(handler, { net: 'tcp', addr: '127.0.0.1:0', ...options.listen });
  const hostPort = listener.port === undefined ? 'localhost' : `127.0.0.1:${listener.port}`;
  return {
    url: `${options.listen?.tls ? 'https' : 'http'}://${hostPort}`,
    hostPort,
    root,
    registry,
    listener,
    close: async () => {
      await listener.close(0);
      await pullThrough?.close();
      await options.blobDescriptors?.close();
      if (options.root === undefined) await rm(root, { recursive: true, force: true });
    },
  };
}

export interface SpawnedRegistry {
  url: string;
  hostPort: string;
  process: ChildProcess;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs a registry command as a separate process (Berth's own `bin/berth.js serve`, or the
 * reference `docker-registry serve`) and waits until `/v2/` (or `readyPath`, e.g. under an
 * `http.prefix`) answers. The command gets the config file path as its last argument. With `tls` (the CA to trust, and a client certificate if the
 * registry wants one) the registry serves HTTPS and is awaited over TLS.
 */
export async function spawnRegistry(
  command: 'berth' | 'docker-registry',
  configYaml: string,
  workDir: string,
  port: number,
  env: NodeJS.ProcessEnv = {},
  tls?: TlsClientOptions,
  args: readonly string[] = [],
  readyPath = '/v2/',
): Promise<SpawnedRegistry> {
  const configFile = join(workDir, `${command}-${port}.yml`);
  await writeFile(configFile, configYaml);
  const [file, commandArgs] =
    command === 'berth'
      ? [process.execPath, [join(repoRoot, 'bin/berth.js'), 'serve', ...args, configFile]]
      : ['docker-registry', ['serve', ...args, configFile]];
  const defaults: NodeJS.ProcessEnv = command === 'berth' ? { REGISTRY_HTTP_WORKERS: '1' } : {};
  const child = spawn(file, commandArgs, { env: { ...process.env, ...defaults, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}:\n${output}`);
    try {
      const status = tls ? (await httpsFetch(`${url}${readyPath}`, tls)).status : (await fetch(`${url}${readyPath}`)).status;
      // 401: the registry is up and asks for credentials (auth configured).
      if (status === 200 || status === 401) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${command} did not answer on ${url} within 15 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    hostPort: `127.0.0.1:${port}`,
    process: child,
    output: () => output,
    stop: async () => {
      // A process ended by a signal has signalCode set and exitCode null.
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await once(child, 'exit');
      clearTimeout(timer);
    },
  };
}

/** A free TCP port on 127.0.0.1 (for processes that need the port in their config). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}
