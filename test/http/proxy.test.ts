import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { proxySchema } from '../../src/config/sections/proxy.js';
import { parseDigest } from '../../src/protocol/digest.js';
import { PullThrough } from '../../src/proxy/pull-through.js';
import type { PullRecord } from '../../src/proxy/pull-record.js';
import { upstreamsFromConfig } from '../../src/proxy/upstreams.js';
import type { StorageDriver } from '../../src/storage/driver.js';
import { FilesystemDriver } from '../../src/storage/filesystem-driver.js';
import { paths } from '../../src/storage/paths.js';
import { exists } from '../../src/registry/links.js';
import { basic, pushImageAs, startAuthRegistry } from '../helpers/auth.js';
import { expectError } from '../helpers/http.js';
import { createTestCa } from '../helpers/tls.js';
import { digestOf, mediaTypes, pushBlob, pushImage, pushManifest, type PushedManifest, uniqueBytes } from '../helpers/push.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The pull-through cache over HTTP: an upstream Berth, a recording front in front of it (so every
 * request the cache sends upstream is counted, and faults can be injected), and a caching Berth
 * whose `proxy` section names the front. Tag TTLs run on a clock the tests move, not on time.
 */

interface FrontRequest {
  readonly method: string;
  readonly path: string;
}

/** An HTTP relay in front of the upstream that records each request and can answer or reshape. */
interface UpstreamFront {
  readonly url: string;
  readonly requests: FrontRequest[];
  /** Answers a request itself when it returns true (a 429, say); the upstream never sees it. */
  answer: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  /** Replaces the body of an upstream answer (slowed, corrupted); undefined passes it as is. */
  reshape: ((req: IncomingMessage, body: Readable) => Readable | undefined) | undefined;
  /** Requests matching method and path pattern since the test began. */
  count(method: string, path: RegExp): number;
  /** Stops listening and cuts every connection: the upstream is down from here on. */
  close(): Promise<void>;
}

