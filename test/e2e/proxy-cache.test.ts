// End to end for Berth as a pull-through cache (issue #10), run as users run it (the compiled
// bin/berth.js serve) in front of a second registry on 127.0.0.1, with real clients pulling
// through it. Every upstream sits behind a recording proxy, so each test counts what reached
// the upstream:
// - docker-registry upstream, Distribution's `proxy.remoteurl`: skopeo, podman and docker get
//   the upstream's digests; pulled again (by tag within tagttl, and by digest) nothing at all
//   reaches the upstream; pushes and deletes are refused with 405 UNSUPPORTED; registry:2
//   serving the cache's storage finds the cached images.
// - a tag moved upstream: the old digest until tagttl has passed, the new one after.
// - the upstream stopped: cached images still pull by tag (stale) and by digest; an uncached one
//   fails with a 503 naming the upstream and why; the same with the upstream answering 429,
//   whose Retry-After the cache passes on.
// - a 48 MiB layer through a cold cache, the upstream link slowed: two clients pulling it at
//   once (their downloads overlapping) cause one upstream download; the first bytes reach a
//   client before the layer is stored whole.
// - a Berth upstream with htpasswd behind Berth's `proxy.upstreams` prefix `hub/`: hub/x pulls
//   upstream x with the configured credentials; a push under hub/ is refused, elsewhere it works.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBuilt } from '../helpers/compiled-cli.js';
import { writeTestLayout } from '../helpers/image-layout.js';
import { forgetKnownBlobs, podmanStore } from './support/clients.js';
import { dockerdForSuite } from './support/daemons.js';
import { buildTestImages, type TestImages } from './support/images.js';
import { getJson, headManifest, manifestAccept, readDirManifest, sha256, type Manifest } from './support/oci.js';
import { proxySection, someOverlap, startSlowLink, trafficSince, type CacheUpstream } from './support/proxy-cache.js';
import { startProxy, type RecordingProxy } from './support/proxy.js';
import { berthRequests, startRegistry, type RegistryKind, type RunningRegistry } from './support/registries.js';
import { defer, Diagnostics, type RunOptions, type RunResult } from './support/run.js';

const diag = new Diagnostics();
const testTimeout = { timeout: 300_000 };
const user = { name: 'puller', password: 'puller-e2e-pw' };
let work: string;
let images: TestImages;

before(
  async () => {
    await ensureBuilt();
    work = await mkdtemp(join(tmpdir(), 'berth-e2e-proxy-'));
    images = await buildTestImages(join(work, 'images'));
  },
  { timeout: 180_000 },
);

after(
  async () => {
    if (work) await rm(work, { recursive: true, force: true });
  },
  { timeout: 60_000 },
);

const sh = (file: string, args: string[], options?: RunOptions) => diag.run(file, args, options);

/** Cleanup registration: a test's `defer`, or a list a suite's `after` runs. */
type OnCleanup = (cleanup: () => unknown) => void;

/** A registry, the recording proxy in front of it, and a Berth cache in front of that. */
interface CacheChain {
  readonly upstream: RunningRegistry;
  /** Every request that reached the upstream. */
  readonly recorder: RecordingProxy;
  readonly cache: RunningRegistry;
  /** The cache's storage root. */
  readonly cacheStorage: string;
}

interface ChainOptions {
  readonly kind?: RegistryKind;
  /** Extra upstream config (an `auth:` section). */
  readonly upstreamConfig?: readonly string[];
  /** The cache's proxy section for the upstream at remoteUrl (default: `remoteurl`, tagttl 1m). */
  readonly proxy?: (remoteUrl: string) => string[];
  /** Slows the upstream's answers to this many bytes per second. */
  readonly slowLink?: number;
}

