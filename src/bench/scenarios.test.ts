import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { pino } from 'pino';
import { createAccessController, type AuthOptions } from '../auth/create-access-controller.js';
import { passwords, testAccess, testIssuer, testService, tokenPath } from '../../test/helpers/auth.js';
import { freePort, startTestRegistry, type TestRegistry } from '../../test/helpers/registry-server.js';
import type { BenchOptions } from './bench-options.js';
import { clientTransport } from './client-transport.js';
import { runBench } from './run-bench.js';
import type { ScenarioName } from './scenarios/scenario.js';

/** Small bounds: each run takes about a second or less. */
function options(registry: string, prefix: string, overrides: Partial<BenchOptions>): BenchOptions {
  return {
    registry,
    prefix,
    concurrency: 4,
    layers: 3,
    size: 32 * 1024,
    sharedBase: 1,
    head: false,
    repos: 5,
    tags: 12,
    page: 4,
    mode: 'monolithic',
    chunk: 100_000,
    mix: { push: 1, pull: 2, get: 2, head: 1, tags: 1 },
    ...overrides,
  };
}

describe('bench scenarios against Berth', { timeout: 120_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startTestRegistry();
  });
  after(async () => {
    await registry.close();
  });

  async function run(scenario: ScenarioName, prefix: string, overrides: Partial<BenchOptions>) {
    const transport = clientTransport(registry.hostPort, { insecure: true, connections: 4 });
    try {
      const result = await runBench(scenario, options(registry.hostPort, prefix, overrides), transport);
      assert.deepEqual(result.errors, { count: 0, first: [] }, `${scenario} had errors`);
      assert.equal(result.valid, true);
      return { result, client: transport.client };
    } finally {
      await transport.close();
    }
  }

  it('push-images pushes every image, checking or uploading each blob once', async () => {
    const { result } = await run('push-images', 'bench/t1', { count: 6 });
    assert.equal(result.counts.images, 6);
    assert.equal(result.counts.blobs_uploaded! + result.counts.blobs_skipped!, 6 * 4, 'three layers and a config per image');
    assert.ok(result.counts.blobs_skipped! >= 1, 'the shared base layer is found by HEAD at least once');
    assert.equal(result.requests['manifest-put']!.count, 6);
    assert.equal(result.requests['blob-head']!.count, 24);
    assert.equal(result.operations['image-push']!.count, 6);
    assert.ok(result.rates.images_per_s > 0 && result.rates.MB_per_s > 0);
    // What the bench pushed is really there.
    const transport = clientTransport(registry.hostPort, { insecure: true });
    try {
      assert.equal((await transport.client.tags('bench/t1/push-images')).length, 6);
    } finally {
      await transport.close();
    }
  });

  it('pull-images pulls each image pushed in setup: manifest, config and layers, verified', async () => {
    const { result } = await run('pull-images', 'bench/t2', { count: 5 });
    assert.equal(result.counts.images, 5);
    assert.equal(result.requests['manifest-get']!.count, 5);
    assert.equal(result.requests['blob-get']!.count, 5 * 4);
    assert.equal(result.requests['blob-put'], undefined, 'the setup pushes are not measured');
    assert.ok(result.setupSeconds > 0);
    assert.ok(result.bytes >= 5 * 3 * 32 * 1024);
  });

  it('manifest-get runs for its duration; --head with a count sends exactly that many HEADs', async () => {
    const { result } = await run('manifest-get', 'bench/t3', { durationMs: 800 });
    assert.ok(result.requests['manifest-get']!.count > 10);
    assert.ok(result.seconds >= 0.8 && result.seconds < 10);
    assert.ok(result.timeSeries.length >= 1);
    assert.ok(result.requests['manifest-get']!.p50 > 0);
    const head = await run('manifest-get', 'bench/t3h', { count: 50, head: true });
    assert.deepEqual(Object.keys(head.result.requests), ['manifest-head']);
    assert.equal(head.result.requests['manifest-head']!.count, 50);
  });

  it('list walks the whole catalog and tag list page by page, finding every name once', async () => {
    const { result } = await run('list', 'bench/t4', { count: 2 });
    // 12 tags + the image's own tag = 13 names in pages of 4: 4 pages per walk.
    assert.equal(result.counts.tags_entries, 2 * 13);
    assert.equal(result.counts.tags_pages, 2 * 4);
    assert.ok(result.counts.catalog_entries! >= 2 * 6);
    assert.equal(result.operations['catalog-walk']!.count, 2);
    assert.equal(result.operations['tags-walk']!.count, 2);
  });

  it('mixed runs every kind of operation for its duration without errors', async () => {
    const { result } = await run('mixed', 'bench/t5', { durationMs: 1200, size: 4096, layers: 2 });
    for (const name of ['pushes', 'pulls', 'manifest_gets', 'manifest_heads', 'tag_lists']) assert.ok(result.counts[name]! > 0, name);
    assert.equal(result.counts.tags_at_end, result.counts.pushes! + 1);
    assert.ok(result.rates.ops_per_s > 0);
  });

  for (const mode of ['monolithic', 'chunked', 'post'] as const) {
    it(`push-blob uploads --count blobs (${mode})`, async () => {
      const { result } = await run('push-blob', `bench/t6-${mode}`, { count: 2, size: 300_000, mode, concurrency: 1 });
      assert.equal(result.counts.blobs, 2);
      assert.equal(result.bytes, 600_000);
      if (mode === 'chunked') assert.equal(result.requests['blob-patch']!.count, 2 * 3);
      if (mode === 'post') assert.equal(result.requests['blob-post']!.count, 2);
      if (mode === 'monolithic') assert.equal(result.requests['blob-put']!.count, 2);
    });
  }
});

