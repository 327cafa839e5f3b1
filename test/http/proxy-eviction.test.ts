import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { proxySchema } from '../../src/config/sections/proxy.js';
import { collectGarbage } from '../../src/gc/collector.js';
import { collectOnce } from '../../src/gc/scheduler.js';
import { parseDigest, type Digest } from '../../src/protocol/digest.js';
import { CacheEvictor, evictCache } from '../../src/proxy/cache-evictor.js';
import { PullLog, readPullTimes } from '../../src/proxy/pull-record.js';
import { PullThrough } from '../../src/proxy/pull-through.js';
import { upstreamsFromConfig, type Upstreams } from '../../src/proxy/upstreams.js';
import { type StorageDriver } from '../../src/storage/driver.js';
import { exists } from '../../src/registry/links.js';
import { FilesystemDriver } from '../../src/storage/filesystem-driver.js';
import { paths } from '../../src/storage/paths.js';
import { digestOf, pushImage, uniqueBytes, type PushedManifest } from '../helpers/push.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Eviction from the pull-through cache with real pulls: an upstream Berth, a caching Berth whose
 * `proxy.upstreams` maps `hub/` to it (other names are ordinary repositories), and the cache's
 * PullLog on a clock the test moves. Eviction rounds are run by the test, not on a timer.
 */
const minute = 60_000;
const silent = pino({ level: 'silent' });

interface Setup {
  upstream: TestRegistry;
  cache: TestRegistry;
  driver: StorageDriver;
  upstreams: Upstreams;
  /** `proxy.maxsize` as parsed. */
  maxBytes: number | undefined;
  pulls: PullLog;
  clock: { now: number };
  /** The upstream goes down (connections refused from now on). */
  stopUpstream(): Promise<void>;
  close(): Promise<void>;
}

