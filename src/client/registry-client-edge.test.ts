import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { bufferSource, readStream, sha256 } from '../../test/helpers/client-content.js';
import { startDroppingProxy } from '../../test/helpers/client-proxy.js';
import { startTestRegistry, type TestRegistry } from '../../test/helpers/registry-server.js';
import { mediaTypes } from '../image/descriptor.js';
import { DigestMismatchError } from './registry-error.js';
import { RegistryClient } from './registry-client.js';

/** A scripted HTTP server on 127.0.0.1 that records what it was sent. */
async function fakeServer(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; port: number; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    handle(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, seen };
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((done) => server.close(() => done()));
}

describe('RegistryClient with misbehaving or unusual servers', { timeout: 60_000 }, () => {
  it('refuses a manifest that does not match its digest reference or Docker-Content-Digest', async () => {
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: {}, layers: [] }));
    const { server, port } = await fakeServer((_req, res) => {
      res.writeHead(200, { 'content-type': mediaTypes.ociManifest, 'docker-content-digest': sha256('other bytes') });
      res.end(manifest);
    });
    const client = new RegistryClient(`127.0.0.1:${port}`, { insecure: true });
    try {
      const byTag = await client.getManifest('a/b', 'v1').catch((e: unknown) => e);
      assert.ok(byTag instanceof DigestMismatchError);
      assert.equal(byTag.expected, sha256('other bytes'));
      assert.equal(byTag.actual, sha256(manifest));
      const byDigest = await client.getManifest('a/b', sha256('wanted')).catch((e: unknown) => e);
      assert.ok(byDigest instanceof DigestMismatchError);
      assert.equal(byDigest.expected, sha256('wanted'));
    } finally {
      await client.close();
      await closeServer(server);
    }
  });

  it('takes the media type from the body when Content-Type is generic', async () => {
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.dockerManifestList, manifests: [] }));
    const { server, port } = await fakeServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(manifest);
    });
    const client = new RegistryClient(`127.0.0.1:${port}`, { insecure: true });
    try {
      const { descriptor } = await client.getManifest('a/b', 'v1');
      assert.equal(descriptor.mediaType, mediaTypes.dockerManifestList);
      assert.equal(descriptor.digest, sha256(manifest));
    } finally {
      await client.close();
      await closeServer(server);
    }
  });

  it('follows a blob redirect to another host without the registry credentials, and skips bytes when Range is ignored', async () => {
    const blob = randomBytes(5000);
    const storage = await fakeServer((_req, res) => {
      // A storage backend that ignores Range: the client skips the bytes itself.
      res.writeHead(200, { 'content-length': blob.length });
      res.end(blob);
    });
    const registry = await fakeServer((req, res) => {
      if (req.headers.authorization === undefined) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="test"', 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
        return;
      }
      // `localhost` is another origin than 127.0.0.1 for the client.
      res.writeHead(307, { location: `http://localhost:${storage.port}/data?sig=x` });
      res.end();
    });
    const client = new RegistryClient(`127.0.0.1:${registry.port}`, { insecure: true, credentials: { username: 'u', password: 'p' } });
    try {
      assert.deepEqual(await readStream(await client.openBlob('a/b', sha256(blob))), blob);
      assert.deepEqual(await readStream(await client.openBlob('a/b', sha256(blob), { offset: 1000 })), blob.subarray(1000));
      assert.ok(registry.seen.some((req) => req.headers.authorization === `Basic ${Buffer.from('u:p').toString('base64')}`));
      assert.equal(storage.seen.length, 2);
      for (const req of storage.seen) assert.equal(req.headers.authorization, undefined);
      assert.equal(storage.seen[1]!.headers.range, 'bytes=1000-');
    } finally {
      await client.close();
      await closeServer(registry.server);
      await closeServer(storage.server);
    }
  });
});

describe('RegistryClient upload through a connection that drops', { timeout: 60_000 }, () => {
  let server: TestRegistry;
  before(async () => {
    server = await startTestRegistry();
  });
  after(async () => {
    await server.close();
  });

  it('resumes a chunked upload from what the registry stored when the connection drops mid-chunk', async () => {
    // Cut the first PATCH after 40,000 bytes (headers included) of its 100,000-byte body.
    const proxy = await startDroppingProxy(server.hostPort, 'PATCH', 40_000);
    const client = new RegistryClient(proxy.hostPort, { insecure: true });
    try {
      const blob = randomBytes(250_000);
      const digest = sha256(blob);
      const source = bufferSource(blob);
      const opened: number[] = [];
      await client.uploadBlob('drop/blob', { digest, size: blob.length }, (offset) => {
        opened.push(offset);
        return source(offset);
      }, { chunkSize: 100_000 });
      assert.equal(proxy.drops(), 1);
      assert.equal(opened.length, 2);
      assert.ok(opened[1]! < 40_000, `reopened at ${opened[1]}`);
      assert.deepEqual(await readStream(await client.openBlob('drop/blob', digest)), blob);
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('starts a monolithic upload over when the connection drops', async () => {
    const proxy = await startDroppingProxy(server.hostPort, 'PUT', 30_000);
    const client = new RegistryClient(proxy.hostPort, { insecure: true });
    try {
      const blob = randomBytes(120_000);
      const opened: number[] = [];
      const source = bufferSource(blob);
      await client.uploadBlob('drop/mono', { digest: sha256(blob), size: blob.length }, (offset) => {
        opened.push(offset);
        return source(offset);
      });
      assert.equal(proxy.drops(), 1);
      assert.deepEqual(opened, [0, 0]);
      assert.equal(await client.statBlob('drop/mono', sha256(blob)), blob.length);
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});