describe('bench errors', { timeout: 60_000 }, () => {
  let registry: TestRegistry;
  let proxy: Server;
  let proxyAddress: string;
  let manifestGets = 0;
  let injectErrors = false;
  before(async () => {
    registry = await startTestRegistry();
    const port = Number(new URL(registry.url).port);
    // In front of Berth: with injectErrors, every third manifest GET answers 500; blob GETs are
    // redirected to Berth itself (another origin, as storage would be); the rest pass through.
    proxy = createServer((incoming, outgoing) => {
      if (incoming.method === 'GET' && incoming.url!.includes('/blobs/sha256:')) {
        incoming.resume();
        outgoing.writeHead(307, { location: `${registry.url}${incoming.url}` }).end();
        return;
      }
      if (injectErrors && incoming.method === 'GET' && incoming.url!.includes('/manifests/') && ++manifestGets % 3 === 0) {
        incoming.resume();
        outgoing.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNKNOWN","message":"injected"}]}');
        return;
      }
      const forward = request({ host: '127.0.0.1', port, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer) => {
        outgoing.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(outgoing);
      });
      incoming.pipe(forward);
    });
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
    proxyAddress = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  after(async () => {
    proxy.closeAllConnections();
    await new Promise((done) => proxy.close(done));
    await registry.close();
  });

  it('follows blob redirects to another origin within the timed GET', async () => {
    const transport = clientTransport(proxyAddress, { insecure: true, connections: 2 });
    try {
      const result = await runBench('pull-images', options(proxyAddress, 'bench/redirect', { count: 2 }), transport);
      assert.deepEqual(result.errors.first, []);
      assert.equal(result.requests['blob-get']!.count, 2 * 4);
    } finally {
      await transport.close();
    }
  });

  it('counts every unexpected answer as an error of its request type and marks the run invalid', async () => {
    injectErrors = true;
    const transport = clientTransport(proxyAddress, { insecure: true, connections: 2 });
    try {
      const result = await runBench('manifest-get', options(proxyAddress, 'bench/e1', { count: 30, concurrency: 2 }), transport);
      assert.equal(result.valid, false);
      assert.equal(result.errors.count, 10);
      assert.equal(result.requests['manifest-get']!.errors, 10);
      assert.equal(result.requests['manifest-get']!.count, 20);
      assert.equal(result.errors.first.length, 5, 'the first few messages are kept');
      assert.match(result.errors.first[0]!, /^GET \/v2\/bench\/e1\/manifest-get\/manifests\/image-0: 500 expected 200/);
      assert.equal(result.timeSeries.reduce((sum, s) => sum + s.errors, 0), 10);
    } finally {
      injectErrors = false;
      await transport.close();
    }
  });

  it('counts requests a registry never answers as errors; a failed setup stops the scenario', async () => {
    const transport = clientTransport('127.0.0.1:1', { insecure: true });
    try {
      // No setup: each image's first request (HEAD of its first layer) fails, and the image stops there.
      const push = await runBench('push-images', options('127.0.0.1:1', 'bench/e2', { count: 2 }), transport);
      assert.equal(push.valid, false);
      assert.equal(push.errors.count, 2);
      assert.equal(push.requests['blob-head']!.errors, 2);
      assert.match(push.errors.first[0]!, /^HEAD \/v2\/bench\/e2\/push-images\/blobs\/sha256:[0-9a-f]{64}: no answer: .*ECONNREFUSED/);
      // With a setup: it fails, nothing is timed, the run has one error saying so.
      const get = await runBench('manifest-get', options('127.0.0.1:1', 'bench/e3', { count: 5 }), transport);
      assert.equal(get.valid, false);
      assert.equal(get.errors.count, 1);
      assert.match(get.errors.first[0]!, /^setup \(push one small image\) failed: .*no answer/);
      assert.deepEqual(get.requests, {});
    } finally {
      await transport.close();
    }
  });
});

describe('bench with authentication', { timeout: 60_000 }, () => {
  for (const kind of ['htpasswd', 'tokenserver'] as const) {
    it(`pushes and pulls with credentials (${kind === 'htpasswd' ? 'Basic' : 'Bearer token'}); a wrong password is an error`, async () => {
      const registry = await startAuthBerth(kind);
      try {
        const good = clientTransport(registry.hostPort, { insecure: true, credentials: { username: 'writer', password: passwords.writer! } });
        try {
          const pulled = await runBench('pull-images', options(registry.hostPort, 'team/bench', { count: 3 }), good);
          assert.deepEqual(pulled.errors.first, []);
          assert.equal(pulled.counts.images, 3);
        } finally {
          await good.close();
        }
        const bad = clientTransport(registry.hostPort, { insecure: true, credentials: { username: 'writer', password: 'wrong' } });
        try {
          const refused = await runBench('push-images', options(registry.hostPort, 'team/bench2', { count: 1 }), bad);
          assert.equal(refused.valid, false);
          assert.equal(refused.requests['blob-head']!.errors, 1);
          assert.match(refused.errors.first[0]!, /: 401 /);
        } finally {
          await bad.close();
        }
      } finally {
        await registry.close();
      }
    });
  }
});

/**
 * Berth with Basic auth or its token server, as test/helpers/auth.ts makes it, but on a port
 * known in advance: the token realm must be an absolute URL a real client can follow.
 */
async function startAuthBerth(kind: 'htpasswd' | 'tokenserver'): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-auth-'));
  const htpasswd = join(dir, 'htpasswd');
  await writeFile(htpasswd, Object.entries(passwords).map(([user, pw]) => `${user}:${bcrypt.hashSync(pw, 4)}\n`).join(''));
  const port = await freePort();
  const auth: AuthOptions =
    kind === 'htpasswd'
      ? { htpasswd: { realm: 'bench', path: htpasswd } }
      : {
          token: { realm: `http://127.0.0.1:${port}${tokenPath}`, service: testService, issuer: testIssuer },
          tokenserver: { path: tokenPath, htpasswd, signingkey: join(dir, 'token.key'), expiration: 60_000 },
        };
  const setup = await createAccessController({ auth, access: testAccess }, pino({ level: 'silent' }));
  const registry = await startTestRegistry({ access: setup.access, extraRoutes: setup.endpoints, listen: { addr: `127.0.0.1:${port}` } });
  return {
    ...registry,
    close: async () => {
      await registry.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
