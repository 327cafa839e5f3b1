import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { collectGarbage } from '../gc/collector.js';
import { listing, pushBlob, pushImage, pushIndex, testRegistry, type PushedImage } from '../gc/testing/fixtures.js';
import { RegistryError } from '../protocol/errors.js';
import type { Registry } from '../registry/registry.js';
import { exists } from '../registry/links.js';
import { MemoryDriver } from '../storage/memory-driver.js';
import { paths } from '../storage/paths.js';
import { CacheEvictor, evictCache, evictionInterval } from './cache-evictor.js';
import { PullLog, pullKey, readPullTimes, type PullTimes } from './pull-record.js';

const minute = 60_000;
const hour = 60 * minute;
/** The evictor's clock: two hours after everything the test stores (link times are real time). */
const later = () => Date.now() + 2 * hour;
/** Repositories under `hub/` are proxied with a one-hour ttl; the rest are ordinary. */
const hubOnly = (ttlMs: number) => (name: string) => (name.startsWith('hub/') ? ttlMs : undefined);
const silent = pino({ level: 'silent' });


async function manifestCode(registry: Registry, name: string, tag: string): Promise<string | undefined> {
  try {
    await registry.manifests.get(name, { tag });
    return undefined;
  } catch (error) {
    assert.ok(error instanceof RegistryError);
    return error.code;
  }
}

/** Bytes an image holds: manifest, config and layers. */
function imageBytes(image: PushedImage, layers: string[], config: string): number {
  return image.bytes.length + Buffer.byteLength(config) + layers.reduce((sum, layer) => sum + Buffer.byteLength(layer), 0);
}

function pulledAt(entries: [string, PushedImage | { text: string }, number][]): PullTimes {
  return new Map(entries.map(([repository, item, time]) => [pullKey(repository, 'manifest' in item ? item.manifest.text : item.text), time]));
}

