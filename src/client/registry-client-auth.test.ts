import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { passwords, startAuthRegistry, type AuthRegistry } from '../../test/helpers/auth.js';
import { bufferSource, pushImage, readStream, sha256 } from '../../test/helpers/client-content.js';
import { startTokenRegistry } from '../../test/helpers/client-registries.js';
import { createTestCa, type TestCa } from '../../test/helpers/tls.js';
import { startTestRegistry, type TestRegistry } from '../../test/helpers/registry-server.js';
import { ConnectionFailedError, RegistryError } from './registry-error.js';
import { RegistryClient } from './registry-client.js';

const as = (user: string) => ({ username: user, password: passwords[user]! });

for (const kind of ['htpasswd', 'tokenserver'] as const) {
  describe(`RegistryClient with ${kind === 'htpasswd' ? 'Basic' : 'Bearer token'} auth`, { timeout: 60_000 }, () => {
    let server: AuthRegistry & { tokenRequests?: () => number };
    before(async () => {
      server = kind === 'htpasswd' ? await startAuthRegistry('htpasswd') : await startTokenRegistry();
    });
    after(async () => {
      await server.close();
    });

    it('without credentials, fails with UNAUTHORIZED and the login hint', async () => {
      const client = new RegistryClient(server.hostPort, { insecure: true });
      try {
        const error = await client.getManifest('team/app', 'v1').catch((e: unknown) => e);
        assert.ok(error instanceof RegistryError, String(error));
        assert.equal(error.status, 401);
        assert.equal(error.code, 'UNAUTHORIZED');
        assert.equal(error.hint, `run: berth login ${server.hostPort}`);
        const upload = await client.uploadBlob('team/app', { digest: sha256('x'), size: 1 }, bufferSource(Buffer.from('x'))).catch((e: unknown) => e);
        assert.ok(upload instanceof RegistryError && upload.code === 'UNAUTHORIZED');
      } finally {
        await client.close();
      }
    });

    it('with wrong credentials, fails with a 401 too', async () => {
      const client = new RegistryClient(server.hostPort, { insecure: true, credentials: { username: 'writer', password: 'wrong' } });
      try {
        const error = await client.ping().catch((e: unknown) => e);
        assert.ok(error instanceof RegistryError, String(error));
        assert.equal(error.status, 401);
        assert.match(error.hint ?? '', /berth login/);
      } finally {
        await client.close();
      }
    });

    it('pushes (monolithic and chunked) and pulls with credentials', async () => {
      const writer = new RegistryClient(server.hostPort, { insecure: true, credentials: as('writer') });
      const reader = new RegistryClient(server.hostPort, { insecure: true, credentials: as('reader') });
      const root = new RegistryClient(server.hostPort, { insecure: true, credentials: as('root') });
      try {
        await writer.ping();
        const { digest, layer } = await pushImage(writer, 'team/app', 'v1');
        const big = randomBytes(100_000);
        await writer.uploadBlob('team/app', { digest: sha256(big), size: big.length }, bufferSource(big), { chunkSize: 30_000 });
        assert.equal((await reader.getManifest('team/app', 'v1')).descriptor.digest, digest);
        assert.deepEqual(await readStream(await reader.openBlob('team/app', sha256(layer))), layer);
        assert.equal(await reader.statBlob('team/app', sha256(big)), big.length);
        assert.deepEqual(await reader.tags('team/app'), ['v1']);
        // The reader may pull but not push.
        const denied = await reader.uploadBlob('team/app', { digest: sha256('y'), size: 1 }, bufferSource(Buffer.from('y'))).catch((e: unknown) => e);
        assert.ok(denied instanceof RegistryError, String(denied));
        assert.ok(denied.status === 403 || denied.status === 401, `status ${denied.status}`);
        assert.ok(denied.hint);
        assert.ok((await root.catalog()).includes('team/app'));
      } finally {
        await writer.close();
        await reader.close();
        await root.close();
      }
    });

    if (kind === 'tokenserver') {
      it('obtains a token per scope once and reuses it', async () => {
        const client = new RegistryClient(server.hostPort, { insecure: true, credentials: as('writer') });
        try {
          await pushImage(client, 'team/tokens', 'v1');
          const afterPush = server.tokenRequests!();
          for (let i = 0; i < 5; i++) {
            await client.getManifest('team/tokens', 'v1');
            await client.headManifest('team/tokens', 'v1');
          }
          // One more token for the pull scope at most; the loop reuses it.
          assert.ok(server.tokenRequests!() - afterPush <= 1, `${server.tokenRequests!() - afterPush} token requests`);
          const beforeChunks = server.tokenRequests!();
          const blob = randomBytes(50_000);
          await client.uploadBlob('team/tokens', { digest: sha256(blob), size: blob.length }, bufferSource(blob), { chunkSize: 10_000 });
          assert.equal(server.tokenRequests!(), beforeChunks);
        } finally {
          await client.close();
        }
      });

      it('renews an expired token', async () => {
        const shortLived = await startTokenRegistry(1500);
        const client = new RegistryClient(shortLived.hostPort, { insecure: true, credentials: as('writer') });
        try {
          await pushImage(client, 'team/expiry', 'v1');
          const before = shortLived.tokenRequests();
          await new Promise((resolve) => setTimeout(resolve, 1600));
          await client.getManifest('team/expiry', 'v1');
          assert.ok(shortLived.tokenRequests() > before);
        } finally {
          await client.close();
          await shortLived.close();
        }
      });
    }
  });
}

describe('RegistryClient over TLS', { timeout: 60_000 }, () => {
  let ca: TestCa;
  let server: TestRegistry;
  before(async () => {
    ca = await createTestCa();
    const cert = await ca.serverCert();
    server = await startTestRegistry({ listen: { tls: { certificate: cert.cert, key: cert.key } } });
  });
  after(async () => {
    await server.close();
    await ca.remove();
  });

  it('works when trusting the CA with caFile', async () => {
    const client = new RegistryClient(server.hostPort, { caFile: ca.cert });
    try {
      assert.equal(client.baseUrl, `https://${server.hostPort}`);
      await client.ping();
      const { digest } = await pushImage(client, 'tls/app', 'v1');
      assert.equal((await client.getManifest('tls/app', 'v1')).descriptor.digest, digest);
    } finally {
      await client.close();
    }
  });

  it('fails without the CA, with a hint to pass --ca-file', async () => {
    const client = new RegistryClient(server.hostPort);
    try {
      const error = await client.ping().catch((e: unknown) => e);
      assert.ok(error instanceof ConnectionFailedError, String(error));
      assert.equal(error.tls, true);
      assert.match(error.hint, /--ca-file/);
    } finally {
      await client.close();
    }
  });

  it('says to pass --insecure when the registry speaks plain HTTP', async () => {
    const plain = await startTestRegistry();
    const client = new RegistryClient(plain.hostPort);
    try {
      const error = await client.ping().catch((e: unknown) => e);
      assert.ok(error instanceof ConnectionFailedError, String(error));
      assert.match(error.hint, /--insecure/);
    } finally {
      await client.close();
      await plain.close();
    }
  });
});
