import assert from 'node:assert/strict';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { openFilesUnder } from '../helpers/files.js';
import { pushBlob, uniqueBytes } from '../helpers/push.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

// Blob GETs from the filesystem go through reused send buffers (src/http/file-send.ts): these
// tests make several buffers' worth of bytes cross at once, and clients leave half way.
describe('blob downloads from the filesystem: reused buffers', { timeout: 60_000 }, () => {
  let registry: TestRegistry;
  const blobs: { content: Buffer; url: string }[] = [];

  before(async () => {
    registry = await startTestRegistry();
    for (const size of [5 * 1024 * 1024 + 17, 3 * 1024 * 1024 + 512 * 1024, 200_000]) {
      const content = uniqueBytes(size);
      const { digest } = await pushBlob(registry.url, 'download/big', content);
      blobs.push({ content, url: `${registry.url}/v2/download/big/blobs/${digest}` });
    }
  });
  after(async () => {
    await registry.close();
  });

  test('concurrent GETs of different blobs each get exactly their own bytes', async () => {
    const gets = [...blobs, ...blobs, ...blobs, ...blobs].map(async ({ content, url }) => {
      const response = await fetch(url);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-length'), String(content.length));
      assert.ok(Buffer.from(await response.arrayBuffer()).equals(content), `bytes of ${url}`);
    });
    await Promise.all(gets);
  });

  test('a range across buffer boundaries answers exactly that slice', async () => {
    const { content, url } = blobs[0]!;
    const response = await fetch(url, { headers: { Range: 'bytes=1048000-3200000' } });
    assert.equal(response.status, 206);
    assert.equal(response.headers.get('content-range'), `bytes 1048000-3200000/${content.length}`);
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(content.subarray(1048000, 3200001)));
  });

  test('clients that go away mid-download leave no open file, and the next GET is exact', async () => {
    const { content, url } = blobs[0]!;
    await fetch(url).then((response) => response.arrayBuffer()); // anything opened lazily is open now
    // A file is closed just after its answer ends: at rest the registry holds none open.
    const settled = async () => {
      for (let i = 0; i < 40 && openFilesUnder(registry.root) > 0; i++) await sleep(50);
      return openFilesUnder(registry.root);
    };
    assert.equal(await settled(), 0);
    await Promise.all([1, 2, 3, 4].map(() => readSomeThenLeave(url, 64 * 1024)));
    // The server sees the closes asynchronously: give it a bounded moment.
    assert.equal(await settled(), 0);
    const response = await fetch(url);
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(content));
  });
});

/** GETs url, reads at least `bytes` of the body, then destroys the connection. */
function readSomeThenLeave(url: string, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= bytes) {
          req.destroy();
          resolve();
        }
      });
      res.on('error', () => undefined);
    });
    req.on('error', (error) => ((error as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(error)));
    req.end();
  });
}