describe('proxy cache eviction', () => {
  test('ttl drops what was not pulled within it (tags, revision, layer links) and keeps what was; GC then reclaims only the dropped data', async () => {
    const driver = new MemoryDriver();
    const registry = testRegistry(driver);
    const shared = 'base layer shared with an ordinary repository';
    const stale = await pushImage(registry, 'hub/library/app', { tag: 'old', layers: [shared, 'stale only', 'used by both'] });
    const fresh = await pushImage(registry, 'hub/library/app', { tag: 'new', layers: ['fresh only', 'used by both'] });
    const ordinary = await pushImage(registry, 'team/app', { tag: 'v1', layers: [shared] });
    const now = later();
    const pulls = pulledAt([['hub/library/app', fresh, now - 10 * minute]]);

    const result = await evictCache(driver, pulls, { ttlOf: hubOnly(hour), now: () => now });
    assert.deepEqual(
      result.evicted.map((item) => [item.repository, item.digest, item.kind, item.reason, item.tags]),
      [['hub/library/app', stale.manifest.text, 'manifest', 'ttl', ['old']]],
    );
    assert.equal(await manifestCode(registry, 'hub/library/app', 'old'), 'MANIFEST_UNKNOWN');
    assert.deepEqual((await registry.manifests.get('hub/library/app', { tag: 'new' })).digest, fresh.manifest);
    assert.equal(await exists(driver, paths.revisionLink('hub/library/app', stale.manifest)), false);
    // Layer links: the stale image's own go, the one the fresh image uses too stays.
    for (const digest of [stale.config, stale.layers[0]!, stale.layers[1]!]) {
      assert.equal(await exists(driver, paths.layerLink('hub/library/app', digest)), false, digest.text);
    }
    assert.ok(await exists(driver, paths.layerLink('hub/library/app', stale.layers[2]!)));
    assert.equal(result.layerLinksRemoved, 3);
    // Nothing of the ordinary repository was touched, even long unpulled.
    assert.deepEqual((await registry.manifests.get('team/app', { tag: 'v1' })).digest, ordinary.manifest);
    assert.deepEqual(result.kept, pulls);

    const gc = await collectGarbage(driver);
    assert.deepEqual(gc.deletedBlobs.sort(), [stale.manifest.text, stale.config.text, stale.layers[1]!.text].sort());
    assert.ok(await exists(driver, paths.blobData(stale.layers[0]!)), 'the blob shared with team/app survives');
    for (const digest of [fresh.manifest, fresh.config, ...fresh.layers]) assert.ok(await exists(driver, paths.blobData(digest)), digest.text);
  });

  test('without a recorded pull, the time content was cached counts; ttl 0 keeps everything', async () => {
    const driver = new MemoryDriver();
    const registry = testRegistry(driver);
    const image = await pushImage(registry, 'hub/app', { tag: 'v1', layers: ['x'] });
    // An hour and a half after caching, with a two-hour ttl: still young.
    assert.deepEqual((await evictCache(driver, new Map(), { ttlOf: hubOnly(2 * hour), now: () => Date.now() + 90 * minute })).evicted, []);
    assert.deepEqual((await evictCache(driver, new Map(), { ttlOf: hubOnly(0), now: () => Date.now() + 1000 * hour })).evicted, []);
    const result = await evictCache(driver, new Map(), { ttlOf: hubOnly(hour), now: later });
    assert.deepEqual(result.evicted.map((item) => item.digest), [image.manifest.text]);
  });

  test('maxsize drops the least recently pulled first, only as much as needed, and ends under the cap', async () => {
    const driver = new MemoryDriver();
    const registry = testRegistry(driver);
    const layer = (label: string) => `${label}:`.padEnd(1000, label[0]);
    const images: { name: string; image: PushedImage; bytes: number }[] = [];
    for (const name of ['hub/a', 'hub/b', 'hub/c', 'hub/d']) {
      const layers = [layer(`${name} one`), layer(`${name} two`)];
      const config = `{"config":"${name}:v1:${layers.join(',')}"}`;
      const image = await pushImage(registry, name, { tag: 'v1', layers, config });
      images.push({ name, image, bytes: imageBytes(image, layers, config) });
    }
    // Content an ordinary repository also holds frees nothing when dropped: not counted.
    await pushImage(registry, 'team/d', { tag: 'v1', layers: [layer('hub/d one')] });
    const now = Date.now();
    // Pulled in the order c, a, d, b (b most recently).
    const order = ['hub/c', 'hub/a', 'hub/d', 'hub/b'];
    const pulls = pulledAt(order.map((name, i) => [name, images.find((x) => x.name === name)!.image, now + i * minute]));
    const total = images.reduce((sum, x) => sum + x.bytes, 0) - 1000;
    const byName = (name: string) => images.find((x) => x.name === name)!;
    // Room for about two and a half images: c and a must go, d and b stay.
    const maxBytes = byName('hub/d').bytes + byName('hub/b').bytes + 500;

    const dry = await evictCache(driver, pulls, { ttlOf: hubOnly(0), maxBytes, now: () => now + 10 * minute, dryRun: true });
    const before = await listing(driver);
    const result = await evictCache(driver, pulls, { ttlOf: hubOnly(0), maxBytes, now: () => now + 10 * minute });
    assert.deepEqual(dry.evicted, result.evicted);
    assert.equal(result.cachedBytes, total);
    assert.deepEqual(
      result.evicted.map((item) => [item.repository, item.reason]),
      [
        ['hub/c', 'maxsize'],
        ['hub/a', 'maxsize'],
      ],
    );
    assert.ok(result.remainingBytes <= maxBytes, `${result.remainingBytes} <= ${maxBytes}`);
    assert.equal(result.remainingBytes, total - byName('hub/c').bytes - byName('hub/a').bytes);
    assert.notDeepEqual(await listing(driver), before);
    assert.equal(await manifestCode(registry, 'hub/c', 'v1'), 'NAME_UNKNOWN', 'an emptied repository leaves the catalog');
    assert.deepEqual(result.removedRepositories, ['hub/a', 'hub/c']);
    assert.deepEqual(await registry.catalog.all(), ['hub/b', 'hub/d', 'team/d']);
    // Under the cap now: a second round drops nothing.
    assert.deepEqual((await evictCache(driver, pulls, { ttlOf: hubOnly(0), maxBytes, now: () => now + 10 * minute })).evicted, []);

    const gc = await collectGarbage(driver);
    const reclaimed = new Set(gc.deletedBlobs);
    for (const name of ['hub/a', 'hub/c']) {
      const { image } = byName(name);
      for (const digest of [image.manifest, image.config, ...image.layers]) assert.ok(reclaimed.has(digest.text), `${name} ${digest.text}`);
    }
    assert.equal(gc.deletedBlobs.length, 8);
  });

  test('a dry run reports and changes nothing', async () => {
    const driver = new MemoryDriver();
    const registry = testRegistry(driver);
    await pushImage(registry, 'hub/app', { tag: 'v1', layers: ['x', 'y'] });
    await pushBlob(registry, 'hub/app', 'a blob pulled without its manifest');
    const before = await listing(driver);
    const result = await evictCache(driver, new Map(), { ttlOf: hubOnly(hour), maxBytes: 1, now: later, dryRun: true });
    assert.equal(result.evicted.length, 2);
    assert.equal(result.layerLinksRemoved, 4, 'config, two layers and the loose blob');
    assert.deepEqual(await listing(driver), before);
  });

  test('blobs linked without a cached manifest expire on their own; index children are items of their own', async () => {
    const driver = new MemoryDriver();
    const registry = testRegistry(driver);
    const amd = await pushImage(registry, 'hub/multi', { layers: ['amd64'] });
    const arm = await pushImage(registry, 'hub/multi', { layers: ['arm64'] });
    const index = await pushIndex(registry, 'hub/multi', 'latest', [amd, arm]);
    const loose = await pushBlob(registry, 'hub/multi', 'a blob no cached manifest names');
    const now = later();
    // The index and the amd64 image were pulled lately, the arm64 image and the loose blob not.
    const pulls = pulledAt([
      ['hub/multi', { text: index.text }, now - minute],
      ['hub/multi', amd, now - minute],
    ]);
    const result = await evictCache(driver, pulls, { ttlOf: hubOnly(hour), now: () => now });
    assert.deepEqual(
      result.evicted.map((item) => [item.kind, item.digest]).sort(),
      [
        ['blob', loose.text],
        ['manifest', arm.manifest.text],
      ].sort(),
    );
    assert.equal(await exists(driver, paths.layerLink('hub/multi', loose)), false);
    assert.equal(await exists(driver, paths.layerLink('hub/multi', arm.layers[0]!)), false);
    assert.ok(await exists(driver, paths.layerLink('hub/multi', amd.layers[0]!)));
    assert.deepEqual((await registry.manifests.get('hub/multi', { tag: 'latest' })).digest, index);
  });

  test('the scheduled evictor merges pulls of every process, flushes its own, saves what stays and reclaims after evicting', async () => {
    const driver = new MemoryDriver();
    const registry = testRegistry(driver);
    const kept = await pushImage(registry, 'hub/kept', { tag: 'v1', layers: ['kept'] });
    const dropped = await pushImage(registry, 'hub/dropped', { tag: 'v1', layers: ['dropped'] });
    const now = later();
    // Another worker's pull, already in storage; this process's, still in memory.
    const worker = new PullLog(driver, { now: () => now - 5 * minute });
    worker.record('hub/kept', kept.config.text, 7);
    await worker.flush();
    const local = new PullLog(driver, { now: () => now - minute });
    local.record('hub/kept', kept.manifest.text, kept.bytes.length);
    let reclaimed = 0;
    let clock = now;
    const evictor = new CacheEvictor(
      driver,
      {
        ttlOf: hubOnly(hour),
        now: () => clock,
        intervalMs: hour,
        localPulls: local,
        reclaim: { run: async () => void reclaimed++, graceMs: 30 * minute },
      },
      silent,
    );
    const result = await evictor.runOnce();
    assert.deepEqual(result?.evicted.map((item) => item.repository), ['hub/dropped']);
    assert.equal(reclaimed, 1);
    assert.equal(await manifestCode(registry, 'hub/dropped', 'v1'), 'NAME_UNKNOWN');
    assert.deepEqual((await registry.manifests.get('hub/kept', { tag: 'v1' })).digest, kept.manifest);
    // The merged table keeps the pull of what stays; the segments it merged are gone.
    const saved = await readPullTimes(driver);
    assert.deepEqual(saved.segments, []);
    assert.deepEqual([...saved.times], [[pullKey('hub/kept', kept.manifest.text), now - minute]]);
    // Nothing left to drop: no reclaim until the collector's grace has passed since the eviction, then one.
    clock = now + 10 * minute;
    await evictor.runOnce();
    assert.equal(reclaimed, 1);
    clock = now + 31 * minute;
    await evictor.runOnce();
    assert.equal(reclaimed, 2);
    clock = now + 50 * minute;
    await evictor.runOnce();
    assert.equal(reclaimed, 2);
    await evictor.stop();
    assert.equal(await exists(driver, paths.layerLink('hub/dropped', dropped.layers[0]!)), false);
  });

  test('the scheduled evictor reads each cached manifest once, not every round', async () => {
    const blobReads: string[] = [];
    const driver = new (class extends MemoryDriver {
      override async getContent(path: string): Promise<Buffer> {
        if (path.startsWith(paths.blobsRoot)) blobReads.push(path);
        return await super.getContent(path);
      }
    })();
    const registry = testRegistry(driver);
    const image = await pushImage(registry, 'hub/app', { tag: 'v1', layers: ['x'] });
    const evictor = new CacheEvictor(driver, { ttlOf: hubOnly(0), maxBytes: 1_000_000, intervalMs: hour }, silent);
    blobReads.length = 0;
    const first = await evictor.runOnce();
    assert.deepEqual(blobReads, [paths.blobData(image.manifest)]);
    const second = await evictor.runOnce();
    assert.deepEqual(blobReads, [paths.blobData(image.manifest)], 'the second round used what the first read');
    assert.equal(second?.cachedBytes, first?.cachedBytes);
    assert.ok((first?.cachedBytes ?? 0) > image.bytes.length);
    await evictor.stop();
  });

  test('evictionInterval: a quarter of the shortest ttl, between 10 seconds and 10 minutes', () => {
    assert.equal(evictionInterval([168 * hour]), 10 * minute);
    assert.equal(evictionInterval([0, 4 * minute, hour]), minute);
    assert.equal(evictionInterval([1000]), 10_000);
    assert.equal(evictionInterval([0]), 10 * minute);
  });
});
