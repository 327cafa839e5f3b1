import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout } from 'node:timers/promises';
import { listTree } from '../helpers/files.js';
import { expectError, fetchBody, rawRequest } from '../helpers/http.js';
import { digestOf, locationOf, pushBlob, startUpload, uniqueBytes, withDigest } from '../helpers/push.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function patch(location: URL, body: Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return await fetch(location, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/octet-stream', ...headers },
    body: fetchBody(body),
  });
}

async function put(url: URL, body?: Buffer, headers: Record<string, string> = {}): Promise<Response> {
  const init: RequestInit = { method: 'PUT', headers };
  if (body) {
    init.headers = { 'Content-Type': 'application/octet-stream', ...headers };
    init.body = fetchBody(body);
  }
  return await fetch(url, init);
}

/** Asserts a progress answer (202 to PATCH, 204 to GET) and returns the location it names. */
function assertProgress(response: Response, status: number, location: URL, received: number): void {
  assert.equal(response.status, status);
  assert.equal(response.headers.get('location'), location.pathname);
  assert.equal(response.headers.get('range'), `0-${Math.max(received - 1, 0)}`);
  assert.equal(response.headers.get('docker-upload-uuid'), location.pathname.split('/').at(-1));
  assert.equal(response.headers.get('docker-distribution-api-version'), 'registry/2.0');
}

async function assertBlob(base: string, name: string, content: Buffer, algorithm: 'sha256' | 'sha512' = 'sha256'): Promise<void> {
  const digest = digestOf(content, algorithm);
  const response = await fetch(`${base}/v2/${name}/blobs/${digest}`);
  assert.equal(response.status, 200, `blob ${digest} is not in ${name}`);
  assert.equal(response.headers.get('docker-content-digest'), digest);
  assert.deepEqual(Buffer.from(await response.arrayBuffer()), content);
}

/** Asserts a 201 "blob created" answer. */
function assertCreated(response: Response, name: string, digest: string): void {
  assert.equal(response.status, 201);
  assert.equal(response.headers.get('location'), `/v2/${name}/blobs/${digest}`);
  assert.equal(response.headers.get('docker-content-digest'), digest);
}

