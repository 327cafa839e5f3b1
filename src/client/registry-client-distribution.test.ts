import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bufferSource, pushImage, readStream, sha256 } from '../../test/helpers/client-content.js';
import { startDroppingProxy } from '../../test/helpers/client-proxy.js';
import { startRegistry, type RunningRegistry } from '../../test/e2e/support/registries.js';
import { RegistryError, TagDeleteUnsupportedError } from './registry-error.js';
import { RegistryClient } from './registry-client.js';

/** The same client against the reference registry (CNCF Distribution's `docker-registry`). */
describe('RegistryClient against docker-registry', { timeout: 120_000 }, () => {
  let work: string;
  let server: RunningRegistry;
  let client: RegistryClient;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-client-distribution-'));
    await mkdir(join(work, 'storage'));
    server = await startRegistry('docker-registry', join(work, 'storage'), work);
    client = new RegistryClient(server.hostPort, { insecure: true });
  });
  after(async () => {
    await client.close();
    await server.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('round-trips an image, with monolithic and chunked uploads and a ranged read', async () => {
    await client.ping();
    const { digest, layer } = await pushImage(client, 'dist/app', 'v1', 50_000);
    const got = await client.getManifest('dist/app', 'v1');
    assert.equal(got.descriptor.digest, digest);
    assert.deepEqual(await client.headManifest('dist/app', 'v1'), got.descriptor);
    assert.deepEqual(await readStream(await client.openBlob('dist/app', sha256(layer), { offset: 10 })), layer.subarray(10));
    const big = randomBytes(200_001);
    await client.uploadBlob('dist/app', { digest: sha256(big), size: big.length }, bufferSource(big), { chunkSize: 64 * 1024 });
    assert.equal(await client.statBlob('dist/app', sha256(big)), big.length);
    const missing = await client.getManifest('dist/app', 'nope').catch((e: unknown) => e);
    assert.ok(missing instanceof RegistryError && missing.code === 'MANIFEST_UNKNOWN', String(missing));
  });

  // Distribution cannot resume a session after a chunk cut short (BLOB_UPLOAD_INVALID): the
  // client starts a new session.
  it('recovers a chunked upload after the connection drops mid-chunk', async () => {
    const proxy = await startDroppingProxy(server.hostPort, 'PATCH', 40_000);
    const viaProxy = new RegistryClient(proxy.hostPort, { insecure: true });
    try {
      const blob = randomBytes(250_000);
      const source = bufferSource(blob);
      const opened: number[] = [];
      await viaProxy.uploadBlob('dist/resume', { digest: sha256(blob), size: blob.length }, (offset) => {
        opened.push(offset);
        return source(offset);
      }, { chunkSize: 100_000 });
      assert.equal(proxy.drops(), 1);
      assert.deepEqual(opened, [0, 0]);
      assert.deepEqual(await readStream(await client.openBlob('dist/resume', sha256(blob))), blob);
    } finally {
      await viaProxy.close();
      await proxy.close();
    }
  });

  it('mounts, pages tags and the catalog, deletes by digest, and names the digest when a tag alone cannot be deleted', async () => {
    const { layer, digest } = await pushImage(client, 'dist/src', 't0');
    assert.equal(await client.mountBlob('dist/dst', sha256(layer), 'dist/src'), true);
    assert.equal(await client.statBlob('dist/dst', sha256(layer)), layer.length);
    assert.equal(await client.mountBlob('dist/dst', sha256('unknown'), 'dist/src'), false);
    const manifest = await client.getManifest('dist/src', digest);
    for (const tag of ['t1', 't2', 't3', 't4']) await client.putManifest('dist/src', tag, manifest.bytes, manifest.descriptor.mediaType);
    // Distribution's pages are not in sorted order (it pages over its storage listing): compare the sets.
    assert.deepEqual((await client.tags('dist/src', { pageSize: 2 })).sort(), ['t0', 't1', 't2', 't3', 't4']);
    const catalog = await client.catalog({ pageSize: 2 });
    assert.deepEqual(catalog, await client.catalog());
    assert.ok(catalog.includes('dist/src') && catalog.includes('dist/app'));
    const other = await pushImage(client, 'dist/del', 'solo');
    await assert.rejects(client.deleteManifest('dist/del', 'solo'), (error: unknown) => {
      assert.ok(error instanceof TagDeleteUnsupportedError);
      assert.match(error.hint, new RegExp(`berth delete .*/dist/del@${other.digest}`));
      return true;
    });
    assert.ok(await client.headManifest('dist/del', other.digest), 'nothing was deleted');
    await client.deleteManifest('dist/src', digest);
    assert.equal(await client.headManifest('dist/src', 't3'), undefined);
  });
});