async function startChain(dir: string, onCleanup: OnCleanup, watch: (source: RunningRegistry) => void, options: ChainOptions = {}): Promise<CacheChain> {
  const upstream = await startRegistry(options.kind ?? 'docker-registry', join(dir, 'upstream-storage'), dir, options.upstreamConfig);
  onCleanup(() => upstream.stop());
  watch(upstream);
  let target = upstream.hostPort;
  if (options.slowLink !== undefined) {
    const link = await startSlowLink(upstream.hostPort, options.slowLink);
    onCleanup(() => link.close());
    target = link.hostPort;
  }
  const recorder = await startProxy(target);
  onCleanup(() => recorder.close());
  const remoteUrl = `http://${recorder.hostPort}`;
  const proxy = options.proxy?.(remoteUrl) ?? proxySection({ remoteUrl, tagTtl: '1m' });
  const cacheStorage = join(dir, 'cache-storage');
  const cache = await startRegistry('berth', cacheStorage, dir, proxy);
  onCleanup(() => cache.stop());
  watch(cache);
  return { upstream, recorder, cache, cacheStorage };
}

/** A fresh directory for one test, with a cache chain whose processes end with the test. */
async function chainForTest(t: TestContext, label: string, options: ChainOptions = {}): Promise<CacheChain & { dir: string }> {
  const dir = await mkdtemp(join(work, `${label}-`));
  defer(t, () => rm(dir, { recursive: true, force: true }));
  const chain = await startChain(dir, (cleanup) => defer(t, cleanup), (source) => diag.watch(source, t), options);
  return { ...chain, dir };
}

/** skopeo copy to a registry, after making skopeo forget where blobs are (so it really uploads). */
async function pushTo(hostPort: string, source: string, repoAndTag: string, options: { all?: boolean; creds?: string } = {}): Promise<void> {
  await forgetKnownBlobs();
  await sh('skopeo', [
    'copy',
    '-q',
    ...(options.all ? ['--all'] : []),
    ...(options.creds ? ['--dest-creds', options.creds] : []),
    '--dest-tls-verify=false',
    source,
    `docker://${hostPort}/${repoAndTag}`,
  ]);
}

/**
 * skopeo copy from a registry into a `dir:` copy, which keeps the manifests exactly as served;
 * returns the top manifest. skopeo verifies every blob's digest as it pulls.
 */
async function skopeoPull(reference: string, dir: string, options: { all?: boolean; runOptions?: RunOptions } = {}): Promise<Manifest> {
  await sh('skopeo', ['copy', '-q', ...(options.all ? ['--all'] : []), '--src-tls-verify=false', `docker://${reference}`, `dir:${dir}`], options.runOptions);
  return await readDirManifest(dir);
}

/** A podman with a store of its own under dir, removed when the test ends. */
async function podmanFor(t: TestContext, dir: string): Promise<(...args: string[]) => Promise<RunResult>> {
  const store = await podmanStore(dir);
  defer(t, () => store.remove());
  return (...args) => sh('podman', [...store.flags, ...args], { timeoutMs: 120_000 });
}

async function podmanDigest(podman: (...args: string[]) => Promise<RunResult>, reference: string): Promise<string> {
  return (await podman('image', 'inspect', '--format', '{{.Digest}}', reference)).stdout.trim();
}

/** The children of a pulled index, as `arch=digest`, each verified against its `dir:` copy. */
async function pulledChildren(dir: string, index: Manifest): Promise<string[]> {
  const children: string[] = [];
  for (const child of index.json.manifests ?? []) {
    const manifest = await readDirManifest(dir, child.digest);
    assert.equal(manifest.digest, child.digest, `the ${child.platform?.architecture} manifest as served`);
    children.push(`${child.platform?.architecture}=${child.digest}`);
  }
  return children.sort();
}

const expectedChildren = () => Object.entries(images.multi.children).map(([arch, d]) => `${arch}=${d.digest}`).sort();