async function startFront(target: string): Promise<UpstreamFront> {
  const { hostname, port } = new URL(target);
  const server = createServer((req, res) => {
    front.requests.push({ method: req.method ?? '', path: req.url ?? '' });
    if (front.answer?.(req, res)) return;
    const forward = request({ host: hostname, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      const body = front.reshape?.(req, answer) ?? answer;
      body.on('error', () => res.destroy());
      body.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  let closed = false;
  const front: UpstreamFront = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: [],
    answer: undefined,
    reshape: undefined,
    count: (method, path) => front.requests.filter((r) => r.method === method && path.test(r.path)).length,
    close: async () => {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return front;
}

interface Setup {
  upstream: TestRegistry;
  front: UpstreamFront;
  cache: TestRegistry;
  /** The cache's clock (ms); move it to pass a TTL. */
  clock: { now: number };
  pulls: { repository: string; digest: string; size: number }[];
  /** Reads of blob link files in the cache's storage, by path (to see requests arrive). */
  linkReads: string[];
  close(): Promise<void>;
}

/** Upstream, front and cache; `proxy` is the cache's proxy section with the front's URL filled in. */
async function setup(proxy: (frontUrl: string) => Record<string, unknown> = (url) => ({ remoteurl: url }), upstreamRegistry?: TestRegistry): Promise<Setup> {
  // A registry handed in belongs to the caller, who closes it.
  const upstream = upstreamRegistry ?? (await startTestRegistry());
  const front = await startFront(upstream.url);
  const clock = { now: Date.now() };
  const pulls: Setup['pulls'] = [];
  const record: PullRecord = { record: (repository, digest, size) => void pulls.push({ repository, digest, size }) };
  const root = await mkdtemp(join(tmpdir(), 'berth-proxy-cache-'));
  const linkReads: string[] = [];
  const driver = countingLinkReads(new FilesystemDriver(root), linkReads);
  const config = proxySchema.parse(proxy(front.url))!;
  const cache = await startTestRegistry({
    root,
    driver,
    pullThrough: (registry) => new PullThrough(registry, upstreamsFromConfig(config), { pulls: record, now: () => clock.now }),
  });
  return {
    upstream,
    front,
    cache,
    clock,
    pulls,
    linkReads,
    close: async () => {
      await cache.close();
      await front.close();
      if (!upstreamRegistry) await upstream.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** The driver, noting every read of a `_layers` link (each blob request of the cache makes one). */
function countingLinkReads(driver: StorageDriver, reads: string[]): StorageDriver {
  return new Proxy(driver, {
    get(target, property, receiver) {
      if (property === 'getContent') {
        return (path: string) => {
          if (path.includes('/_layers/')) reads.push(path);
          return target.getContent(path);
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const manifestPath = /\/manifests\//;
const blobPath = /\/blobs\/sha256:/;
const oneMinute = 60_000;

async function getBytes(url: string, headers: Record<string, string> = {}): Promise<{ status: number; bytes: Buffer; response: Response }> {
  const response = await fetch(url, { headers });
  return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()), response };
}

/** Pulls a pushed image through the cache (manifest by tag, then each blob) and checks every byte. */
async function pullThroughCache(cache: TestRegistry, name: string, tag: string, image: PushedManifest, blobs: Map<string, Buffer>): Promise<void> {
  const manifest = await getBytes(`${cache.url}/v2/${name}/manifests/${tag}`);
  assert.equal(manifest.status, 200, manifest.bytes.toString());
  assert.ok(manifest.bytes.equals(image.bytes));
  assert.equal(manifest.response.headers.get('docker-content-digest'), image.digest);
  const parsed = JSON.parse(image.bytes.toString()) as { config: { digest: string }; layers: { digest: string }[] };
  for (const digest of [parsed.config.digest, ...parsed.layers.map((l) => l.digest)]) {
    const blob = await getBytes(`${cache.url}/v2/${name}/blobs/${digest}`);
    assert.equal(blob.status, 200, blob.bytes.toString());
    assert.equal(digestOf(blob.bytes), digest);
    if (blobs.has(digest)) assert.ok(blob.bytes.equals(blobs.get(digest)!));
  }
}

/** An image pushed to the upstream, with its layer bytes by digest. */
async function pushUpstreamImage(upstream: TestRegistry, name: string, tag: string, layers: Buffer[] = [uniqueBytes(4096)]): Promise<{ image: PushedManifest; blobs: Map<string, Buffer> }> {
  const image = await pushImage(upstream.url, name, tag, { layers });
  return { image, blobs: new Map(layers.map((layer) => [digestOf(layer), layer])) };
}

describe('pull-through cache', { timeout: 60_000 }, () => {
  test('pulls by tag and by digest through the cache; a second pull does not touch the upstream', async () => {
    const s = await setup();
    try {
      const { image, blobs } = await pushUpstreamImage(s.upstream, 'library/alpine', '3.20');
      await pullThroughCache(s.cache, 'library/alpine', '3.20', image, blobs);
      assert.equal(s.front.count('GET', manifestPath), 1, 'one manifest GET by tag, no HEAD first when nothing is cached');
      assert.equal(s.front.count('GET', blobPath), 2, 'config and layer');

      const before = s.front.requests.length;
      await pullThroughCache(s.cache, 'library/alpine', '3.20', image, blobs);
      const byDigest = await getBytes(`${s.cache.url}/v2/library/alpine/manifests/${image.digest}`);
      assert.equal(byDigest.status, 200);
      assert.ok(byDigest.bytes.equals(image.bytes));
      const head = await fetch(`${s.cache.url}/v2/library/alpine/blobs/${[...blobs.keys()][0]}`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.deepEqual(s.front.requests.slice(before), [], 'the second pull is served from the cache alone');

      // Cached content is ordinary content of the repository: listings see it.
      const tags = (await (await fetch(`${s.cache.url}/v2/library/alpine/tags/list`)).json()) as { tags: string[] };
      assert.deepEqual(tags.tags, ['3.20']);
      const catalog = (await (await fetch(`${s.cache.url}/v2/_catalog`)).json()) as { repositories: string[] };
      assert.deepEqual(catalog.repositories, ['library/alpine']);
      // Every successful GET was recorded for eviction, manifests and blobs alike.
      assert.ok(s.pulls.some((p) => p.repository === 'library/alpine' && p.digest === image.digest && p.size === image.size));
      for (const [digest, bytes] of blobs) assert.ok(s.pulls.some((p) => p.digest === digest && p.size === bytes.length), `pull of ${digest} recorded`);
    } finally {
      await s.close();
    }
  });

  test('a multi-arch index: the index by tag, then each child by digest and its blobs, all through the cache', async () => {
    const s = await setup();
    try {
      const children = [await pushUpstreamImage(s.upstream, 'team/multi', 'amd64'), await pushUpstreamImage(s.upstream, 'team/multi', 'arm64')];
      const index = await pushManifest(s.upstream.url, 'team/multi', 'latest', {
        schemaVersion: 2,
        mediaType: mediaTypes.ociIndex,
        manifests: children.map(({ image }, i) => ({ mediaType: image.mediaType, digest: image.digest, size: image.size, platform: { os: 'linux', architecture: ['amd64', 'arm64'][i] } })),
      });
      const got = await getBytes(`${s.cache.url}/v2/team/multi/manifests/latest`);
      assert.equal(got.status, 200);
      assert.ok(got.bytes.equals(index.bytes));
      assert.equal(got.response.headers.get('content-type'), mediaTypes.ociIndex);
      for (const { image, blobs } of children) await pullThroughCache(s.cache, 'team/multi', image.digest, image, blobs);
      const before = s.front.requests.length;
      for (const { image, blobs } of children) await pullThroughCache(s.cache, 'team/multi', image.digest, image, blobs);
      assert.equal(s.front.requests.length, before, 'all of it cached');
    } finally {
      await s.close();
    }
  });

  test('a manifest pulled by digest first is fetched once and never asked for again', async () => {
    const s = await setup();
    try {
      const { image } = await pushUpstreamImage(s.upstream, 'team/app', 'v1');
      for (let i = 0; i < 3; i++) {
        const got = await getBytes(`${s.cache.url}/v2/team/app/manifests/${image.digest}`);
        assert.equal(got.status, 200);
        assert.ok(got.bytes.equals(image.bytes));
        s.clock.now += 10 * oneMinute;
      }
      assert.equal(s.front.count('GET', manifestPath), 1);
      assert.equal(s.front.count('HEAD', manifestPath), 0);
      const missing = await fetch(`${s.cache.url}/v2/team/app/manifests/${digestOf('nothing')}`);
      await expectError(missing, 404, 'MANIFEST_UNKNOWN');
      const missingBlob = await fetch(`${s.cache.url}/v2/team/app/blobs/${digestOf('nothing')}`);
      await expectError(missingBlob, 404, 'BLOB_UNKNOWN');
    } finally {
      await s.close();
    }
  });

  test('tagttl: at most one HEAD per tag per TTL, even for 10 concurrent pulls; a moved tag is seen after the TTL', async () => {
    const s = await setup((url) => ({ remoteurl: url, tagttl: '1m' }));
    try {
      const first = await pushUpstreamImage(s.upstream, 'team/app', 'latest');
      await pullThroughCache(s.cache, 'team/app', 'latest', first.image, first.blobs);
      const tagUrl = `${s.cache.url}/v2/team/app/manifests/latest`;

      s.clock.now += 30_000;
      assert.equal((await getBytes(tagUrl)).status, 200);
      assert.equal(s.front.count('HEAD', manifestPath), 0, 'within the TTL the cached tag is trusted');

      s.clock.now += 31_000;
      const concurrent = await Promise.all(Array.from({ length: 10 }, () => getBytes(tagUrl)));
      for (const got of concurrent) assert.ok(got.status === 200 && got.bytes.equals(first.image.bytes));
      assert.equal(s.front.count('HEAD', manifestPath), 1, 'one HEAD for ten pulls');
      assert.equal(s.front.count('GET', manifestPath), 1, 'same digest upstream: nothing fetched again');

      // The tag moves upstream: the cache keeps serving the old digest until its TTL is over.
      const second = await pushUpstreamImage(s.upstream, 'team/app', 'latest');
      const stale = await getBytes(tagUrl);
      assert.equal(stale.response.headers.get('docker-content-digest'), first.image.digest);
      s.clock.now += oneMinute + 1;
      await pullThroughCache(s.cache, 'team/app', 'latest', second.image, second.blobs);
      assert.equal(s.front.count('HEAD', manifestPath), 2);
      assert.ok(s.front.requests.some((r) => r.method === 'GET' && r.path === `/v2/team/app/manifests/${second.image.digest}`), 'the new digest fetched by digest');
      // The old manifest stays available by digest (its revision is still in the repository).
      assert.equal((await getBytes(`${s.cache.url}/v2/team/app/manifests/${first.image.digest}`)).status, 200);
    } finally {
      await s.close();
    }
  });

  test('upstream stopped: cached content is still served; uncached content gets 503 naming the upstream', async () => {
    const s = await setup();
    try {
      const cached = await pushUpstreamImage(s.upstream, 'team/app', 'v1');
      const uncached = await pushUpstreamImage(s.upstream, 'team/app', 'v2');
      await pullThroughCache(s.cache, 'team/app', 'v1', cached.image, cached.blobs);
      await s.front.close();
      s.clock.now += 10 * oneMinute;

      // A stale tag is served as last seen, and the next pulls within the TTL do not retry the upstream.
      await pullThroughCache(s.cache, 'team/app', 'v1', cached.image, cached.blobs);
      assert.equal((await getBytes(`${s.cache.url}/v2/team/app/manifests/${cached.image.digest}`)).status, 200);

      const message = new RegExp(`^upstream ${s.front.url.replaceAll('.', '\\.')} unreachable: `);
      await expectError(await fetch(`${s.cache.url}/v2/team/app/manifests/v2`), 503, 'UNKNOWN', { message });
      await expectError(await fetch(`${s.cache.url}/v2/team/app/manifests/${uncached.image.digest}`), 503, 'UNKNOWN', { message });
      const layer = [...uncached.blobs.keys()][0]!;
      await expectError(await fetch(`${s.cache.url}/v2/team/app/blobs/${layer}`), 503, 'UNKNOWN', { message });
      await expectError(await fetch(`${s.cache.url}/v2/team/app/blobs/${layer}`, { method: 'HEAD' }), 503, 'UNKNOWN', { head: true });
    } finally {
      await s.close();
    }
  });

  test('upstream 429 reaches the client as 429 TOOMANYREQUESTS naming the upstream, with its Retry-After; cached content is still served', async () => {
    const s = await setup();
    try {
      const cached = await pushUpstreamImage(s.upstream, 'team/app', 'v1');
      await pushUpstreamImage(s.upstream, 'team/app', 'v2');
      await pullThroughCache(s.cache, 'team/app', 'v1', cached.image, cached.blobs);
      s.front.answer = (_req, res) => {
        const body = JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'pull rate limit reached' }] });
        res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '7', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
        return true;
      };
      const limited = await fetch(`${s.cache.url}/v2/team/app/manifests/v2`);
      assert.equal(limited.headers.get('retry-after'), '7');
      const entry = await expectError(limited, 429, 'TOOMANYREQUESTS');
      assert.match(entry!.message, new RegExp(`upstream ${s.front.url.replaceAll('.', '\\.')} .*pull rate limit reached`));

      s.clock.now += 10 * oneMinute;
      const before = s.front.count('HEAD', manifestPath);
      await pullThroughCache(s.cache, 'team/app', 'v1', cached.image, cached.blobs);
      assert.equal(s.front.count('HEAD', manifestPath), before + 1, 'the rate-limited check was made once, then the cached tag served');
    } finally {
      await s.close();
    }
  });

  test('10 concurrent GETs of one uncached 16 MiB blob: one upstream download, streamed to the first client as it arrives, right bytes for all', async () => {
    const s = await setup();
    try {
      const big = uniqueBytes(16 * 1024 * 1024);
      const digest = digestOf(big);
      await pushBlob(s.upstream.url, 'team/big', big);
      // The upstream sends the first MiB, then holds the rest until the test opens the gate.
      let openGate!: () => void;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      let upstreamDone = false;
      s.front.reshape = (req, body) => (req.method === 'GET' && req.url?.endsWith(digest) ? gated(body, 1024 * 1024, gate, () => (upstreamDone = true)) : undefined);
      const url = `${s.cache.url}/v2/team/big/blobs/${digest}`;

      const first = await fetch(url);
      assert.equal(first.status, 200);
      assert.equal(first.headers.get('content-length'), String(big.length));
      const reader = first.body!.getReader();
      const firstChunk = await reader.read();
      assert.ok(!firstChunk.done && firstChunk.value.length > 0, 'the first client gets bytes...');
      assert.equal(upstreamDone, false, '...while the upstream is still sending');

      const readsBefore = s.linkReads.length;
      const others = Array.from({ length: 9 }, () => getBytes(url));
      // Open the gate once all nine have reached the cache (each reads the blob's link first),
      // and a moment more for them to join the download.
      await waitFor('nine more requests reach the cache', () => s.linkReads.length - readsBefore >= 9);
      await sleep(100);
      openGate();

      const rest: Buffer[] = [Buffer.from(firstChunk.value)];
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        rest.push(Buffer.from(value));
      }
      assert.equal(digestOf(Buffer.concat(rest)), digest);
      for (const other of await Promise.all(others)) {
        assert.equal(other.status, 200);
        assert.equal(digestOf(other.bytes), digest);
      }
      assert.equal(s.front.count('GET', new RegExp(`/blobs/${digest}$`)), 1, 'exactly one upstream download');
      assert.equal(upstreamDone, true);
      // And it is cached: a later pull needs no upstream.
      const again = await getBytes(url);
      assert.equal(digestOf(again.bytes), digest);
      assert.equal(s.front.count('GET', new RegExp(`/blobs/${digest}$`)), 1);
    } finally {
      await s.close();
    }
  });

  test('HEAD of an uncached blob asks the upstream and caches nothing; a Range GET of one is answered from the cached blob', async () => {
    const s = await setup();
    try {
      const content = uniqueBytes(100_000);
      const digest = digestOf(content);
      await pushBlob(s.upstream.url, 'team/app', content);
      const url = `${s.cache.url}/v2/team/app/blobs/${digest}`;
      const head = await fetch(url, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(content.length));
      assert.equal(head.headers.get('docker-content-digest'), digest);
      assert.equal(s.front.count('GET', blobPath), 0);
      assert.equal(await s.cache.registry.blobs.stat(parseDigest(digest)!), undefined);

      const range = await fetch(url, { headers: { Range: 'bytes=1000-1999' } });
      assert.equal(range.status, 206);
      assert.equal(range.headers.get('content-range'), `bytes 1000-1999/${content.length}`);
      assert.ok(Buffer.from(await range.arrayBuffer()).equals(content.subarray(1000, 2000)));
      assert.equal(s.front.count('GET', blobPath), 1, 'the whole blob was downloaded once');
      assert.equal((await s.cache.registry.blobs.stat(parseDigest(digest)!))?.size, content.length);
    } finally {
      await s.close();
    }
  });

  test('a first client that goes away mid-download does not stop the download into the cache', async () => {
    const s = await setup();
    try {
      const big = uniqueBytes(4 * 1024 * 1024);
      const digest = digestOf(big);
      await pushBlob(s.upstream.url, 'team/big', big);
      let openGate!: () => void;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      s.front.reshape = (req, body) => (req.method === 'GET' && req.url?.endsWith(digest) ? gated(body, 512 * 1024, gate, () => undefined) : undefined);
      const url = `${s.cache.url}/v2/team/big/blobs/${digest}`;
      const leaving = new AbortController();
      const first = await fetch(url, { signal: leaving.signal });
      const reader = first.body!.getReader();
      assert.equal((await reader.read()).done, false);
      leaving.abort();
      await reader.read().catch(() => undefined);
      openGate();
      await waitFor('the blob is stored', async () => (await s.cache.registry.blobs.stat(parseDigest(digest)!)) !== undefined);
      const again = await getBytes(url);
      assert.equal(again.status, 200);
      assert.ok(again.bytes.equals(big));
      assert.equal(s.front.count('GET', new RegExp(`/blobs/${digest}$`)), 1);
    } finally {
      await s.close();
    }
  });

  test('a blob whose upstream bytes do not match its digest is not cached, and the client does not get a whole body', async () => {
    const s = await setup();
    try {
      const content = uniqueBytes(256 * 1024);
      const digest = digestOf(content);
      await pushBlob(s.upstream.url, 'team/app', content);
      s.front.reshape = (req, body) => (req.url?.endsWith(digest) ? corrupted(body) : undefined);
      const url = `${s.cache.url}/v2/team/app/blobs/${digest}`;
      const response = await fetch(url);
      assert.equal(response.status, 200);
      await assert.rejects(response.arrayBuffer(), 'the connection is cut before the last bytes');

      // Nothing was cached and no upload was left behind: the next pull downloads again.
      assert.equal(await s.cache.registry.blobs.stat(parseDigest(digest)!), undefined, 'no content stored');
      await assert.rejects(s.cache.registry.blobs.statInRepository('team/app', parseDigest(digest)!), /blob unknown/);
      const uploadsDir = join(s.cache.root, 'docker/registry/v2/repositories/team/app/_uploads');
      await waitFor('the download session is removed', async () => (await readdir(uploadsDir).catch(() => [])).length === 0);
      s.front.reshape = undefined;
      const again = await getBytes(url);
      assert.equal(again.status, 200);
      assert.ok(again.bytes.equals(content));
      assert.equal(s.front.count('GET', new RegExp(`/blobs/${digest}$`)), 2);
    } finally {
      await s.close();
    }
  });

  test('proxy.upstreams: proxied prefixes refuse pushes and deletes with 405; other repositories take pushes', async () => {
    const s = await setup((url) => ({ upstreams: [{ prefix: 'hub/', remoteurl: url }] }));
    try {
      const { image, blobs } = await pushUpstreamImage(s.upstream, 'team/app', 'v1');
      // hub/team/app is team/app at the upstream.
      await pullThroughCache(s.cache, 'hub/team/app', 'v1', image, blobs);
      assert.ok(s.front.requests.every((r) => !r.path.includes('/hub/')), 'the prefix is not sent upstream');

      for (const [method, path] of [
        ['POST', '/v2/hub/team/app/blobs/uploads/'],
        ['PUT', '/v2/hub/team/app/manifests/v2'],
        ['DELETE', `/v2/hub/team/app/manifests/${image.digest}`],
        ['DELETE', `/v2/hub/team/app/blobs/${[...blobs.keys()][0]}`],
      ] as const) {
        const refused = await fetch(`${s.cache.url}${path}`, { method, body: method === 'PUT' ? image.bytes.toString() : undefined });
        await expectError(refused, 405, 'UNSUPPORTED', { message: /hub\/team\/app is a pull-through cache of http:\/\/127\.0\.0\.1:\d+/ });
      }
      // A repository outside every prefix is an ordinary one.
      const local = await pushImage(s.cache.url, 'local/app', 'v1');
      assert.ok((await getBytes(`${s.cache.url}/v2/local/app/manifests/v1`)).bytes.equals(local.bytes));
      await expectError(await fetch(`${s.cache.url}/v2/local/other/manifests/v1`), 404, 'NAME_UNKNOWN');
      assert.ok(s.front.requests.every((r) => !r.path.includes('/local/')), 'ordinary repositories never reach the upstream');
    } finally {
      await s.close();
    }
  });

  test('proxy.remoteurl: every repository is proxied, so every push is refused', async () => {
    const s = await setup();
    try {
      await expectError(await fetch(`${s.cache.url}/v2/anything/blobs/uploads/`, { method: 'POST' }), 405, 'UNSUPPORTED');
    } finally {
      await s.close();
    }
  });

  test('an upstream with htpasswd auth: the configured username and password are used; wrong ones are reported', async () => {
    const upstream = await startAuthRegistry('htpasswd', 'none');
    const s = await setup((url) => ({ remoteurl: url, username: 'writer', password: 'writer-password' }), upstream);
    const wrong = await setup((url) => ({ remoteurl: url, username: 'writer', password: 'not-the-password' }), upstream);
    try {
      await pushImageAs(upstream.url, 'team/app', 'v1', basic('writer'));
      const manifest = await getBytes(`${s.cache.url}/v2/team/app/manifests/v1`);
      assert.equal(manifest.status, 200, manifest.bytes.toString());
      const parsed = JSON.parse(manifest.bytes.toString()) as { layers: { digest: string }[] };
      const layer = await getBytes(`${s.cache.url}/v2/team/app/blobs/${parsed.layers[0]!.digest}`);
      assert.equal(layer.status, 200);
      assert.equal(digestOf(layer.bytes), parsed.layers[0]!.digest);

      const refused = await fetch(`${wrong.cache.url}/v2/team/app/manifests/v1`);
      await expectError(refused, 502, 'UNKNOWN', { message: /^upstream http:\/\/127\.0\.0\.1:\d+ refused the cache's credentials/ });
    } finally {
      await wrong.close();
      await s.close();
      await upstream.close();
    }
  });

  test('closing waits until a blob whose client has every byte is stored and linked in the cache', async () => {
    const s = await setup();
    let cacheClosed = false;
    try {
      const layer = uniqueBytes(2 * 1024 * 1024);
      const { digest } = await pushBlob(s.upstream.url, 'team/big', layer);
      const got = await getBytes(`${s.cache.url}/v2/team/big/blobs/${digest}`);
      assert.ok(got.bytes.equals(layer));
      // The last bytes reach the client before the cache has moved the blob into place and
      // linked it; closing right away must not cut that short.
      await s.cache.close();
      cacheClosed = true;
      const parsed = parseDigest(digest)!;
      assert.ok(await s.cache.registry.blobs.stat(parsed), 'the blob is in the cache');
      assert.ok(await exists(s.cache.registry.driver, paths.layerLink('team/big', parsed)), 'and linked into the repository');
    } finally {
      if (cacheClosed) {
        await s.front.close();
        await s.upstream.close();
        await rm(s.cache.root, { recursive: true, force: true });
      } else {
        await s.close();
      }
    }
  });

  test('an https upstream with its own CA: trusted through cafile, refused without it', async () => {
    const ca = await createTestCa('Berth Proxy Test CA');
    const root = await mkdtemp(join(tmpdir(), 'berth-proxy-tls-upstream-'));
    const caches: TestRegistry[] = [];
    let upstream: TestRegistry | undefined;
    try {
      // Content pushed over plain HTTP, then the same storage served over TLS only.
      const plain = await startTestRegistry({ root });
      const { image, blobs } = await pushUpstreamImage(plain, 'team/app', 'v1');
      await plain.close();
      const server = await ca.serverCert();
      upstream = await startTestRegistry({ root, listen: { tls: { certificate: server.cert, key: server.key }, http2: false } });
      const cacheFor = async (proxy: Record<string, unknown>) => {
        const config = proxySchema.parse(proxy)!;
        const cache = await startTestRegistry({ pullThrough: (registry) => new PullThrough(registry, upstreamsFromConfig(config)) });
        caches.push(cache);
        return cache;
      };
      const trusting = await cacheFor({ remoteurl: upstream.url, cafile: ca.cert });
      await pullThroughCache(trusting, 'team/app', 'v1', image, blobs);
      const untrusting = await cacheFor({ remoteurl: upstream.url });
      await expectError(await fetch(`${untrusting.url}/v2/team/app/manifests/v1`), 503, 'UNKNOWN', { message: /^upstream https:\/\/127\.0\.0\.1:\d+ unreachable: / });
    } finally {
      for (const cache of caches) await cache.close();
      await upstream?.close();
      await rm(root, { recursive: true, force: true });
      await ca.remove();
    }
  });
});

/** The body's first `first` bytes, then the rest once `gate` opens; `done` is called after the last byte. */
function gated(body: Readable, first: number, gate: Promise<void>, done: () => void): Readable {
  return Readable.from(
    (async function* () {
      let sent = 0;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (sent < first && sent + chunk.length > first) {
          yield chunk.subarray(0, first - sent);
          await gate;
          yield chunk.subarray(first - sent);
        } else {
          if (sent >= first) await gate;
          yield chunk;
        }
        sent += chunk.length;
      }
      done();
    })(),
  );
}

/**
 * The body with one byte flipped in its first chunk (same length, wrong digest). Its last byte
 * comes a moment after the rest, so a cache that passed every byte on as it came would have
 * delivered the whole (wrong) body before it could know the digest is wrong.
 */
function corrupted(body: Readable): Readable {
  return Readable.from(
    (async function* () {
      let first = true;
      let carry: Buffer | undefined;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        const copy = Buffer.from(chunk);
        if (first) copy[0] = copy[0]! ^ 0xff;
        first = false;
        const all = carry ? Buffer.concat([carry, copy]) : copy;
        yield all.subarray(0, all.length - 1);
        carry = all.subarray(all.length - 1);
      }
      await sleep(200);
      if (carry) yield carry;
    })(),
  );
}
