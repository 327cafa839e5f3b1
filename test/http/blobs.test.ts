import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectError } from '../helpers/http.js';
import { digestOf, pushBlob, uniqueBytes } from '../helpers/push.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

describe('blobs: pull, ranges, conditional requests, delete', { timeout: 30_000 }, () => {
  let registry: TestRegistry;
  let content: Buffer;
  let digest: string;
  let blobUrl: string;

  before(async () => {
    registry = await startTestRegistry();
    content = uniqueBytes(1000);
    digest = (await pushBlob(registry.url, 'blobs/pull', content)).digest;
    blobUrl = `${registry.url}/v2/blobs/pull/blobs/${digest}`;
  });
  after(async () => {
    await registry.close();
  });

  test('HEAD answers 200 with size, digest, ETag and Accept-Ranges, and no body', async () => {
    const response = await fetch(blobUrl, { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-length'), '1000');
    assert.equal(response.headers.get('docker-content-digest'), digest);
    assert.equal(response.headers.get('etag'), `"${digest}"`);
    assert.equal(response.headers.get('accept-ranges'), 'bytes');
    assert.equal(response.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.equal((await response.arrayBuffer()).byteLength, 0);
  });

  test('GET answers 200 with the exact content and the same headers', async () => {
    const response = await fetch(blobUrl);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-length'), '1000');
    assert.equal(response.headers.get('docker-content-digest'), digest);
    assert.equal(response.headers.get('etag'), `"${digest}"`);
    assert.equal(response.headers.get('accept-ranges'), 'bytes');
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), content);
  });

  test('Range bytes=a-b answers 206 with that slice and Content-Range', async () => {
    const response = await fetch(blobUrl, { headers: { Range: 'bytes=10-19' } });
    assert.equal(response.status, 206);
    assert.equal(response.headers.get('content-range'), 'bytes 10-19/1000');
    assert.equal(response.headers.get('content-length'), '10');
    assert.equal(response.headers.get('docker-content-digest'), digest);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), content.subarray(10, 20));
  });

  test('Range bytes=a- answers the rest of the blob', async () => {
    const response = await fetch(blobUrl, { headers: { Range: 'bytes=990-' } });
    assert.equal(response.status, 206);
    assert.equal(response.headers.get('content-range'), 'bytes 990-999/1000');
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), content.subarray(990));
  });

  test('Range bytes=-n answers the last n bytes', async () => {
    const response = await fetch(blobUrl, { headers: { Range: 'bytes=-5' } });
    assert.equal(response.status, 206);
    assert.equal(response.headers.get('content-range'), 'bytes 995-999/1000');
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), content.subarray(995));
  });

  test('a range that ends past the blob is cut at its end', async () => {
    const response = await fetch(blobUrl, { headers: { Range: 'bytes=900-5000' } });
    assert.equal(response.status, 206);
    assert.equal(response.headers.get('content-range'), 'bytes 900-999/1000');
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), content.subarray(900));
  });

  test('a suffix longer than the blob answers the whole blob as a range', async () => {
    const response = await fetch(blobUrl, { headers: { Range: 'bytes=-5000' } });
    assert.equal(response.status, 206);
    assert.equal(response.headers.get('content-range'), 'bytes 0-999/1000');
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), content);
  });

  test('an unsatisfiable range answers 416 with Content-Range bytes */size', async () => {
    for (const range of ['bytes=1000-', 'bytes=5000-6000', 'bytes=-0']) {
      const response = await fetch(blobUrl, { headers: { Range: range } });
      assert.equal(response.headers.get('content-range'), 'bytes */1000', range);
      await expectError(response, 416, 'RANGE_INVALID');
    }
  });

  test('a Range header that is not a single byte range is ignored (200, whole blob)', async () => {
    for (const range of ['items=0-5', 'bytes=0-1,5-9', 'bytes=9-1']) {
      const response = await fetch(blobUrl, { headers: { Range: range } });
      assert.equal(response.status, 200, range);
      assert.equal(response.headers.get('content-range'), null);
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), content);
    }
  });

  test('If-None-Match with the ETag answers 304 with no body, on GET and HEAD', async () => {
    for (const method of ['GET', 'HEAD']) {
      const response = await fetch(blobUrl, { method, headers: { 'If-None-Match': `"${digest}"` } });
      assert.equal(response.status, 304, method);
      // A Content-Length on a 304 would have to be the blob's size; none is sent.
      assert.equal(response.headers.get('content-length'), null);
      assert.equal(response.headers.get('etag'), `"${digest}"`);
      assert.equal(response.headers.get('docker-content-digest'), digest);
      assert.equal(response.headers.get('docker-distribution-api-version'), 'registry/2.0');
      assert.equal((await response.arrayBuffer()).byteLength, 0);
    }
  });

  test('If-None-Match with another ETag answers the blob', async () => {
    const response = await fetch(blobUrl, { headers: { 'If-None-Match': `"${digestOf('other')}"` } });
    assert.equal(response.status, 200);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), content);
  });

  test('an unknown blob is 404 BLOB_UNKNOWN on GET and HEAD', async () => {
    const unknown = `${registry.url}/v2/blobs/pull/blobs/${digestOf('never pushed')}`;
    const entry = await expectError(await fetch(unknown), 404, 'BLOB_UNKNOWN');
    assert.deepEqual(entry!.detail, { digest: digestOf('never pushed') });
    await expectError(await fetch(unknown, { method: 'HEAD' }), 404, 'BLOB_UNKNOWN', { head: true });
  });

  test('a blob of another repository is not visible in this one', async () => {
    await expectError(await fetch(`${registry.url}/v2/blobs/other/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
    await expectError(await fetch(`${registry.url}/v2/blobs/other/blobs/${digest}`, { method: 'HEAD' }), 404, 'BLOB_UNKNOWN', {
      head: true,
    });
    // A repository whose name starts with the other's is a different repository too.
    await expectError(await fetch(`${registry.url}/v2/blobs/pull/sub/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
  });

  test('a zero-length blob is served with Content-Length 0', async () => {
    const empty = await pushBlob(registry.url, 'blobs/pull', Buffer.alloc(0));
    const url = `${registry.url}/v2/blobs/pull/blobs/${empty.digest}`;
    const head = await fetch(url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '0');
    const get = await fetch(url);
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('docker-content-digest'), empty.digest);
    assert.equal((await get.arrayBuffer()).byteLength, 0);
    await expectError(await fetch(url, { headers: { Range: 'bytes=0-' } }), 416, 'RANGE_INVALID');
  });

  test('DELETE answers 202, then the blob is 404 in that repository only', async () => {
    const shared = uniqueBytes(100);
    const { digest: sharedDigest } = await pushBlob(registry.url, 'blobs/del-a', shared);
    await pushBlob(registry.url, 'blobs/del-b', shared);
    const url = `${registry.url}/v2/blobs/del-a/blobs/${sharedDigest}`;
    const deleted = await fetch(url, { method: 'DELETE' });
    assert.equal(deleted.status, 202);
    assert.equal(deleted.headers.get('docker-distribution-api-version'), 'registry/2.0');
    await expectError(await fetch(url, { method: 'HEAD' }), 404, 'BLOB_UNKNOWN', { head: true });
    await expectError(await fetch(url), 404, 'BLOB_UNKNOWN');
    await expectError(await fetch(url, { method: 'DELETE' }), 404, 'BLOB_UNKNOWN');
    const other = await fetch(`${registry.url}/v2/blobs/del-b/blobs/${sharedDigest}`);
    assert.equal(other.status, 200);
    assert.deepEqual(Buffer.from(await other.arrayBuffer()), shared);
  });

  test('DELETE of an unknown blob is 404 BLOB_UNKNOWN', async () => {
    await expectError(
      await fetch(`${registry.url}/v2/blobs/pull/blobs/${digestOf('nothing')}`, { method: 'DELETE' }),
      404,
      'BLOB_UNKNOWN',
    );
  });
});

describe('blobs with deletes disabled', { timeout: 30_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startTestRegistry({ deleteEnabled: false });
  });
  after(async () => {
    await registry.close();
  });

  test('DELETE answers 405 UNSUPPORTED and the blob stays', async () => {
    const { digest } = await pushBlob(registry.url, 'keep', uniqueBytes());
    const url = `${registry.url}/v2/keep/blobs/${digest}`;
    await expectError(await fetch(url, { method: 'DELETE' }), 405, 'UNSUPPORTED', { message: /delete/ });
    assert.equal((await fetch(url, { method: 'HEAD' })).status, 200);
  });
});