/** The `{"errors":[...]}` answer to a request, with its status. */
async function errorAnswer(url: string, init: RequestInit = {}): Promise<{ status: number; code?: string; message?: string; text: string; headers: Headers }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  const text = await response.text();
  let first: { code?: string; message?: string } | undefined;
  try {
    first = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
  } catch {
    first = undefined;
  }
  return { status: response.status, code: first?.code, message: first?.message, text, headers: response.headers };
}

describe('a cache of docker-registry (proxy.remoteurl)', () => {
  let chain: CacheChain;
  const cleanups: (() => unknown)[] = [];
  const ref = (repo: string) => `${chain.cache.hostPort}/${repo}`;

  before(
    async () => {
      const dir = await mkdtemp(join(work, 'remoteurl-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      chain = await startChain(
        dir,
        (cleanup) => cleanups.push(cleanup),
        (source) => {
          diag.watch(source);
          cleanups.push(() => diag.unwatch(source));
        },
        // A long tagttl: the second round of pulls must not even check a tag upstream.
        { proxy: (remoteUrl) => proxySection({ remoteUrl, tagTtl: '1h' }) },
      );
      await pushTo(chain.upstream.hostPort, images.single.layout, 'lib/single:v1');
      await pushTo(chain.upstream.hostPort, images.multi.layout, 'lib/multi:list', { all: true });
    },
    { timeout: 120_000 },
  );

  after(
    async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
    { timeout: 60_000 },
  );

  const docker = dockerdForSuite(() => join(work, 'docker'), diag);
  const repoDigests = async (image: string) =>
    JSON.parse((await docker('image', 'inspect', '--format', '{{json .RepoDigests}}', image)).stdout) as string[];

  it(
    'gives skopeo, podman and docker the upstream digests, and a second round of pulls never reaches the upstream',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const dir = await mkdtemp(join(work, 'rounds-'));
      defer(t, () => rm(dir, { recursive: true, force: true }));
      const podman = await podmanFor(t, join(dir, 'podman'));
      const { single, multi } = images;
      const singleAt = `lib/single@${single.manifest.digest}`;
      const multiAt = `lib/multi@${multi.index.digest}`;

      // Round 1, cold cache: what the upstream holds, byte for byte.
      const first = await skopeoPull(ref('lib/single:v1'), join(dir, 'r1-single'));
      assert.equal(first.digest, single.manifest.digest, 'skopeo: manifest digest through the cache');
      assert.ok(first.bytes.equals(single.manifest.bytes), 'skopeo: manifest bytes through the cache');
      const layer = await readFile(join(dir, 'r1-single', single.layer.digest.split(':')[1]!));
      assert.equal(sha256(layer), single.layer.digest, 'skopeo: the layer through the cache');
      const index = await skopeoPull(ref('lib/multi:list'), join(dir, 'r1-multi'), { all: true });
      assert.equal(index.digest, multi.index.digest, 'skopeo: index digest through the cache');
      assert.deepEqual(await pulledChildren(join(dir, 'r1-multi'), index), expectedChildren());

      await podman('pull', '-q', '--tls-verify=false', ref('lib/single:v1'));
      assert.equal(await podmanDigest(podman, ref('lib/single:v1')), single.manifest.digest, 'podman: digest through the cache');
      await podman('pull', '-q', '--tls-verify=false', ref('lib/multi:list'));
      const arch = await podman('image', 'inspect', '--format', '{{.Architecture}}', ref('lib/multi:list'));
      assert.equal(arch.stdout.trim(), 'amd64', 'podman: the amd64 image of the index');

      await docker('pull', '-q', ref('lib/single:v1'));
      assert.ok((await repoDigests(ref('lib/single:v1'))).includes(ref(singleAt)), 'docker: digest through the cache');
      await docker('pull', '-q', ref('lib/multi:list'));
      assert.ok((await repoDigests(ref('lib/multi:list'))).includes(ref(multiAt)), 'docker: index digest through the cache');

      // Round 2, warm cache, every client again by tag and by digest, with nothing kept locally.
      const mark = chain.recorder.requests.length;
      const layerFetched = chain.recorder.requests.some((r) => r.method === 'GET' && r.url === `/v2/lib/single/blobs/${single.layer.digest}`);
      assert.ok(layerFetched, `the cold cache fetched the layer upstream:\n${trafficSince(chain.recorder.requests, 0)}`);
      assert.equal((await skopeoPull(ref('lib/single:v1'), join(dir, 'r2-single-tag'))).digest, single.manifest.digest);
      assert.equal((await skopeoPull(ref(singleAt), join(dir, 'r2-single-digest'))).digest, single.manifest.digest);
      const again = await skopeoPull(ref('lib/multi:list'), join(dir, 'r2-multi-tag'), { all: true });
      assert.equal(again.digest, multi.index.digest);
      assert.deepEqual(await pulledChildren(join(dir, 'r2-multi-tag'), again), expectedChildren());
      assert.equal((await skopeoPull(ref(multiAt), join(dir, 'r2-multi-digest'), { all: true })).digest, multi.index.digest);

      await podman('rmi', '-a', '-f');
      await podman('pull', '-q', '--tls-verify=false', ref('lib/single:v1'));
      assert.equal(await podmanDigest(podman, ref('lib/single:v1')), single.manifest.digest);
      await podman('pull', '-q', '--tls-verify=false', ref(singleAt));
      await podman('pull', '-q', '--tls-verify=false', ref('lib/multi:list'));

      await docker('image', 'prune', '-a', '-f');
      await docker('pull', '-q', ref('lib/single:v1'));
      assert.ok((await repoDigests(ref('lib/single:v1'))).includes(ref(singleAt)));
      await docker('pull', '-q', ref(multiAt));
      assert.ok((await repoDigests(ref(multiAt))).includes(ref(multiAt)));

      assert.equal(trafficSince(chain.recorder.requests, mark), '(none)', 'requests that reached the upstream in the second round');
    }),
  );

  it(
    'refuses pushes and deletes with 405 UNSUPPORTED, as Distribution does',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const dir = await mkdtemp(join(work, 'refused-'));
      defer(t, () => rm(dir, { recursive: true, force: true }));
      const pushed = await sh(
        'skopeo',
        ['copy', '-q', '--dest-tls-verify=false', images.single.layout, `docker://${ref('lib/pushed:v1')}`],
        { allowFailure: true },
      );
      assert.notEqual(pushed.code, 0, 'skopeo push into a proxied repository must fail');
      assert.match(pushed.stderr, /unsupported/i);

      const upload = await errorAnswer(`${chain.cache.url}/v2/lib/pushed/blobs/uploads/`, { method: 'POST' });
      assert.equal(upload.status, 405, upload.text);
      assert.equal(upload.code, 'UNSUPPORTED', upload.text);
      // A cached manifest may not be deleted through the cache either.
      await skopeoPull(ref('lib/single:v1'), join(dir, 'pulled'));
      const deleted = await errorAnswer(`${chain.cache.url}/v2/lib/single/manifests/${images.single.manifest.digest}`, { method: 'DELETE' });
      assert.equal(deleted.status, 405, deleted.text);
      assert.equal(deleted.code, 'UNSUPPORTED', deleted.text);
      assert.equal((await headManifest(chain.cache.url, 'lib/single', images.single.manifest.digest)).status, 200, 'still cached');
    }),
  );

  it(
    "keeps what it cached in registry:2's layout: docker-registry serving the cache's storage pulls it",
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const dir = await mkdtemp(join(work, 'layout-'));
      defer(t, () => rm(dir, { recursive: true, force: true }));
      await skopeoPull(ref('lib/single:v1'), join(dir, 'through-cache'));
      const reference = await startRegistry('docker-registry', chain.cacheStorage, dir);
      defer(t, () => reference.stop());
      diag.watch(reference, t);
      const pulled = await skopeoPull(`${reference.hostPort}/lib/single:v1`, join(dir, 'from-reference'));
      assert.equal(pulled.digest, images.single.manifest.digest);
      const tags = await getJson<{ tags: string[] }>(`${reference.url}/v2/lib/single/tags/list`);
      assert.deepEqual(tags.body?.tags, ['v1'], tags.text);
    }),
  );
});

