// Over HTTP: what clients see of a blob that online garbage collection has marked for deletion.
// The collector's steps (write the marker, delete the content) are done by hand through the driver.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseDigest } from '../../src/protocol/digest.js';
import { paths } from '../../src/storage/paths.js';
import { expectError } from '../helpers/http.js';
import { descriptorOf, imageManifest, mediaTypes, pushBlob, putManifest, uniqueBytes } from '../helpers/push.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

describe('blobs marked for deletion by online garbage collection', { timeout: 30_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startTestRegistry();
  });
  after(async () => {
    await registry.close();
  });

  const mark = async (digest: string) =>
    await registry.registry.driver.putContent(paths.blobDeletingMarker(parseDigest(digest)!), Buffer.from('collector'));
  const deleteContent = async (digest: string) => await registry.registry.driver.delete(paths.blobData(parseDigest(digest)!));

  test('HEAD answers 404 (so a pushing client uploads it again); GET still serves the content', async () => {
    const content = uniqueBytes(500);
    const { digest } = await pushBlob(registry.url, 'gc/head', content);
    await mark(digest);
    const head = await fetch(`${registry.url}/v2/gc/head/blobs/${digest}`, { method: 'HEAD' });
    await expectError(head, 404, 'BLOB_UNKNOWN', { head: true });
    const get = await fetch(`${registry.url}/v2/gc/head/blobs/${digest}`);
    assert.equal(get.status, 200);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), content);
  });

  test('a manifest naming a marked blob gets 400 MANIFEST_BLOB_UNKNOWN; after the client pushes the blob again it is taken', async () => {
    const config = await pushBlob(registry.url, 'gc/push', JSON.stringify({ os: 'linux', n: 1 }), mediaTypes.ociConfig);
    const layerContent = uniqueBytes(700);
    const layer = await pushBlob(registry.url, 'gc/push', layerContent, mediaTypes.ociLayer);
    const manifest = imageManifest(config, [layer]);
    await mark(layer.digest);
    await deleteContent(layer.digest);
    const refused = await putManifest(registry.url, 'gc/push', 'v1', manifest);
    const error = await expectError(refused, 400, 'MANIFEST_BLOB_UNKNOWN');
    assert.deepEqual(error?.detail, { digest: layer.digest });
    await expectError(await fetch(`${registry.url}/v2/gc/push/manifests/v1`), 404, 'MANIFEST_UNKNOWN');

    await pushBlob(registry.url, 'gc/push', layerContent, mediaTypes.ociLayer);
    assert.equal((await putManifest(registry.url, 'gc/push', 'v1', manifest)).status, 201);
    const pulled = await fetch(`${registry.url}/v2/gc/push/blobs/${layer.digest}`);
    assert.equal(pulled.status, 200);
    assert.deepEqual(Buffer.from(await pulled.arrayBuffer()), layerContent);
  });

  test('a cross-repository mount of a marked blob falls back to an upload session (202)', async () => {
    const content = uniqueBytes(300);
    const { digest } = await pushBlob(registry.url, 'gc/source', content);
    await mark(digest);
    const mount = await fetch(`${registry.url}/v2/gc/target/blobs/uploads/?mount=${digest}&from=gc/source`, { method: 'POST' });
    assert.equal(mount.status, 202, await mount.text());
    assert.ok(mount.headers.get('docker-upload-uuid'));
    const head = await fetch(`${registry.url}/v2/gc/target/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(head.status, 404, 'nothing was linked');
  });

  test('a mount of an unmarked blob still mounts (201)', async () => {
    const { digest } = await pushBlob(registry.url, 'gc/source', uniqueBytes(300));
    const mount = await fetch(`${registry.url}/v2/gc/target/blobs/uploads/?mount=${digest}&from=gc/source`, { method: 'POST' });
    assert.equal(mount.status, 201, await mount.text());
  });

  test('a monolithic upload of marked content unmarks it and keeps serving it', async () => {
    const content = uniqueBytes(400);
    const { digest } = descriptorOf('application/octet-stream', content);
    await pushBlob(registry.url, 'gc/reupload', content);
    await mark(digest);
    await pushBlob(registry.url, 'gc/reupload', content);
    assert.equal((await fetch(`${registry.url}/v2/gc/reupload/blobs/${digest}`, { method: 'HEAD' })).status, 200);
  });
});
