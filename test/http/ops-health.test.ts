import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { HealthConfig } from '../../src/config/sections/health.js';
import { listen, type Listener } from '../../src/http/listener.js';
import { createRequestHandler } from '../../src/http/server.js';
import { startDebugServer, type DebugServer } from '../../src/ops/debug-server.js';
import { healthChecks } from '../../src/ops/health-checks.js';
import { HealthMonitor } from '../../src/ops/health-monitor.js';
import { healthRoute, livenessRoute, readinessRoute } from '../../src/ops/ops-routes.js';
import { StorageProbe } from '../../src/ops/storage-probe.js';
import { Registry } from '../../src/registry/registry.js';
import { FilesystemDriver } from '../../src/storage/filesystem-driver.js';
import { pushImage } from '../helpers/push.js';
import { waitFor } from '../helpers/wait.js';

async function listenTcp(port = 0): Promise<TcpServer> {
  const server = createTcpServer((socket) => socket.destroy());
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

describe('health checks, /debug/health, /livez and /readyz', { timeout: 90_000 }, () => {
  let dir: string;
  let store: string;
  let maintenanceFile: string;
  let tcp: TcpServer | undefined;
  let tcpPort: number;
  let upstream: HttpServer;
  let upstreamStatus = 200;
  let monitor: HealthMonitor;
  let listener: Listener;
  let debug: DebugServer;
  let base: string;
  let debugBase: string;

  const health = async (): Promise<{ status: number; body: Record<string, string> }> => {
    const response = await fetch(`${debugBase}/debug/health`);
    return { status: response.status, body: (await response.json()) as Record<string, string> };
  };
  const statusOf = async (url: string): Promise<number> => {
    const response = await fetch(url);
    await response.arrayBuffer();
    return response.status;
  };
  const healthy = async () => (await health()).status === 200;
  const failingCheck = (name: string) => async () => {
    const { status, body } = await health();
    return status === 503 && name in body;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-ops-health-'));
    store = join(dir, 'store');
    await mkdir(store);
    maintenanceFile = join(dir, 'maintenance');
    tcp = await listenTcp();
    tcpPort = (tcp.address() as AddressInfo).port;
    upstream = createHttpServer((_req, res) => res.writeHead(upstreamStatus).end());
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');

    const driver = new FilesystemDriver(store);
    const config: HealthConfig = {
      storagedriver: { enabled: true, interval: 50, threshold: 2 },
      file: [{ file: maintenanceFile, interval: 50 }],
      http: [{ uri: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/ping`, interval: 50, timeout: 1000 }],
      tcp: [{ addr: `127.0.0.1:${tcpPort}`, interval: 50, timeout: 1000 }],
    };
    monitor = new HealthMonitor(healthChecks(config, driver));
    const routes = [livenessRoute(), readinessRoute(new StorageProbe(driver))];
    const handler = createRequestHandler({
      registry: new Registry(driver, { deleteEnabled: true, redirect: false }),
      log: pino({ level: 'silent' }),
      relativeUrls: true,
      accessLog: false,
      extraRoutes: routes,
      health: monitor,
    });
    listener = await listen(handler, { net: 'tcp', addr: '127.0.0.1:0' });
    base = `http://127.0.0.1:${listener.port}`;
    debug = await startDebugServer('127.0.0.1:0', [...routes, healthRoute(monitor)]);
    debugBase = `http://127.0.0.1:${debug.port}`;
    monitor.start();
    // Content in storage: the storage check knows the registry's directory from now on.
    await pushImage(base, 'health/app', 'v1');
  });
  after(async () => {
    monitor.stop();
    await listener.close(0);
    await debug.close();
    tcp?.close();
    upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('healthy: /debug/health answers 200 {}, the API, /livez and /readyz answer', async () => {
    await waitFor('every check passes', healthy);
    assert.deepEqual(await health(), { status: 200, body: {} });
    assert.equal(await statusOf(`${base}/v2/`), 200);
    for (const url of [`${base}/livez`, `${base}/readyz`, `${debugBase}/livez`, `${debugBase}/readyz`]) assert.equal(await statusOf(url), 200, url);
  });

  test('the storage directory moved away: failing, the API answers 503, /readyz 503, /livez 200; and back', async () => {
    await waitFor('every check passes', healthy);
    await rename(store, `${store}.away`);
    try {
      await waitFor('the storage check fails', failingCheck('storagedriver_filesystem'));
      const { body } = await health();
      assert.match(body.storagedriver_filesystem!, /missing/);
      const api = await fetch(`${base}/v2/health/app/manifests/v1`);
      assert.equal(api.status, 503);
      const errors = (await api.json()) as { errors: { code: string }[] };
      assert.equal(errors.errors[0]!.code, 'UNAVAILABLE');
      assert.equal(await statusOf(`${base}/`), 503, 'a load balancer probing / sees it too, as with Distribution');
      assert.equal(await statusOf(`${base}/readyz`), 503);
      assert.equal(await statusOf(`${debugBase}/readyz`), 503);
      assert.equal(await statusOf(`${base}/livez`), 200);
      assert.equal(await statusOf(`${debugBase}/livez`), 200);
    } finally {
      await rename(`${store}.away`, store);
    }
    await waitFor('the storage check passes again', healthy);
    assert.equal(await statusOf(`${base}/readyz`), 200);
    assert.equal(await statusOf(`${base}/v2/health/app/manifests/v1`), 200);
  });

  test('the storage root replaced by a file: failing, and back', async () => {
    await waitFor('every check passes', healthy);
    await rename(store, `${store}.away`);
    await writeFile(store, 'not a directory');
    try {
      await waitFor('the storage check fails', failingCheck('storagedriver_filesystem'));
      assert.equal(await statusOf(`${base}/readyz`), 503);
      assert.equal(await statusOf(`${base}/livez`), 200);
    } finally {
      await rm(store);
      await rename(`${store}.away`, store);
    }
    await waitFor('the storage check passes again', healthy);
    assert.equal(await statusOf(`${base}/readyz`), 200);
  });

  test('health.file fails while the file exists', async () => {
    await waitFor('every check passes', healthy);
    await writeFile(maintenanceFile, '');
    await waitFor('the file check fails', failingCheck(maintenanceFile));
    assert.equal((await health()).body[maintenanceFile], 'file exists');
    assert.equal(await statusOf(`${base}/v2/`), 503);
    // Readiness is about storage only.
    assert.equal(await statusOf(`${base}/readyz`), 200);
    await rm(maintenanceFile);
    await waitFor('the file check passes again', healthy);
    assert.equal(await statusOf(`${base}/v2/`), 200);
  });

  test('health.tcp fails while nothing listens on the port', async () => {
    await waitFor('every check passes', healthy);
    await new Promise<void>((resolve) => tcp!.close(() => resolve()));
    tcp = undefined;
    const name = `127.0.0.1:${tcpPort}`;
    await waitFor('the tcp check fails', failingCheck(name));
    assert.match((await health()).body[name]!, /connection to .* failed/);
    tcp = await listenTcp(tcpPort);
    await waitFor('the tcp check passes again', healthy);
  });

  test('health.http fails while the URI answers another status', async () => {
    await waitFor('every check passes', healthy);
    upstreamStatus = 500;
    const name = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/ping`;
    await waitFor('the http check fails', failingCheck(name));
    assert.match((await health()).body[name]!, /500/);
    upstreamStatus = 200;
    await waitFor('the http check passes again', healthy);
  });
});