describe('a tag moved upstream', () => {
  it(
    'is served with its old digest until tagttl has passed, and with the new one after',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const tagTtlMs = 5_000;
      const chain = await chainForTest(t, 'moved', { proxy: (remoteUrl) => proxySection({ remoteUrl, tagTtl: `${tagTtlMs}ms` }) });
      const ref = (repo: string) => `${chain.cache.hostPort}/${repo}`;
      const upstreamHost = chain.upstream.hostPort;
      const oldDigest = images.single.manifest.digest;
      await pushTo(upstreamHost, images.single.layout, 'lib/moving:v1');
      // The same image as a Docker schema 2 manifest: another digest to move the tag to.
      await pushTo(upstreamHost, `docker-archive:${images.single.archive}`, 'lib/moving:next');
      const next = await fetch(`${chain.upstream.url}/v2/lib/moving/manifests/next`, { headers: { Accept: manifestAccept } });
      const nextBytes = Buffer.from(await next.arrayBuffer());
      const newDigest = sha256(nextBytes);
      assert.notEqual(newDigest, oldDigest);

      const started = Date.now();
      assert.equal((await skopeoPull(ref('lib/moving:v1'), join(chain.dir, 'before'))).digest, oldDigest, 'cold pull');
      const cachedAt = Date.now();
      // Move the tag with one PUT, so the next pull comes well within tagttl.
      const moved = await fetch(`${chain.upstream.url}/v2/lib/moving/manifests/v1`, {
        method: 'PUT',
        headers: { 'Content-Type': next.headers.get('content-type')! },
        body: nextBytes,
      });
      assert.equal(moved.status, 201, await moved.text());
      assert.equal((await headManifest(chain.upstream.url, 'lib/moving', 'v1')).digest, newDigest, 'the tag moved upstream');

      const mark = chain.recorder.requests.length;
      const inspected = await sh('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${ref('lib/moving:v1')}`]);
      const elapsed = Date.now() - started;
      assert.ok(elapsed < tagTtlMs, `precondition: the pull within tagttl ended ${elapsed} ms after the cold pull began (tagttl ${tagTtlMs} ms)`);
      assert.equal(inspected.stdout.trim(), oldDigest, 'within tagttl the cache serves the digest it last saw');
      assert.equal(trafficSince(chain.recorder.requests, mark), '(none)', 'requests that reached the upstream within tagttl');

      await sleep(Math.max(0, cachedAt + tagTtlMs + 500 - Date.now()));
      const expired = await skopeoPull(ref('lib/moving:v1'), join(chain.dir, 'after'));
      assert.equal(expired.digest, newDigest, 'after tagttl the cache serves the moved tag');
      assert.ok(expired.bytes.equals(nextBytes), 'the new manifest, byte for byte');
      const asked = chain.recorder.requests.slice(mark).filter((r) => r.url === '/v2/lib/moving/manifests/v1');
      assert.ok(asked.length > 0, `the cache asked the upstream about the tag:\n${trafficSince(chain.recorder.requests, mark)}`);
    }),
  );
});

