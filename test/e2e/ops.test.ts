// `berth serve` with metrics and health on the debug address: with two workers, the primary's
// /metrics sums both workers' counts; /livez and /readyz answer on both listeners. Runs the
// compiled CLI (npm run build first).
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parsePrometheusText, sumOf } from '../helpers/prometheus-text.js';
import { pushImage } from '../helpers/push.js';
import { freePort, spawnRegistry, type SpawnedRegistry } from '../helpers/registry-server.js';

/** A GET on a connection of its own, so the cluster hands each request to the next worker. */
function getOnNewConnection(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { Connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('berth serve --workers 2: metrics of all workers, health endpoints', { timeout: 90_000 }, () => {
  let work: string;
  let registry: SpawnedRegistry;
  let debugBase: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-ops-e2e-'));
    const [port, debugPort] = [await freePort(), await freePort()];
    debugBase = `http://127.0.0.1:${debugPort}`;
    const config = [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(work, 'data')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  debug:',
      `    addr: 127.0.0.1:${debugPort}`,
      '    prometheus:',
      '      enabled: true',
      '      path: /metrics',
      'health:',
      '  storagedriver:',
      '    enabled: true',
      '    interval: 1s',
      '',
    ].join('\n');
    registry = await spawnRegistry('berth', config, work, port, {}, undefined, ['--workers', '2']);
  });
  after(async () => {
    await registry?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('the primary aggregates both workers: every request made shows in the sum', async () => {
    await pushImage(registry.url, 'ops/e2e', 'v1');
    const before = parsePrometheusText(await (await fetch(`${debugBase}/metrics`)).text());
    const baseGets = () => sumOf(before, 'berth_http_requests_total', { route: 'base', method: 'GET', status: '200' });
    const requests = 20;
    for (let i = 0; i < requests; i++) assert.equal(await getOnNewConnection(`${registry.url}/v2/`), 200);
    const response = await fetch(`${debugBase}/metrics`);
    assert.equal(response.status, 200);
    const after = parsePrometheusText(await response.text());
    // The cluster deals connections to the workers in turn: both served some of these, and the
    // primary's sum has every one of them.
    assert.equal(sumOf(after, 'berth_http_requests_total', { route: 'base', method: 'GET', status: '200' }) - baseGets(), requests);
    assert.equal(sumOf(after, 'berth_http_requests_total', { route: 'manifest', method: 'PUT', status: '201' }), 1);
    assert.ok(
      sumOf(after, 'berth_storage_operation_duration_seconds', { operation: 'putContent' }, 'berth_storage_operation_duration_seconds_count') > 0,
    );
  });

  test('/debug/health, /livez and /readyz answer on the debug address, /livez and /readyz on the API address', async () => {
    const health = await fetch(`${debugBase}/debug/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), {});
    for (const url of [`${debugBase}/livez`, `${debugBase}/readyz`, `${registry.url}/livez`, `${registry.url}/readyz`]) {
      const response = await fetch(url);
      await response.arrayBuffer();
      assert.equal(response.status, 200, url);
    }
    const unknown = await fetch(`${debugBase}/v2/`);
    await unknown.arrayBuffer();
    assert.equal(unknown.status, 404);
  });
});
