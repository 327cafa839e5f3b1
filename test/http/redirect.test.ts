import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { MemoryDriver } from '../../src/storage/memory-driver.js';
import { pushBlob, uniqueBytes } from '../helpers/push.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

/** A driver that can hand out store URLs, as the S3 and Azure drivers do (presigned, SAS). */
class RedirectingDriver extends MemoryDriver {
  async redirectURL(path: string): Promise<string> {
    return `http://store.invalid${path}?signature=test`;
  }
}

describe('storage.redirect', { timeout: 30_000 }, () => {
  const started: TestRegistry[] = [];
  after(async () => {
    for (const registry of started) await registry.close();
  });

  test('a blob GET answers 307 to the store; HEAD stays local', async () => {
    const registry = await startTestRegistry({ driver: new RedirectingDriver(), redirect: true });
    started.push(registry);
    const content = uniqueBytes(100);
    const { digest } = await pushBlob(registry.url, 'r/app', content);
    const hex = digest.slice('sha256:'.length);

    const get = await fetch(`${registry.url}/v2/r/app/blobs/${digest}`, { redirect: 'manual' });
    assert.equal(get.status, 307);
    assert.equal(get.headers.get('location'), `http://store.invalid/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data?signature=test`);
    assert.equal(get.headers.get('docker-content-digest'), digest);

    const head = await fetch(`${registry.url}/v2/r/app/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '100');
  });

  test('an unknown blob is still a 404, never a redirect', async () => {
    const registry = await startTestRegistry({ driver: new RedirectingDriver(), redirect: true });
    started.push(registry);
    const response = await fetch(`${registry.url}/v2/r/app/blobs/sha256:${'0'.repeat(64)}`, { redirect: 'manual' });
    assert.equal(response.status, 404);
  });

  test('with redirect disabled the registry serves the bytes itself', async () => {
    const registry = await startTestRegistry({ driver: new RedirectingDriver(), redirect: false });
    started.push(registry);
    const content = uniqueBytes(100);
    const { digest } = await pushBlob(registry.url, 'r/app', content);
    const response = await fetch(`${registry.url}/v2/r/app/blobs/${digest}`, { redirect: 'manual' });
    assert.equal(response.status, 200);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), content);
  });
});