describe('the upstream stopped', () => {
  it(
    'still serves cached images by tag and digest, and fails an uncached one with 503 naming the upstream',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      // A short tagttl: when the upstream is gone, the cached tags are stale and must be served anyway.
      const chain = await chainForTest(t, 'down', { proxy: (remoteUrl) => proxySection({ remoteUrl, tagTtl: '1s' }) });
      const ref = (repo: string) => `${chain.cache.hostPort}/${repo}`;
      const { single, multi } = images;
      await pushTo(chain.upstream.hostPort, single.layout, 'lib/single:v1');
      await pushTo(chain.upstream.hostPort, multi.layout, 'lib/multi:list', { all: true });
      await pushTo(chain.upstream.hostPort, single.layout, 'lib/uncached:v1');
      await skopeoPull(ref('lib/single:v1'), join(chain.dir, 'warm-single'));
      await skopeoPull(ref('lib/multi:list'), join(chain.dir, 'warm-multi'), { all: true });

      await chain.upstream.stop();
      await chain.recorder.close();
      await sleep(1_500);

      assert.equal((await skopeoPull(ref('lib/single:v1'), join(chain.dir, 'tag'))).digest, single.manifest.digest, 'by tag');
      assert.equal((await skopeoPull(ref(`lib/single@${single.manifest.digest}`), join(chain.dir, 'digest'))).digest, single.manifest.digest);
      const index = await skopeoPull(ref('lib/multi:list'), join(chain.dir, 'multi'), { all: true });
      assert.equal(index.digest, multi.index.digest, 'the index by tag');
      assert.deepEqual(await pulledChildren(join(chain.dir, 'multi'), index), expectedChildren());
      const podman = await podmanFor(t, join(chain.dir, 'podman'));
      await podman('pull', '-q', '--tls-verify=false', ref('lib/single:v1'));
      assert.equal(await podmanDigest(podman, ref('lib/single:v1')), single.manifest.digest, 'podman by tag');

      const failed = await sh('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref('lib/uncached:v1')}`, `dir:${join(chain.dir, 'uncached')}`], {
        allowFailure: true,
      });
      assert.notEqual(failed.code, 0, 'pulling an uncached image must fail');
      // containers/image shows only the status of a 5xx answer; its message is checked below.
      assert.match(failed.stderr, /\b503 Service Unavailable\b/, 'skopeo shows that the cache could not serve it');

      const upstreamUrl = `http://${chain.recorder.hostPort}`;
      const manifest = await errorAnswer(`${chain.cache.url}/v2/lib/uncached/manifests/v1`, { headers: { Accept: manifestAccept } });
      assert.equal(manifest.status, 503, manifest.text);
      assert.equal(manifest.code, 'UNKNOWN', manifest.text);
      assert.ok(manifest.message?.includes(`upstream ${upstreamUrl}`) && manifest.message.includes('unreachable'), manifest.text);
      const uncachedBlob = sha256('never pushed anywhere');
      const blob = await errorAnswer(`${chain.cache.url}/v2/lib/single/blobs/${uncachedBlob}`);
      assert.equal(blob.status, 503, blob.text);
      assert.equal(blob.code, 'UNKNOWN', blob.text);
    }),
  );
});

