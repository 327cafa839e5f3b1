// storage.cache.blobdescriptor (inmemory and redis): blob sizes come from the cache instead of a
// stat of the content, links always from storage, and the cache never outlives deleted content.
// The redis variant needs BERTH_TEST_REDIS_ADDR (scripts/services/redis-up.sh, started by npm test).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { RedisDescriptorCache } from '../../src/cache/redis-descriptor-cache.js';
import { parseDigest } from '../../src/protocol/digest.js';
import { MemoryDescriptorCache, type BlobDescriptorCache } from '../../src/registry/blob-descriptor-cache.js';
import type { FileInfo, StorageDriver } from '../../src/storage/driver.js';
import { FilesystemDriver } from '../../src/storage/filesystem-driver.js';
import { paths } from '../../src/storage/paths.js';
import { pushBlob, uniqueBytes } from '../helpers/push.js';
import { freePort, startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

const silent = pino({ level: 'silent' });

/** The cache under test; each call is another replica's connection to the same store (redis) or a process of its own (inmemory). */
const kinds: Record<string, () => BlobDescriptorCache> = {
  inmemory: () => new MemoryDescriptorCache(),
  redis: () => {
    const addr = process.env.BERTH_TEST_REDIS_ADDR;
    assert.ok(
      addr,
      'BERTH_TEST_REDIS_ADDR is not set: the redis blob descriptor cache tests need a redis-server (npm test starts one with scripts/services/redis-up.sh)',
    );
    return new RedisDescriptorCache({ addrs: [addr] }, silent);
  },
};

/**
 * A filesystem driver that counts stats of blob content (not of links, uploads, or the garbage
 * collection marker that a HEAD looks for).
 */
class CountingDriver extends FilesystemDriver {
  contentStats = 0;
  override async stat(path: string): Promise<FileInfo> {
    if (path.includes('/blobs/') && path.endsWith('/data')) this.contentStats++;
    return await super.stat(path);
  }
}

const started: TestRegistry[] = [];
after(async () => {
  for (const registry of started) await registry.close();
});

async function replica(cache: BlobDescriptorCache, root?: string, driver?: StorageDriver): Promise<TestRegistry> {
  const registry = await startTestRegistry({ blobDescriptors: cache, root, driver });
  started.push(registry);
  return registry;
}

const head = async (registry: TestRegistry, name: string, digest: string) =>
  (await fetch(`${registry.url}/v2/${name}/blobs/${digest}`, { method: 'HEAD' })).status;

for (const [kind, make] of Object.entries(kinds)) {
  describe(`storage.cache.blobdescriptor: ${kind}`, () => {
    test('HEAD and GET of a known blob take its size from the cache, not from a stat', async () => {
      const first = await replica(make());
      const driver = new CountingDriver(first.root);
      const registry = await replica(make(), first.root, driver);
      const content = uniqueBytes(3000);
      const blob = await pushBlob(registry.url, 'cache/hit', content);
      driver.contentStats = 0;
      for (let i = 0; i < 3; i++) assert.equal(await head(registry, 'cache/hit', blob.digest), 200);
      const response = await fetch(`${registry.url}/v2/cache/hit/blobs/${blob.digest}`);
      assert.equal(response.status, 200);
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), content);
      assert.equal(response.headers.get('content-length'), String(content.length));
      assert.equal(driver.contentStats, 0, 'no stat of the blob content once its size is cached');
    });

    test('a link deleted through another replica is seen at once: 404', async () => {
      const a = await replica(make());
      const b = await replica(make(), a.root);
      const blob = await pushBlob(a.url, 'cache/unlinked', uniqueBytes(500));
      assert.equal(await head(b, 'cache/unlinked', blob.digest), 200);
      const deleted = await fetch(`${a.url}/v2/cache/unlinked/blobs/${blob.digest}`, { method: 'DELETE' });
      assert.equal(deleted.status, 202);
      assert.equal(await head(b, 'cache/unlinked', blob.digest), 404);
      assert.equal((await fetch(`${b.url}/v2/cache/unlinked/blobs/${blob.digest}`)).status, 404);
    });

    test('BlobStore.forget after a content delete: the replica that cached the size goes back to storage', async () => {
      const a = await replica(make());
      // inmemory is per process: only the replica that deletes can forget. redis is shared.
      const b = kind === 'redis' ? await replica(make(), a.root) : a;
      const blob = await pushBlob(a.url, 'cache/collected', uniqueBytes(700));
      assert.equal(await head(b, 'cache/collected', blob.digest), 200);
      const digest = parseDigest(blob.digest)!;
      // What garbage collection does: remove the content, then invalidate.
      await a.registry.driver.delete(paths.blobData(digest).replace(/\/data$/, ''));
      await a.registry.blobs.forget(digest);
      assert.equal(await head(b, 'cache/collected', blob.digest), 404);
    });
  });
}

describe('storage.cache.blobdescriptor: redis unreachable', () => {
  test('the registry works from storage and says so in the log', async () => {
    const port = await freePort(); // nothing listens there
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const cache = new RedisDescriptorCache({ addrs: [`127.0.0.1:${port}`], dialTimeoutMs: 500 }, log);
    const registry = await replica(cache);
    const content = uniqueBytes(1200);
    const blob = await pushBlob(registry.url, 'cache/down', content);
    assert.equal(await head(registry, 'cache/down', blob.digest), 200);
    const response = await fetch(`${registry.url}/v2/cache/down/blobs/${blob.digest}`);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), content);
    assert.equal(await head(registry, 'cache/down', `sha256:${'0'.repeat(64)}`), 404);
    assert.ok(lines.some((line) => line.includes('redis blob descriptor cache is unreachable')), lines.join(''));
  });
});