async function setup(proxy: Record<string, unknown>): Promise<Setup> {
  const upstream = await startTestRegistry();
  const root = await mkdtemp(join(tmpdir(), 'berth-proxy-evict-'));
  const driver = new FilesystemDriver(root);
  const clock = { now: Date.now() };
  const pulls = new PullLog(driver, { now: () => clock.now });
  const config = proxySchema.parse({ upstreams: [{ prefix: 'hub/', remoteurl: upstream.url }], ...proxy })!;
  // The evictor's own view of the upstreams (serve builds one for it too).
  const upstreams = upstreamsFromConfig(config);
  const cache = await startTestRegistry({ root, driver, pullThrough: (registry) => new PullThrough(registry, upstreamsFromConfig(config), { pulls }) });
  let upstreamDown = false;
  const stopUpstream = async () => {
    if (upstreamDown) return;
    upstreamDown = true;
    await upstream.close();
  };
  return {
    upstream,
    cache,
    driver,
    upstreams,
    maxBytes: config.maxsize,
    pulls,
    clock,
    stopUpstream,
    close: async () => {
      await cache.close();
      await stopUpstream();
      await upstreams.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

function blobsOf(image: PushedManifest): Digest[] {
  const parsed = JSON.parse(image.bytes.toString()) as { config: { digest: string }; layers: { digest: string }[] };
  return [parsed.config.digest, ...parsed.layers.map((layer) => layer.digest)].map((text) => parseDigest(text)!);
}

/** A pull as a client makes it: the manifest by tag, then every blob; every byte is checked. */
async function pull(registry: TestRegistry, name: string, tag: string, image: PushedManifest): Promise<void> {
  const manifest = await fetch(`${registry.url}/v2/${name}/manifests/${tag}`);
  const bytes = Buffer.from(await manifest.arrayBuffer());
  assert.equal(manifest.status, 200, bytes.toString());
  assert.ok(bytes.equals(image.bytes));
  for (const digest of blobsOf(image)) {
    const blob = await fetch(`${registry.url}/v2/${name}/blobs/${digest.text}`);
    const content = Buffer.from(await blob.arrayBuffer());
    assert.equal(blob.status, 200, content.toString());
    assert.equal(digestOf(content), digest.text);
  }
}


describe('proxy cache eviction over HTTP', { timeout: 60_000 }, () => {
  test('ttl: an image not pulled within it is dropped and collected (a layer a pushed image shares survives); the next pull fetches it again', async () => {
    const s = await setup({ ttl: '1h' });
    try {
      const shared = uniqueBytes(4096);
      const app = await pushImage(s.upstream.url, 'library/app', 'v1', { layers: [shared, uniqueBytes(8192)] });
      const other = await pushImage(s.upstream.url, 'library/other', 'v1', { layers: [uniqueBytes(2048)] });
      // An ordinary repository of the cache, pushed to directly, with the same base layer.
      const pushed = await pushImage(s.cache.url, 'team/app', 'v1', { layers: [shared] });
      await pull(s.cache, 'hub/library/app', 'v1', app);
      await pull(s.cache, 'hub/library/other', 'v1', other);
      // 50 minutes later only `other` is pulled again.
      s.clock.now += 50 * minute;
      await pull(s.cache, 'hub/library/other', 'v1', other);
      await s.pulls.flush();

      const { times } = await readPullTimes(s.driver);
      const result = await evictCache(s.driver, times, {
        ttlOf: (name) => s.upstreams.resolve(name)?.upstream.ttlMs,
        now: () => s.clock.now + 30 * minute,
      });
      assert.deepEqual(
        result.evicted.map((item) => [item.repository, item.digest, item.reason, item.tags]),
        [['hub/library/app', app.digest, 'ttl', ['v1']]],
      );
      const catalog = (await (await fetch(`${s.cache.url}/v2/_catalog`)).json()) as { repositories: string[] };
      assert.deepEqual(catalog.repositories, ['hub/library/other', 'team/app']);

      const gc = await collectGarbage(s.driver);
      const [appConfig, sharedLayer, ownLayer] = blobsOf(app);
      assert.deepEqual(gc.deletedBlobs.sort(), [app.digest, appConfig!.text, ownLayer!.text].sort());
      assert.ok(await exists(s.driver, paths.blobData(sharedLayer!)));
      await pull(s.cache, 'team/app', 'v1', pushed);
      await pull(s.cache, 'hub/library/other', 'v1', other);

      // Pulled again: fetched from the upstream into the cache once more.
      await pull(s.cache, 'hub/library/app', 'v1', app);
      // The first client gets the bytes while they are written: the commit may come just after.
      await waitFor('the layer is cached again', () => exists(s.driver, paths.blobData(ownLayer!)));
      assert.ok(await exists(s.driver, paths.revisionLink('hub/library/app', parseDigest(app.digest)!)));
    } finally {
      await s.close();
    }
  });

  test('maxsize: the scheduled evictor drops the least recently pulled image, reclaims its data, and the rest is still served with the upstream down', async () => {
    const layerBytes = 64 * 1024;
    // Room for two of the three images (each a 64 KiB layer plus a small config and manifest).
    const s = await setup({ ttl: '0s', maxsize: String(2 * layerBytes + 8 * 1024) });
    try {
      const images = new Map<string, PushedManifest>();
      for (const name of ['a', 'b', 'c']) images.set(name, await pushImage(s.upstream.url, `library/${name}`, 'v1', { layers: [uniqueBytes(layerBytes)] }));
      // Pulled a, b, c, then a again: b is the least recently pulled.
      for (const name of ['a', 'b', 'c', 'a']) {
        await pull(s.cache, `hub/library/${name}`, 'v1', images.get(name)!);
        s.clock.now += minute;
      }
      const evictor = new CacheEvictor(
        s.driver,
        {
          ttlOf: (name) => s.upstreams.resolve(name)?.upstream.ttlMs,
          maxBytes: s.maxBytes,
          now: () => s.clock.now,
          intervalMs: 60 * minute,
          localPulls: s.pulls,
          reclaim: {
            run: async () => {
              await collectOnce(s.driver, { graceMs: 0, dryRun: false, deleteUntagged: false }, silent, (digest) => s.cache.registry.blobs.forget(digest));
            },
            graceMs: 0,
          },
        },
        silent,
      );
      const result = await evictor.runOnce();
      await evictor.stop();
      assert.ok(result);
      assert.deepEqual(
        result.evicted.map((item) => [item.repository, item.reason]),
        [['hub/library/b', 'maxsize']],
      );
      assert.equal(s.maxBytes, 2 * layerBytes + 8 * 1024);
      assert.ok(result.remainingBytes <= s.maxBytes);
      for (const digest of [parseDigest(images.get('b')!.digest)!, ...blobsOf(images.get('b')!)]) {
        assert.equal(await exists(s.driver, paths.blobData(digest)), false, `reclaimed ${digest.text}`);
      }
      // The upstream goes away: what stayed is served from the cache alone; b is gone for good.
      await s.stopUpstream();
      await pull(s.cache, 'hub/library/a', 'v1', images.get('a')!);
      await pull(s.cache, 'hub/library/c', 'v1', images.get('c')!);
      const gone = await fetch(`${s.cache.url}/v2/hub/library/b/manifests/v1`);
      assert.equal(gone.status, 503);
    } finally {
      await s.close();
    }
  });
});