describe('the upstream rate-limiting (429)', () => {
  it(
    'still serves cached images, and answers for an uncached one with 429 naming the upstream, with its Retry-After',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const chain = await chainForTest(t, 'limited', { proxy: (remoteUrl) => proxySection({ remoteUrl, tagTtl: '1s' }) });
      const ref = (repo: string) => `${chain.cache.hostPort}/${repo}`;
      const { single } = images;
      await pushTo(chain.upstream.hostPort, single.layout, 'lib/single:v1');
      await pushTo(chain.upstream.hostPort, single.layout, 'lib/uncached:v1');
      await skopeoPull(ref('lib/single:v1'), join(chain.dir, 'warm'));

      const limit = { errors: [{ code: 'TOOMANYREQUESTS', message: 'pull rate limit reached', detail: null }] };
      chain.recorder.refuse({ status: 429, headers: { 'Content-Type': 'application/json', 'Retry-After': '30' }, body: JSON.stringify(limit) });
      await sleep(1_500);
      const mark = chain.recorder.requests.length;
      assert.equal((await skopeoPull(ref('lib/single:v1'), join(chain.dir, 'stale'))).digest, single.manifest.digest, 'the cached tag, stale');
      const refused = chain.recorder.requests.slice(mark).filter((r) => r.status === 429);
      assert.ok(refused.length > 0, `the cache asked the upstream about the stale tag:\n${trafficSince(chain.recorder.requests, mark)}`);

      // containers/image retries 429 answers for a while, so the answer is checked directly.
      const limited = await errorAnswer(`${chain.cache.url}/v2/lib/uncached/manifests/v1`, { headers: { Accept: manifestAccept } });
      assert.equal(limited.status, 429, limited.text);
      assert.equal(limited.code, 'TOOMANYREQUESTS', limited.text);
      const named = limited.message?.includes(`upstream http://${chain.recorder.hostPort}`) && limited.message.includes('pull rate limit reached');
      assert.ok(named, `the message names the upstream and what it said: ${limited.text}`);
      assert.equal(limited.headers.get('retry-after'), '30', "the upstream's Retry-After");
    }),
  );
});

