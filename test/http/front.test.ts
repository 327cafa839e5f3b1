// The HTTP front: http.prefix, the form of Location URLs, forwarded headers, unix sockets, h2c
// and draining on shutdown, against the in-process server.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { expectError, rawRequest } from '../helpers/http.js';
import { digestOf } from '../helpers/push.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';
import { http2Fetch, http2Session } from '../helpers/tls-client.js';

describe('http.prefix', { timeout: 30_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startTestRegistry({ prefix: '/registry/', relativeUrls: false });
  });
  after(() => registry.close());

  test('the API answers under the prefix and nowhere else', async () => {
    const response = await fetch(`${registry.url}/registry/v2/`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {});
    await expectError(await fetch(`${registry.url}/v2/`), 404, 'UNSUPPORTED');
    await expectError(await fetch(`${registry.url}/registryv2/`), 404, 'UNSUPPORTED');
  });

  test('Location carries the prefix, and a whole push works through it', async () => {
    const content = randomBytes(1000);
    const digest = digestOf(content);
    const started = await fetch(`${registry.url}/registry/v2/p/x/blobs/uploads/`, { method: 'POST' });
    assert.equal(started.status, 202);
    const location = started.headers.get('location')!;
    assert.match(location, new RegExp(`^${registry.url}/registry/v2/p/x/blobs/uploads/[0-9a-f-]{36}$`));
    const done = await fetch(`${location}?digest=${digest}`, { method: 'PUT', body: content });
    assert.equal(done.status, 201);
    assert.equal(done.headers.get('location'), `${registry.url}/registry/v2/p/x/blobs/${digest}`);
    const pulled = await fetch(done.headers.get('location')!);
    assert.ok(Buffer.from(await pulled.arrayBuffer()).equals(content));
  });
});

describe('Location URLs', { timeout: 30_000 }, () => {
  let absolute: TestRegistry;
  let relative: TestRegistry;
  before(async () => {
    absolute = await startTestRegistry({ relativeUrls: false });
    relative = await startTestRegistry({ relativeUrls: true });
  });
  after(async () => {
    await absolute.close();
    await relative.close();
  });

  const startUpload = (registry: TestRegistry, headers: Record<string, string> = {}) =>
    rawRequest(registry.url, { method: 'POST', path: '/v2/loc/x/blobs/uploads/', headers });

  test('by default (relativeurls false) absolute on the Host the client used, as Distribution', async () => {
    const response = await startUpload(absolute);
    assert.match(response.headers.get('location')!, new RegExp(`^http://${absolute.hostPort}/v2/loc/x/blobs/uploads/[0-9a-f-]{36}$`));
    const other = await startUpload(absolute, { Host: 'registry.internal:5000' });
    assert.match(other.headers.get('location')!, /^http:\/\/registry\.internal:5000\/v2\//);
  });

  test('behind a proxy: X-Forwarded-Proto and X-Forwarded-Host, or Forwarded', async () => {
    const forwarded = await startUpload(absolute, { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'reg.example.com' });
    assert.match(forwarded.headers.get('location')!, /^https:\/\/reg\.example\.com\/v2\/loc\/x\/blobs\/uploads\//);
    const rfc = await startUpload(absolute, { Forwarded: 'proto=https;host=reg.example.net:8443' });
    assert.match(rfc.headers.get('location')!, /^https:\/\/reg\.example\.net:8443\/v2\//);
  });

  test('with relativeurls, paths only, whatever the headers', async () => {
    const response = await startUpload(relative, { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'reg.example.com' });
    assert.match(response.headers.get('location')!, /^\/v2\/loc\/x\/blobs\/uploads\/[0-9a-f-]{36}$/);
  });
});

describe('http.net: unix', { timeout: 30_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-unix-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const getOverSocket = (socketPath: string, path: string) =>
    new Promise<{ status: number; body: string; location?: string }>((resolve, reject) => {
      const req = request({ socketPath, path, method: path.includes('uploads') ? 'POST' : 'GET', timeout: 10_000 }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, location: res.headers.location }));
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end();
    });

  test('listens on the socket path, replacing a stale socket, and removes it on close', async () => {
    const socketPath = join(dir, 'berth.sock');
    for (let round = 0; round < 2; round++) {
      const registry = await startTestRegistry({ listen: { net: 'unix', addr: socketPath } });
      try {
        assert.ok((await stat(socketPath)).isSocket());
        const base = await getOverSocket(socketPath, '/v2/');
        assert.deepEqual([base.status, base.body], [200, '{}']);
        const upload = await getOverSocket(socketPath, '/v2/u/x/blobs/uploads/');
        assert.equal(upload.status, 202);
        assert.match(upload.location ?? '', /^\/v2\/u\/x\/blobs\/uploads\//);
      } finally {
        await registry.close();
      }
    }
  });

  test('refuses a path that holds another kind of file', async () => {
    const file = join(dir, 'not-a-socket');
    await writeFile(file, 'data');
    await assert.rejects(() => startTestRegistry({ listen: { net: 'unix', addr: file } }), /exists and is not a socket/);
  });
});

describe('http.h2c.enabled', { timeout: 30_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startTestRegistry({ listen: { h2c: true } });
  });
  after(() => registry.close());

  test('HTTP/2 with prior knowledge and HTTP/1.1 on the same port', async () => {
    assert.equal((await fetch(`${registry.url}/v2/`)).status, 200);
    const content = randomBytes(300_000);
    const digest = digestOf(content);
    const chunked = await rawRequest(registry.url, { method: 'POST', path: `/v2/h2c/one/blobs/uploads/?digest=${digest}`, body: [content.subarray(0, 5), content.subarray(5)] });
    assert.equal(chunked.status, 201, 'a chunked HTTP/1.1 upload through the h2c front');
    const session = await http2Session(registry.url);
    try {
      const started = await http2Fetch(session, '/v2/h2c/two/blobs/uploads/', { method: 'POST' });
      assert.equal(started.status, 202);
      const done = await http2Fetch(session, `${String(started.headers.location)}?digest=${digest}`, { method: 'PUT', body: [content] });
      assert.equal(done.status, 201);
      const pulled = await http2Fetch(session, `/v2/h2c/two/blobs/${digest}`);
      assert.ok(pulled.body.equals(content));
    } finally {
      session.close();
    }
  });
});