describe('blob uploads', { timeout: 60_000 }, () => {
  let registry: TestRegistry;
  let url: string;
  before(async () => {
    registry = await startTestRegistry();
    url = registry.url;
  });
  after(async () => {
    await registry.close();
  });

  describe('starting a session', () => {
    test('POST answers 202 with Location, Range 0-0 and Docker-Upload-UUID', async () => {
      const response = await fetch(`${url}/v2/up/start/blobs/uploads/`, { method: 'POST' });
      assert.equal(response.status, 202);
      const location = response.headers.get('location')!;
      const match = /^\/v2\/up\/start\/blobs\/uploads\/([^/]+)$/.exec(location);
      assert.ok(match, location);
      assert.match(match[1]!, uuidPattern);
      assert.equal(response.headers.get('range'), '0-0');
      assert.equal(response.headers.get('docker-upload-uuid'), match[1]);
      assert.equal(response.headers.get('content-length'), '0');
    });

    test('POST without the trailing slash starts a session too', async () => {
      const response = await fetch(`${url}/v2/up/start/blobs/uploads`, { method: 'POST' });
      assert.equal(response.status, 202);
      assert.match(response.headers.get('location')!, /^\/v2\/up\/start\/blobs\/uploads\/[0-9a-f-]{36}$/);
    });

    test('each POST gets its own session', async () => {
      const a = await startUpload(url, 'up/start');
      const b = await startUpload(url, 'up/start');
      assert.notEqual(a.pathname, b.pathname);
    });
  });

  describe('monolithic upload in a single POST', () => {
    test('POST ?digest= with the body answers 201 and stores the blob', async () => {
      const content = uniqueBytes(3000);
      const digest = digestOf(content);
      const response = await fetch(`${url}/v2/up/mono/blobs/uploads/?digest=${digest}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/octet-stream' },
        body: fetchBody(content),
      });
      assertCreated(response, 'up/mono', digest);
      await assertBlob(url, 'up/mono', content);
      assert.deepEqual(await listTree(join(registry.root, 'docker/registry/v2/repositories/up/mono/_uploads')), []);
    });

    test('POST ?digest= with the wrong digest answers 400 DIGEST_INVALID and stores nothing', async () => {
      const blobsBefore = await listTree(join(registry.root, 'docker/registry/v2/blobs'));
      const content = uniqueBytes(100);
      const claimed = digestOf('something else');
      const response = await fetch(`${url}/v2/up/mono/blobs/uploads/?digest=${claimed}`, { method: 'POST', body: fetchBody(content) });
      const entry = await expectError(response, 400, 'DIGEST_INVALID');
      assert.deepEqual(entry!.detail, { expected: claimed, actual: digestOf(content) });
      for (const digest of [claimed, digestOf(content)]) {
        await expectError(await fetch(`${url}/v2/up/mono/blobs/${digest}`, { method: 'HEAD' }), 404, 'BLOB_UNKNOWN', { head: true });
      }
      assert.deepEqual(await listTree(join(registry.root, 'docker/registry/v2/blobs')), blobsBefore);
      assert.deepEqual(await listTree(join(registry.root, 'docker/registry/v2/repositories/up/mono/_uploads')), []);
    });

    test('POST ?digest= with a malformed digest answers 400 DIGEST_INVALID', async () => {
      for (const digest of ['sha256:abc', 'md5:d41d8cd98f00b204e9800998ecf8427e', 'nonsense']) {
        const response = await fetch(`${url}/v2/up/mono/blobs/uploads/?digest=${digest}`, { method: 'POST', body: 'x' });
        await expectError(response, 400, 'DIGEST_INVALID');
      }
    });
  });

  describe('cross-repository mount', () => {
    test('mount from a repository that has the blob answers 201 and links it', async () => {
      const content = uniqueBytes();
      const { digest } = await pushBlob(url, 'mount/source', content);
      await expectError(await fetch(`${url}/v2/mount/target/blobs/${digest}`, { method: 'HEAD' }), 404, 'BLOB_UNKNOWN', { head: true });
      const response = await fetch(`${url}/v2/mount/target/blobs/uploads/?mount=${digest}&from=mount/source`, { method: 'POST' });
      assertCreated(response, 'mount/target', digest);
      await assertBlob(url, 'mount/target', content);
    });

    test('mount from a repository that lacks the blob answers 202 with a usable session', async () => {
      const content = uniqueBytes();
      const { digest } = await pushBlob(url, 'mount/elsewhere', content);
      const response = await fetch(`${url}/v2/mount/target2/blobs/uploads/?mount=${digest}&from=mount/empty-source`, {
        method: 'POST',
      });
      const location = locationOf(response, url);
      assertProgress(response, 202, location, 0);
      assert.match(location.pathname, /^\/v2\/mount\/target2\/blobs\/uploads\/[0-9a-f-]{36}$/);
      await expectError(await fetch(`${url}/v2/mount/target2/blobs/${digest}`, { method: 'HEAD' }), 404, 'BLOB_UNKNOWN', { head: true });
      assertCreated(await put(withDigest(location, digest), content), 'mount/target2', digest);
      await assertBlob(url, 'mount/target2', content);
    });

    test('mount of an unknown digest or from an invalid name falls back to a session (202)', async () => {
      for (const query of [`?mount=${digestOf('never pushed')}&from=mount/source`, `?mount=${digestOf('x')}&from=..%2F..%2Fetc`, '?mount=garbage&from=mount/source']) {
        const response = await fetch(`${url}/v2/mount/target3/blobs/uploads/${query}`, { method: 'POST' });
        assert.equal(response.status, 202, query);
        assert.equal(response.headers.get('range'), '0-0');
        assert.match(response.headers.get('location')!, /^\/v2\/mount\/target3\/blobs\/uploads\/[0-9a-f-]{36}$/);
      }
    });
  });

  describe('chunked upload with PATCH', () => {
    test('PATCH with Content-Range answers 202 with Range 0-<last>; PUT without body completes', async () => {
      const content = uniqueBytes(30);
      const location = await startUpload(url, 'up/chunks');
      assertProgress(await patch(location, content.subarray(0, 10), { 'Content-Range': '0-9' }), 202, location, 10);
      assertProgress(await patch(location, content.subarray(10, 25), { 'Content-Range': '10-24' }), 202, location, 25);
      assertProgress(await patch(location, content.subarray(25), { 'Content-Range': '25-29' }), 202, location, 30);
      const digest = digestOf(content);
      assertCreated(await put(withDigest(location, digest)), 'up/chunks', digest);
      await assertBlob(url, 'up/chunks', content);
    });

    test('PATCH without Content-Range appends a streamed chunk', async () => {
      const content = uniqueBytes(2 * 1024 * 1024 + 17);
      const location = await startUpload(url, 'up/stream');
      assertProgress(await patch(location, content.subarray(0, 1_000_000)), 202, location, 1_000_000);
      assertProgress(await patch(location, content.subarray(1_000_000)), 202, location, content.length);
      const digest = digestOf(content);
      assertCreated(await put(withDigest(location, digest)), 'up/stream', digest);
      await assertBlob(url, 'up/stream', content);
    });

    test('PATCH with Transfer-Encoding: chunked and no length is accepted', async () => {
      const pieces = [uniqueBytes(1000), uniqueBytes(70_000), uniqueBytes(3)];
      const content = Buffer.concat(pieces);
      const location = await startUpload(url, 'up/te-chunked');
      const response = await rawRequest(url, {
        method: 'PATCH',
        path: location.pathname,
        headers: { 'Content-Type': 'application/octet-stream' },
        body: pieces,
      });
      assertProgress(response, 202, location, content.length);
      const digest = digestOf(content);
      assertCreated(await put(withDigest(location, digest)), 'up/te-chunked', digest);
      await assertBlob(url, 'up/te-chunked', content);
    });

    test('the RFC 9110 form "bytes a-b/total" of Content-Range is taken too', async () => {
      const content = uniqueBytes(20);
      const location = await startUpload(url, 'up/chunks');
      assertProgress(await patch(location, content.subarray(0, 10), { 'Content-Range': 'bytes 0-9/*' }), 202, location, 10);
      assertProgress(await patch(location, content.subarray(10), { 'Content-Range': 'bytes 10-19/20' }), 202, location, 20);
      assertCreated(await put(withDigest(location, digestOf(content))), 'up/chunks', digestOf(content));
    });

    test('an out-of-order or overlapping chunk answers 416 with Range and Location; the session goes on', async () => {
      const content = uniqueBytes(40);
      const location = await startUpload(url, 'up/order');
      assertProgress(await patch(location, content.subarray(0, 10), { 'Content-Range': '0-9' }), 202, location, 10);

      const cases: [string, Buffer][] = [
        ['20-29', content.subarray(20, 30)], // a gap
        ['0-9', content.subarray(0, 10)], // the same chunk again
        ['5-14', content.subarray(5, 15)], // overlapping
        ['11-20', content.subarray(11, 21)], // one byte too far
      ];
      for (const [range, chunk] of cases) {
        const response = await patch(location, chunk, { 'Content-Range': range });
        assertProgress(response, 416, location, 10);
        const entry = await expectError(response, 416, 'BLOB_UPLOAD_INVALID');
        assert.deepEqual(entry!.detail, { offset: 10 });
      }
      assertProgress(await fetch(location), 204, location, 10);
      assertProgress(await patch(location, content.subarray(10, 30), { 'Content-Range': '10-29' }), 202, location, 30);
      const digest = digestOf(content);
      assertCreated(await put(withDigest(location, digest), content.subarray(30), { 'Content-Range': '30-39' }), 'up/order', digest);
      await assertBlob(url, 'up/order', content);
    });

    test('a final chunk out of order in the closing PUT answers 416; the session goes on', async () => {
      const content = uniqueBytes(20);
      const digest = digestOf(content);
      const location = await startUpload(url, 'up/order');
      assertProgress(await patch(location, content.subarray(0, 10)), 202, location, 10);
      const refused = await put(withDigest(location, digest), content.subarray(12), { 'Content-Range': '12-19' });
      assertProgress(refused, 416, location, 10);
      await expectError(refused, 416, 'BLOB_UPLOAD_INVALID');
      assertCreated(await put(withDigest(location, digest), content.subarray(10), { 'Content-Range': '10-19' }), 'up/order', digest);
      await assertBlob(url, 'up/order', content);
    });

    test('a Content-Range that disagrees with Content-Length, or is malformed, answers 416 with Range', async () => {
      const location = await startUpload(url, 'up/order');
      for (const range of ['0-9', 'bytes=abc', '5-2']) {
        const response = await patch(location, uniqueBytes(5), { 'Content-Range': range });
        assertProgress(response, 416, location, 0);
        await expectError(response, 416, 'BLOB_UPLOAD_INVALID');
        const closing = await put(withDigest(location, digestOf('x')), uniqueBytes(5), { 'Content-Range': range });
        assertProgress(closing, 416, location, 0);
        await expectError(closing, 416, 'BLOB_UPLOAD_INVALID');
      }
      assertProgress(await fetch(location), 204, location, 0);
    });

    test('of two chunks sent at once for the same range, one is taken and the other answers 416', async () => {
      const content = uniqueBytes(20);
      const location = await startUpload(url, 'up/race');
      assertProgress(await patch(location, content.subarray(0, 10), { 'Content-Range': '0-9' }), 202, location, 10);
      const answers = await Promise.all([
        patch(location, content.subarray(10), { 'Content-Range': '10-19' }),
        patch(location, content.subarray(10), { 'Content-Range': '10-19' }),
      ]);
      assert.deepEqual(answers.map((a) => a.status).sort(), [202, 416]);
      for (const answer of answers) assertProgress(answer, answer.status, location, 20);
      assertCreated(await put(withDigest(location, digestOf(content))), 'up/race', digestOf(content));
      await assertBlob(url, 'up/race', content);
    });

    test('an interrupted chunk keeps what arrived; the upload resumes from the offset GET reports', async () => {
      const content = uniqueBytes(300_000);
      const sent = 100_000;
      const location = await startUpload(url, 'up/interrupted');
      const cut = request({
        host: '127.0.0.1',
        port: Number(new URL(url).port),
        method: 'PATCH',
        path: location.pathname,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': content.length },
        agent: false,
      });
      cut.on('error', () => undefined); // the connection is cut on purpose
      cut.write(content.subarray(0, sent));
      // Wait (boundedly) until the server has stored every byte sent, then cut the connection.
      for (let attempt = 0; ; attempt++) {
        if ((await fetch(location)).headers.get('range') === `0-${sent - 1}`) break;
        assert.ok(attempt < 1000, 'the first bytes of the chunk never reached storage');
        await setTimeout(10);
      }
      cut.destroy();
      // The next chunk waits for the cut one to end, and the digest is recomputed from storage.
      const rest = await patch(location, content.subarray(sent), { 'Content-Range': `${sent}-${content.length - 1}` });
      assertProgress(rest, 202, location, content.length);
      assertCreated(await put(withDigest(location, digestOf(content))), 'up/interrupted', digestOf(content));
      await assertBlob(url, 'up/interrupted', content);
    });
  });

  describe('completing with PUT', () => {
    test('PUT ?digest= with the whole blob as body answers 201 with Location and digest', async () => {
      const content = uniqueBytes(500);
      const digest = digestOf(content);
      const location = await startUpload(url, 'up/put');
      assertCreated(await put(withDigest(location, digest), content), 'up/put', digest);
      await assertBlob(url, 'up/put', content);
    });

    test('PUT ?digest= with a final chunk after PATCHes answers 201', async () => {
      const content = uniqueBytes(500);
      const digest = digestOf(content);
      const location = await startUpload(url, 'up/put');
      assertProgress(await patch(location, content.subarray(0, 200)), 202, location, 200);
      assertCreated(await put(withDigest(location, digest), content.subarray(200)), 'up/put', digest);
      await assertBlob(url, 'up/put', content);
    });

    test('content that is already stored is linked, not stored twice', async () => {
      const content = uniqueBytes(400);
      const digest = digestOf(content);
      await pushBlob(url, 'up/dedupe-a', content);
      const location = await startUpload(url, 'up/dedupe-b');
      assertCreated(await put(withDigest(location, digest), content), 'up/dedupe-b', digest);
      await assertBlob(url, 'up/dedupe-a', content);
      await assertBlob(url, 'up/dedupe-b', content);
      const hex = digest.slice('sha256:'.length);
      const stored = (await listTree(join(registry.root, 'docker/registry/v2/blobs'))).filter((path) => path.includes(hex));
      assert.deepEqual(stored, [`sha256/${hex.slice(0, 2)}/${hex}/`, `sha256/${hex.slice(0, 2)}/${hex}/data`]);
    });

    test('a completed session is gone', async () => {
      const content = uniqueBytes();
      const location = await startUpload(url, 'up/put');
      assertCreated(await put(withDigest(location, digestOf(content)), content), 'up/put', digestOf(content));
      await expectError(await fetch(location), 404, 'BLOB_UPLOAD_UNKNOWN');
      await expectError(await put(withDigest(location, digestOf(content)), content), 404, 'BLOB_UPLOAD_UNKNOWN');
    });

    test('a wrong digest answers 400 DIGEST_INVALID, stores nothing and ends the session', async () => {
      const blobsBefore = await listTree(join(registry.root, 'docker/registry/v2/blobs'));
      const content = uniqueBytes(300);
      const claimed = digestOf(uniqueBytes());
      const location = await startUpload(url, 'up/wrong');
      assertProgress(await patch(location, content), 202, location, 300);
      const entry = await expectError(await put(withDigest(location, claimed)), 400, 'DIGEST_INVALID');
      assert.deepEqual(entry!.detail, { expected: claimed, actual: digestOf(content) });
      for (const digest of [claimed, digestOf(content)]) {
        await expectError(await fetch(`${url}/v2/up/wrong/blobs/${digest}`, { method: 'HEAD' }), 404, 'BLOB_UNKNOWN', { head: true });
      }
      assert.deepEqual(await listTree(join(registry.root, 'docker/registry/v2/blobs')), blobsBefore);
      await expectError(await fetch(location), 404, 'BLOB_UPLOAD_UNKNOWN');
      assert.deepEqual(await listTree(join(registry.root, 'docker/registry/v2/repositories/up/wrong/_uploads')), []);
    });

    test('PUT without a digest answers 400 DIGEST_INVALID and the session stays', async () => {
      const content = uniqueBytes(50);
      const location = await startUpload(url, 'up/nodigest');
      assertProgress(await patch(location, content), 202, location, 50);
      await expectError(await put(location), 400, 'DIGEST_INVALID', { message: /digest/ });
      await expectError(await put(new URL(`${location.href}?digest=sha256:1234`)), 400, 'DIGEST_INVALID');
      assertProgress(await fetch(location), 204, location, 50);
      assertCreated(await put(withDigest(location, digestOf(content))), 'up/nodigest', digestOf(content));
    });
  });

  describe('status and cancel', () => {
    test('GET of a session answers 204 with Range and Location', async () => {
      const location = await startUpload(url, 'up/status');
      const empty = await fetch(location);
      assertProgress(empty, 204, location, 0);
      // A 204 has no content, so it must not carry Content-Length (RFC 9110 §8.6).
      assert.equal(empty.headers.get('content-length'), null);
      assert.equal(empty.headers.get('transfer-encoding'), null);
      assert.equal(await empty.text(), '');
      assertProgress(await patch(location, uniqueBytes(123)), 202, location, 123);
      assertProgress(await fetch(location), 204, location, 123);
    });

    test('DELETE answers 204; the session is then unknown to every method', async () => {
      const location = await startUpload(url, 'up/cancel');
      assertProgress(await patch(location, uniqueBytes(10)), 202, location, 10);
      const deleted = await fetch(location, { method: 'DELETE' });
      assert.equal(deleted.status, 204);
      assert.equal(deleted.headers.get('content-length'), null);
      assert.equal(deleted.headers.get('docker-distribution-api-version'), 'registry/2.0');
      const entry = await expectError(await fetch(location), 404, 'BLOB_UPLOAD_UNKNOWN');
      assert.deepEqual(entry!.detail, { uuid: location.pathname.split('/').at(-1) });
      await expectError(await patch(location, uniqueBytes(10)), 404, 'BLOB_UPLOAD_UNKNOWN');
      await expectError(await put(withDigest(location, digestOf('x')), Buffer.from('x')), 404, 'BLOB_UPLOAD_UNKNOWN');
      await expectError(await fetch(location, { method: 'DELETE' }), 404, 'BLOB_UPLOAD_UNKNOWN');
      assert.deepEqual(await listTree(join(registry.root, 'docker/registry/v2/repositories/up/cancel/_uploads')), []);
    });

    test('unknown and garbage upload ids answer 404 BLOB_UPLOAD_UNKNOWN', async () => {
      const ids = [
        '00000000-0000-4000-8000-000000000000',
        'garbage',
        'ABCDEF01-0000-4000-8000-000000000000',
        'x'.repeat(300),
      ];
      for (const id of ids) {
        const location = new URL(`${url}/v2/up/ids/blobs/uploads/${id}`);
        await expectError(await fetch(location), 404, 'BLOB_UPLOAD_UNKNOWN');
        await expectError(await patch(location, Buffer.from('data')), 404, 'BLOB_UPLOAD_UNKNOWN');
        await expectError(await put(withDigest(location, digestOf('data')), Buffer.from('data')), 404, 'BLOB_UPLOAD_UNKNOWN');
        await expectError(await fetch(location, { method: 'DELETE' }), 404, 'BLOB_UPLOAD_UNKNOWN');
      }
    });

    test('a session is bound to its repository', async () => {
      const location = await startUpload(url, 'up/owner');
      const elsewhere = new URL(location.pathname.replace('/v2/up/owner/', '/v2/up/thief/'), url);
      await expectError(await fetch(elsewhere), 404, 'BLOB_UPLOAD_UNKNOWN');
      await expectError(await patch(elsewhere, uniqueBytes()), 404, 'BLOB_UPLOAD_UNKNOWN');
      assertProgress(await fetch(location), 204, location, 0);
    });
  });

  describe('zero-length and sha512 blobs', () => {
    const empty = Buffer.alloc(0);

    test('a zero-length blob in a single POST', async () => {
      const digest = digestOf(empty);
      const response = await fetch(`${url}/v2/up/empty/blobs/uploads/?digest=${digest}`, { method: 'POST' });
      assertCreated(response, 'up/empty', digest);
      await assertBlob(url, 'up/empty', empty);
    });

    test('a zero-length blob by POST then PUT with no body', async () => {
      const digest = digestOf(empty);
      const location = await startUpload(url, 'up/empty2');
      assertCreated(await put(withDigest(location, digest)), 'up/empty2', digest);
      const head = await fetch(`${url}/v2/up/empty2/blobs/${digest}`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), '0');
    });

    test('digest-algorithm=sha512 session completed with a sha512 digest', async () => {
      const content = uniqueBytes(1000);
      const digest = digestOf(content, 'sha512');
      const location = await startUpload(url, 'up/sha512', '?digest-algorithm=sha512');
      assertProgress(await patch(location, content.subarray(0, 400)), 202, location, 400);
      assertProgress(await patch(location, content.subarray(400)), 202, location, 1000);
      assertCreated(await put(withDigest(location, digest)), 'up/sha512', digest);
      await assertBlob(url, 'up/sha512', content, 'sha512');
      const head = await fetch(`${url}/v2/up/sha512/blobs/${digest}`, { method: 'HEAD' });
      assert.equal(head.headers.get('content-length'), '1000');
    });

    test('a sha256 session completed with PUT ?digest=sha512: is checked with sha512', async () => {
      const content = uniqueBytes(600);
      const digest = digestOf(content, 'sha512');
      const location = await startUpload(url, 'up/sha512');
      assertProgress(await patch(location, content), 202, location, 600);
      assertCreated(await put(withDigest(location, digest)), 'up/sha512', digest);
      await assertBlob(url, 'up/sha512', content, 'sha512');
    });

    test('a single POST with ?digest=sha512:', async () => {
      const content = uniqueBytes(300);
      const digest = digestOf(content, 'sha512');
      const response = await fetch(`${url}/v2/up/sha512/blobs/uploads/?digest=${digest}`, { method: 'POST', body: fetchBody(content) });
      assertCreated(response, 'up/sha512', digest);
      await assertBlob(url, 'up/sha512', content, 'sha512');
    });

    test('a sha512 upload with the wrong content is refused', async () => {
      const location = await startUpload(url, 'up/sha512', '?digest-algorithm=sha512');
      assertProgress(await patch(location, uniqueBytes(10)), 202, location, 10);
      await expectError(await put(withDigest(location, digestOf(uniqueBytes(), 'sha512'))), 400, 'DIGEST_INVALID');
    });

    test('an unsupported digest-algorithm answers 400 DIGEST_INVALID', async () => {
      for (const algorithm of ['md5', 'sha1', '../x']) {
        const response = await fetch(`${url}/v2/up/sha512/blobs/uploads/?digest-algorithm=${encodeURIComponent(algorithm)}`, {
          method: 'POST',
        });
        await expectError(response, 400, 'DIGEST_INVALID');
      }
    });
  });
});

describe('an upload session survives a restart', { timeout: 60_000 }, () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-restart-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** Runs a registry on the shared root for the duration of `work`. */
  async function withRegistry<T>(work: (registry: TestRegistry) => Promise<T>): Promise<T> {
    const registry = await startTestRegistry({ root });
    try {
      return await work(registry);
    } finally {
      await registry.close();
    }
  }

  test('chunks PATCHed before the restart are kept; PATCH and PUT after it complete the blob', async () => {
    const content = uniqueBytes(5000);
    const digest = digestOf(content);
    const path = await withRegistry(async ({ url }) => {
      const location = await startUpload(url, 'restart/patch');
      assertProgress(await patch(location, content.subarray(0, 3000), { 'Content-Range': '0-2999' }), 202, location, 3000);
      return location.pathname;
    });
    await withRegistry(async ({ url }) => {
      const location = new URL(path, url);
      assertProgress(await fetch(location), 204, location, 3000);
      assertProgress(await patch(location, content.subarray(3000, 4000), { 'Content-Range': '3000-3999' }), 202, location, 4000);
      assertCreated(await put(withDigest(location, digest), content.subarray(4000)), 'restart/patch', digest);
      await assertBlob(url, 'restart/patch', content);
    });
  });

  test('a session whose bytes all came before the restart completes with a bare PUT', async () => {
    const content = uniqueBytes(70_000);
    const path = await withRegistry(async ({ url }) => {
      const location = await startUpload(url, 'restart/put');
      assertProgress(await patch(location, content), 202, location, content.length);
      return location.pathname;
    });
    await withRegistry(async ({ url }) => {
      const location = new URL(path, url);
      await expectError(await put(withDigest(location, digestOf(uniqueBytes()))), 400, 'DIGEST_INVALID');
    });
    // The refused digest ended that session: start another, restart, complete it right.
    const again = await withRegistry(async ({ url }) => {
      const location = await startUpload(url, 'restart/put', '?digest-algorithm=sha512');
      assertProgress(await patch(location, content), 202, location, content.length);
      return location.pathname;
    });
    await withRegistry(async ({ url }) => {
      const location = new URL(again, url);
      const digest = digestOf(content, 'sha512');
      assertCreated(await put(withDigest(location, digest)), 'restart/put', digest);
      await assertBlob(url, 'restart/put', content, 'sha512');
    });
  });

  test('two registries sharing the root can take turns on one session', async () => {
    // As behind a load balancer: each registry's in-memory digest goes stale when the other appends.
    const [a, b] = [await startTestRegistry({ root }), await startTestRegistry({ root })];
    try {
      const content = uniqueBytes(3000);
      const onA = await startUpload(a.url, 'shared/session');
      const onB = new URL(onA.pathname, b.url);
      assertProgress(await patch(onA, content.subarray(0, 1000), { 'Content-Range': '0-999' }), 202, onA, 1000);
      assertProgress(await patch(onB, content.subarray(1000, 2000), { 'Content-Range': '1000-1999' }), 202, onB, 2000);
      assertProgress(await patch(onA, content.subarray(2000), { 'Content-Range': '2000-2999' }), 202, onA, 3000);
      assertCreated(await put(withDigest(onB, digestOf(content))), 'shared/session', digestOf(content));
      await assertBlob(a.url, 'shared/session', content);
      const second = await startUpload(b.url, 'shared/session');
      assertProgress(await patch(second, content.subarray(0, 1500)), 202, second, 1500);
      assertProgress(await patch(new URL(second.pathname, a.url), content.subarray(1500)), 202, second, 3000);
      assertCreated(await put(withDigest(second, digestOf(content))), 'shared/session', digestOf(content));
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('content pushed before the restart is served after it', async () => {
    const content = uniqueBytes();
    await withRegistry(async ({ url }) => {
      await pushBlob(url, 'restart/served', content);
    });
    await withRegistry(async ({ url }) => {
      await assertBlob(url, 'restart/served', content);
    });
  });
});