describe('a big layer through a cold cache, the upstream link slowed to 8 MiB/s', () => {
  /**
   * A cache chain whose upstream holds lib/big:v1, an image with one 48 MiB layer of random
   * bytes. Through the slowed link that layer takes about 6 s to come from the upstream: long
   * enough for clients to ask for it while it is on its way.
   */
  async function bigImageChain(t: TestContext, label: string) {
    const chain = await chainForTest(t, label, { slowLink: 8 * 1024 * 1024 });
    const big = await writeTestLayout(join(chain.dir, 'big'), [[{ name: 'big.bin', content: randomBytes(48 * 1024 * 1024) }]], 'v1');
    await pushTo(chain.upstream.hostPort, `oci:${join(chain.dir, 'big')}:v1`, 'lib/big:v1');
    return { chain, big, layer: big.layers[0]! };
  }

  it(
    'pulled by two clients at once, comes from the upstream once',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const { chain, big, layer } = await bigImageChain(t, 'big-twice');
      const ref = (repo: string) => `${chain.cache.hostPort}/${repo}`;
      const podman = await podmanFor(t, join(chain.dir, 'podman'));
      const [pulled] = await Promise.all([
        skopeoPull(ref('lib/big:v1'), join(chain.dir, 'skopeo'), { runOptions: { timeoutMs: 120_000 } }),
        podman('pull', '-q', '--tls-verify=false', ref('lib/big:v1')),
      ]);
      assert.equal(pulled.digest, big.manifest.digest, 'skopeo: manifest digest');
      const bytes = await readFile(join(chain.dir, 'skopeo', layer.digest.split(':')[1]!));
      assert.equal(sha256(bytes), layer.digest, 'skopeo: the big layer');
      assert.equal(await podmanDigest(podman, ref('lib/big:v1')), big.manifest.digest, 'podman: manifest digest');

      const clientGets = berthRequests(chain.cache).filter((r) => r.method === 'GET' && r.path === `/v2/lib/big/blobs/${layer.digest}`);
      const spans = JSON.stringify(clientGets.map(({ status, time, ms }) => ({ status, time, ms })));
      assert.ok(clientGets.length >= 2 && someOverlap(clientGets), `precondition: both clients were fetching the layer at once: ${spans}`);
      const upstreamGets = chain.recorder.requests.filter((r) => r.method === 'GET' && r.url.endsWith(`/blobs/${layer.digest}`));
      assert.equal(upstreamGets.length, 1, `upstream downloads of the layer:\n${trafficSince(chain.recorder.requests, 0)}`);
    }),
  );

  it(
    'reaches the first client while it is still coming from the upstream',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const { chain, layer } = await bigImageChain(t, 'big-stream');
      const hex = layer.digest.split(':')[1]!;
      // Where registry:2's layout keeps blob data: written only once the whole blob is verified.
      const stored = join(chain.cacheStorage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
      const response = await fetch(`${chain.cache.url}/v2/lib/big/blobs/${layer.digest}`, { signal: AbortSignal.timeout(120_000) });
      assert.equal(response.status, 200);
      const reader = response.body!.getReader();
      const hash = createHash('sha256');
      let received = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (received === 0) assert.equal(existsSync(stored), false, 'the first bytes came before the layer was stored whole');
        hash.update(value);
        received += value.length;
      }
      assert.equal(received, layer.size);
      assert.equal(`sha256:${hash.digest('hex')}`, layer.digest, 'the streamed bytes');
      const upstreamGets = chain.recorder.requests.filter((r) => r.method === 'GET' && r.url.endsWith(`/blobs/${layer.digest}`));
      assert.equal(upstreamGets.length, 1, trafficSince(chain.recorder.requests, 0));
    }),
  );
});

