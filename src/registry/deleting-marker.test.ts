// The registry's half of online garbage collection: a blob marked for deletion
// (paths.blobDeletingMarker) is missing for new references, a push that raced with a mark is
// undone, and content uploaded again is unmarked. The collector's steps are done by hand here.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { digestBytes, type Digest } from '../protocol/digest.js';
import { RegistryError } from '../protocol/errors.js';
import { MemoryDriver } from '../storage/memory-driver.js';
import { paths } from '../storage/paths.js';
import { exists } from './links.js';
import { Registry } from './registry.js';

/** A memory driver that runs a hook just before a write to one path (a collector step in between). */
class HookedDriver extends MemoryDriver {
  hook?: { path: string; run: () => Promise<void> };

  override async putContent(path: string, content: Uint8Array): Promise<void> {
    const hook = this.hook;
    if (hook && hook.path === path) {
      this.hook = undefined;
      await hook.run();
    }
    await super.putContent(path, content);
  }
}

const layerType = 'application/vnd.oci.image.layer.v1.tar+gzip';
const configType = 'application/vnd.oci.image.config.v1+json';

async function setup() {
  const driver = new HookedDriver();
  const registry = new Registry(driver, { deleteEnabled: true });
  return { driver, registry };
}

async function pushBlob(registry: Registry, name: string, content: Buffer): Promise<Digest> {
  const digest = digestBytes(content);
  const id = await registry.uploads.start(name);
  await registry.uploads.complete(name, id, digest, { source: Readable.from([content]), options: {} });
  return digest;
}

function manifestOf(config: { digest: Digest; size: number }, layer: { digest: Digest; size: number }): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: configType, digest: config.digest.text, size: config.size },
      layers: [{ mediaType: layerType, digest: layer.digest.text, size: layer.size }],
    }),
  );
}

async function image(registry: Registry, name: string) {
  const configBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', n: Math.random() }));
  const layerBytes = Buffer.from(`layer ${Math.random()}`);
  const config = { digest: await pushBlob(registry, name, configBytes), size: configBytes.length };
  const layer = { digest: await pushBlob(registry, name, layerBytes), size: layerBytes.length, bytes: layerBytes };
  const manifest = manifestOf(config, layer);
  return { config, layer, manifest, digest: digestBytes(manifest) };
}

async function mark(driver: MemoryDriver, digest: Digest): Promise<void> {
  await driver.putContent(paths.blobDeletingMarker(digest), Buffer.from(new Date().toISOString()));
}

function isBlobUnknown(digest: Digest) {
  return (error: unknown) =>
    error instanceof RegistryError &&
    error.code === 'MANIFEST_BLOB_UNKNOWN' &&
    (error.detail as { digest?: string }).digest === digest.text;
}

describe('blobs marked for deletion by online garbage collection', () => {
  test('a manifest naming a marked blob is refused with MANIFEST_BLOB_UNKNOWN and nothing is written', async () => {
    const { driver, registry } = await setup();
    const { layer, manifest, digest } = await image(registry, 'app');
    await mark(driver, layer.digest);
    await assert.rejects(registry.manifests.put('app', { tag: 'v1' }, manifest), isBlobUnknown(layer.digest));
    assert.equal(await exists(driver, paths.revisionLink('app', digest)), false);
    assert.equal(await registry.tags.resolve('app', 'v1'), undefined);
  });

  test('a mark made between the check and the revision write undoes the push; pushing the blob again lets it through', async () => {
    const { driver, registry } = await setup();
    const { layer, manifest, digest } = await image(registry, 'app');
    driver.hook = { path: paths.revisionLink('app', digest), run: () => mark(driver, layer.digest) };
    await assert.rejects(registry.manifests.put('app', { tag: 'v1' }, manifest), isBlobUnknown(layer.digest));
    assert.equal(await exists(driver, paths.revisionLinkDirectory('app', digest)), false, 'the revision written is removed');
    assert.equal(await registry.tags.resolve('app', 'v1'), undefined, 'the tag was never set');

    await pushBlob(registry, 'app', layer.bytes);
    assert.equal(await registry.blobs.isMarkedForDeletion(layer.digest), false, 'the upload removed the marker');
    await registry.manifests.put('app', { tag: 'v1' }, manifest);
    assert.equal((await registry.tags.resolve('app', 'v1'))?.text, digest.text);
  });

  test('an undone push leaves a revision that existed before it, and the earlier tags', async () => {
    const { driver, registry } = await setup();
    const { layer, manifest, digest } = await image(registry, 'app');
    await registry.manifests.put('app', { tag: 'v1' }, manifest);
    driver.hook = { path: paths.revisionLink('app', digest), run: () => mark(driver, layer.digest) };
    await assert.rejects(registry.manifests.put('app', { tag: 'v2' }, manifest), isBlobUnknown(layer.digest));
    assert.equal((await registry.manifests.get('app', { digest })).digest.text, digest.text);
    assert.equal((await registry.tags.resolve('app', 'v1'))?.text, digest.text);
    assert.equal(await registry.tags.resolve('app', 'v2'), undefined);
  });

  test('an upload of marked content removes the marker and keeps the content', async () => {
    const { driver, registry } = await setup();
    const content = Buffer.from('kept by a new upload');
    const digest = await pushBlob(registry, 'app', content);
    await mark(driver, digest);
    await pushBlob(registry, 'other', content);
    assert.equal(await exists(driver, paths.blobDeletingMarker(digest)), false);
    assert.deepEqual(await driver.getContent(paths.blobData(digest)), content);
  });

  test('an upload of content the collector already deleted (marker still there) puts the new data in place', async () => {
    const { driver, registry } = await setup();
    const content = Buffer.from('deleted, then pushed again');
    const digest = await pushBlob(registry, 'app', content);
    await mark(driver, digest);
    await driver.delete(paths.blobData(digest));
    await pushBlob(registry, 'app', content);
    assert.equal(await exists(driver, paths.blobDeletingMarker(digest)), false);
    assert.deepEqual(await driver.getContent(paths.blobData(digest)), content);
    assert.equal((await registry.blobs.statInRepository('app', digest, { unmarked: true, uncached: true })).size, content.length);
  });

  test('a manifest pushed again whose own bytes were marked is unmarked (and rewritten when already deleted)', async () => {
    const { driver, registry } = await setup();
    const { manifest, digest } = await image(registry, 'app');
    await registry.manifests.put('app', { digest }, manifest);
    await registry.manifests.delete('app', { digest });
    await mark(driver, digest);
    await driver.delete(paths.blobData(digest));
    await registry.manifests.put('app', { tag: 'v1' }, manifest);
    assert.equal(await exists(driver, paths.blobDeletingMarker(digest)), false);
    assert.deepEqual((await registry.manifests.get('app', { tag: 'v1' })).bytes, manifest);
  });

  test('a marked blob is missing only when asked for unmarked', async () => {
    const { driver, registry } = await setup();
    const digest = await pushBlob(registry, 'app', Buffer.from('marked'));
    await mark(driver, digest);
    assert.equal((await registry.blobs.statInRepository('app', digest)).size, 6);
    await assert.rejects(registry.blobs.statInRepository('app', digest, { unmarked: true }), (error: unknown) => {
      return error instanceof RegistryError && error.code === 'BLOB_UNKNOWN';
    });
  });
});
