import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digestBytes } from '../protocol/digest.js';
import { MemoryDriver } from '../storage/memory-driver.js';
import { Registry } from './registry.js';

test('cached manifest bytes own their memory instead of pinning a shared pool slab', async () => {
  const registry = new Registry(new MemoryDriver(), { deleteEnabled: false });
  // A small Buffer.from is a slice of Node's shared 8 KiB pool, as request bodies and file reads are.
  const pushed = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }));
  assert.ok(pushed.buffer.byteLength > pushed.length, 'the fixture must be a pooled slice for this test to mean anything');
  await registry.manifests.put('team/app', { tag: 'v1' }, pushed);

  const cached = await registry.manifests.read(digestBytes(pushed));
  assert.deepEqual(cached, pushed);
  assert.equal(cached.buffer.byteLength, cached.length);
});
