// Eviction from the pull-through cache in `berth serve` as users run it (the compiled CLI, two
// workers: the workers record pulls, the primary evicts): an image pulled with skopeo through a
// cache with a short `proxy.ttl` is dropped once not pulled for that long, its blob data is
// reclaimed by the online collection the evictor starts, a layer that a pushed repository of the
// cache shares stays, and the next skopeo pull fetches the image from the upstream again.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { ensureBuilt } from '../helpers/compiled-cli.js';
import { pushImage, uniqueBytes, type PushedManifest } from '../helpers/push.js';
import { freePort, spawnRegistry } from '../helpers/registry-server.js';
import { startRegistry } from './support/registries.js';
import { run } from './support/run.js';
import { waitFor } from '../helpers/wait.js';

before(() => ensureBuilt(), { timeout: 180_000 });

/** The blob data file of a digest under a filesystem storage root. */
function blobFile(storage: string, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

async function present(path: string): Promise<boolean> {
  return await stat(path).then(
    () => true,
    () => false,
  );
}

function blobsOf(image: PushedManifest): string[] {
  const parsed = JSON.parse(image.bytes.toString()) as { config: { digest: string }; layers: { digest: string }[] };
  return [parsed.config.digest, ...parsed.layers.map((layer) => layer.digest)];
}

describe('proxy cache eviction in berth serve', { timeout: 180_000 }, () => {
  test('ttl: skopeo pulls through the cache, the image is evicted and collected after the ttl (a shared layer stays), and pulls again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-e2e-evict-'));
    const upstreamStorage = join(dir, 'upstream');
    const cacheStorage = join(dir, 'cache');
    await mkdir(upstreamStorage);
    await mkdir(cacheStorage);
    // A Berth upstream: the test pushes to it with monolithic uploads, which docker-registry lacks.
    const upstream = await startRegistry('berth', upstreamStorage, dir);
    const port = await freePort();
    const config = [
      'version: 0.1',
      'log:',
      '  level: info',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${cacheStorage}`,
      '  maintenance:',
      '    gc:',
      '      grace: 0s',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      'proxy:',
      // The evictor runs every 10 s (its shortest interval); 3 s of ttl are long over by then.
      '  ttl: 3s',
      '  upstreams:',
      '    - prefix: hub/',
      `      remoteurl: ${upstream.url}`,
      '',
    ].join('\n');
    const cache = await spawnRegistry('berth', config, dir, port, { REGISTRY_HTTP_WORKERS: '2' });
    try {
      const shared = uniqueBytes(128 * 1024);
      const image = await pushImage(upstream.url, 'smoke/app', 'v1', { layers: [shared, uniqueBytes(256 * 1024)] });
      // An ordinary repository of the cache holds the same base layer: it must survive eviction and GC.
      await pushImage(cache.url, 'team/base', 'v1', { layers: [shared] });
      const [config_, sharedLayer, ownLayer] = blobsOf(image) as [string, string, string];

      const pull = async (into: string) =>
        await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${cache.hostPort}/hub/smoke/app:v1`, `oci:${join(dir, into)}:v1`], {
          timeoutMs: 60_000,
        });
      await pull('first');
      await waitFor('the layer is in the cache', () => present(blobFile(cacheStorage, ownLayer)), { intervalMs: 250 });

      await waitFor('evicted and collected', async () => !(await present(blobFile(cacheStorage, ownLayer))), { timeoutMs: 60_000, intervalMs: 250 });
      for (const digest of [image.digest, config_]) assert.equal(await present(blobFile(cacheStorage, digest)), false, digest);
      assert.ok(await present(blobFile(cacheStorage, sharedLayer)), 'the layer team/base shares stays');
      assert.match(cache.output(), /proxy cache: evicted/);
      const tags = await fetch(`${cache.url}/v2/team/base/tags/list`);
      assert.equal(tags.status, 200);

      await pull('second');
      await waitFor('the layer is cached again', () => present(blobFile(cacheStorage, ownLayer)), { intervalMs: 250 });
    } finally {
      await cache.stop();
      await upstream.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