describe('several upstreams (proxy.upstreams), one a Berth with htpasswd', () => {
  it(
    'pulls hub/x from upstream x with the configured credentials, refuses pushes under hub/ and takes them elsewhere',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const dir = await mkdtemp(join(work, 'upstreams-'));
      defer(t, () => rm(dir, { recursive: true, force: true }));
      const htpasswd = join(dir, 'htpasswd');
      await sh('htpasswd', ['-Bbc', htpasswd, user.name, user.password]);
      const hub = (remoteUrl: string): CacheUpstream => ({ prefix: 'hub/', remoteUrl, username: user.name, password: user.password });
      const chain = await startChain(dir, (cleanup) => defer(t, cleanup), (source) => diag.watch(source, t), {
        kind: 'berth',
        upstreamConfig: ['auth:', '  htpasswd:', '    realm: berth-e2e-upstream', `    path: ${htpasswd}`],
        proxy: (remoteUrl) => proxySection({ upstreams: [hub(remoteUrl)] }),
      });
      const ref = (repo: string) => `${chain.cache.hostPort}/${repo}`;
      const digest = images.single.manifest.digest;
      const creds = `${user.name}:${user.password}`;
      await pushTo(chain.upstream.hostPort, images.single.layout, 'x/app:v1', { creds });
      assert.equal((await headManifest(chain.upstream.url, 'x/app', 'v1')).status, 401, 'the upstream wants credentials');

      assert.equal((await skopeoPull(ref('hub/x/app:v1'), join(dir, 'hub-pull'))).digest, digest, 'hub/x/app through the cache');
      const served = chain.recorder.requests.filter((r) => r.status === 200 && r.url.startsWith('/v2/x/app/manifests/'));
      assert.ok(served.length > 0, `the upstream served x/app to the cache:\n${trafficSince(chain.recorder.requests, 0)}`);

      // Any other repository is an ordinary one: push and pull back.
      await pushTo(chain.cache.hostPort, images.single.layout, 'team/app:v1');
      assert.equal((await headManifest(chain.cache.url, 'team/app', 'v1')).digest, digest, 'pushed to team/app');
      assert.equal((await skopeoPull(ref('team/app:v1'), join(dir, 'team-pull'))).digest, digest);

      const refused = await sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', images.single.layout, `docker://${ref('hub/x/app:v2')}`], {
        allowFailure: true,
      });
      assert.notEqual(refused.code, 0, 'a push under hub/ must fail');
      assert.match(refused.stderr, /unsupported/i);
      const upload = await errorAnswer(`${chain.cache.url}/v2/hub/x/app/blobs/uploads/`, { method: 'POST' });
      assert.equal(upload.status, 405, upload.text);
      assert.equal(upload.code, 'UNSUPPORTED', upload.text);
      const basic = `Basic ${Buffer.from(creds).toString('base64')}`;
      const upstreamV2 = await fetch(`${chain.upstream.url}/v2/x/app/manifests/v2`, { method: 'HEAD', headers: { Authorization: basic, Accept: manifestAccept } });
      assert.equal(upstreamV2.status, 404, 'nothing reached the upstream from the refused push');
    }),
  );
});
