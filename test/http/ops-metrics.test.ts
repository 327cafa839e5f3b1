import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { listen, type Listener } from '../../src/http/listener.js';
import { createRequestHandler } from '../../src/http/server.js';
import { startDebugServer, type DebugServer } from '../../src/ops/debug-server.js';
import { InstrumentedDriver } from '../../src/ops/instrumented-driver.js';
import { createRegistryMetrics, type RegistryMetrics } from '../../src/ops/metrics.js';
import { livenessRoute, metricsRoute, readinessRoute } from '../../src/ops/ops-routes.js';
import { StorageProbe } from '../../src/ops/storage-probe.js';
import { Registry } from '../../src/registry/registry.js';
import { fileSliceOf } from '../../src/storage/file-slice.js';
import { FilesystemDriver } from '../../src/storage/filesystem-driver.js';
import { parsePrometheusText, sumOf, type MetricFamily } from '../helpers/prometheus-text.js';
import { digestOf, pushImage, uniqueBytes } from '../helpers/push.js';

describe('Prometheus metrics of an in-process registry', { timeout: 60_000 }, () => {
  let root: string;
  let metrics: RegistryMetrics;
  let listener: Listener;
  let debug: DebugServer;
  let base: string;
  let driver: InstrumentedDriver;

  const scrape = async (): Promise<Map<string, MetricFamily>> => {
    const response = await fetch(`http://127.0.0.1:${debug.port}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(await response.text());
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-ops-metrics-'));
    metrics = createRegistryMetrics();
    driver = new InstrumentedDriver(new FilesystemDriver(root), metrics);
    const registry = new Registry(driver, { deleteEnabled: true, redirect: false });
    const handler = createRequestHandler({
      registry,
      log: pino({ level: 'silent' }),
      relativeUrls: true,
      accessLog: false,
      metrics,
      extraRoutes: [livenessRoute(), readinessRoute(new StorageProbe(driver))],
    });
    listener = await listen(handler, { net: 'tcp', addr: '127.0.0.1:0' });
    base = `http://127.0.0.1:${listener.port}`;
    debug = await startDebugServer('127.0.0.1:0', [
      metricsRoute('/metrics', { contentType: metrics.registry.contentType, metrics: () => metrics.registry.metrics() }),
    ]);
  });
  after(async () => {
    await listener.close(0);
    await debug.close();
    await rm(root, { recursive: true, force: true });
  });

  test('request counters, bytes and storage histograms move with a push, a pull and a 404', async () => {
    const before = await scrape();
    const manifestPuts = () => sumOf(before, 'berth_http_requests_total', { route: 'manifest', method: 'PUT', status: '201' });
    assert.equal(manifestPuts(), 0);

    const layer = uniqueBytes(100_000);
    const pushed = await pushImage(base, 'ops/app', 'v1', { layers: [layer] });
    const manifest = await fetch(`${base}/v2/ops/app/manifests/v1`, { headers: { Accept: pushed.mediaType } });
    assert.equal(manifest.status, 200);
    await manifest.arrayBuffer();
    const blob = await fetch(`${base}/v2/ops/app/blobs/${digestOf(layer)}`);
    assert.ok(Buffer.from(await blob.arrayBuffer()).equals(layer));
    const missing = await fetch(`${base}/v2/ops/app/manifests/nope`);
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();

    const after = await scrape();
    const requests = (labels: Record<string, string>) => sumOf(after, 'berth_http_requests_total', labels);
    assert.equal(after.get('berth_http_requests_total')?.type, 'counter');
    assert.equal(requests({ route: 'manifest', method: 'PUT', status: '201' }), 1);
    assert.equal(requests({ route: 'manifest', method: 'GET', status: '200' }), 1);
    assert.equal(requests({ route: 'manifest', method: 'GET', status: '404' }), 1);
    assert.equal(requests({ route: 'blob', method: 'GET', status: '200' }), 1);
    // Config and layer, each in one POST with ?digest=.
    assert.equal(requests({ route: 'upload-start', method: 'POST', status: '201' }), 2);
    // The latency histogram saw the same requests.
    assert.equal(after.get('berth_http_request_duration_seconds')?.type, 'histogram');
    assert.equal(
      sumOf(after, 'berth_http_request_duration_seconds', { route: 'manifest', method: 'GET' }, 'berth_http_request_duration_seconds_count'),
      2,
    );
    // Both bodies crossed the wire: the 100 kB layer up and down.
    assert.ok(sumOf(after, 'berth_http_received_bytes_total') >= layer.length);
    assert.ok(sumOf(after, 'berth_http_sent_bytes_total') >= layer.length);
    assert.equal(sumOf(after, 'berth_uploads_in_progress'), 0);

    // Every storage call was counted and timed, by operation.
    assert.equal(after.get('berth_storage_operation_duration_seconds')?.type, 'histogram');
    const observed = (operation: string) =>
      sumOf(after, 'berth_storage_operation_duration_seconds', { driver: 'filesystem', operation }, 'berth_storage_operation_duration_seconds_count');
    assert.ok(observed('putContent') > 0);
    assert.ok(observed('reader') > 0);
    assert.ok(observed('move') > 0);
    assert.ok(sumOf(after, 'berth_storage_operations_total', { driver: 'filesystem', outcome: 'ok' }) > 0);
    // The 404 asked storage for a tag link that is not there: not an error.
    assert.ok(sumOf(after, 'berth_storage_operations_total', { outcome: 'not_found' }) > 0);
    assert.equal(sumOf(after, 'berth_storage_errors_total'), 0);

    // Cache lookups are counted (a manifest GET after its PUT looks in the manifest cache).
    assert.ok(sumOf(after, 'berth_cache_lookups_total', { cache: 'manifests' }) > 0);
    assert.ok(after.has('berth_gc_runs_total'));
    assert.ok(after.has('berth_gc_freed_bytes_total'));
    // Node's process metrics are there too.
    assert.ok(after.has('process_cpu_seconds_total'));
    assert.ok(after.has('nodejs_heap_size_used_bytes'));
  });

  test('an upload in progress shows in the gauge until it ends', async () => {
    const started = await fetch(`${base}/v2/ops/slow/blobs/uploads/`, { method: 'POST' });
    assert.equal(started.status, 202);
    const location = new URL(started.headers.get('location')!, base);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new Uint8Array(1024));
        await gate;
        controller.close();
      },
    });
    const patch = fetch(location, { method: 'PATCH', body, duplex: 'half', headers: { 'Content-Type': 'application/octet-stream' } } as RequestInit);
    const deadline = Date.now() + 10_000;
    while (sumOf(await scrape(), 'berth_uploads_in_progress') !== 1) {
      assert.ok(Date.now() < deadline, 'the PATCH never showed as in progress');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    release();
    assert.equal((await patch).status, 202);
    const settled = Date.now() + 10_000;
    while (sumOf(await scrape(), 'berth_uploads_in_progress') !== 0) {
      assert.ok(Date.now() < settled, 'the PATCH stayed in progress after it ended');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  test('the wrapper passes the filesystem driver\'s streams through, so the file-slice fast path still applies', async () => {
    await driver.putContent('/ops/slice/data', Buffer.from('0123456789'));
    const stream = await driver.reader('/ops/slice/data', { offset: 2, end: 5 });
    const slice = fileSliceOf(stream);
    assert.ok(slice, 'no file slice behind the wrapped reader');
    assert.equal(slice.start, 2);
    assert.equal(slice.end, 5);
    stream.destroy();
    // Optional methods exist exactly when the wrapped driver has them.
    assert.equal(typeof driver.changeToken, 'function');
    assert.equal(driver.redirectURL, undefined);
  });

  test('/livez and /readyz answer on the main listener without going through the API', async () => {
    assert.equal((await fetch(`${base}/livez`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
  });
});
