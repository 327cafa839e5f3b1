import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { allRoutes } from '../../src/http/server.js';
import { expectError } from '../helpers/http.js';
import { pushImage } from '../helpers/push.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

const digest = `sha256:${'a'.repeat(64)}`;
const uuid = '0b6a3f5e-2c4d-4e8f-9a1b-3c5d7e9f1a2b';

/** A path each route matches, by route name; a new route without one fails the test below. */
const samplePaths: Readonly<Record<string, string>> = {
  base: '/v2/',
  catalog: '/v2/_catalog',
  tags: '/v2/ro/app/tags/list',
  manifest: '/v2/ro/app/manifests/v1',
  'upload-start': '/v2/ro/app/blobs/uploads/',
  upload: `/v2/ro/app/blobs/uploads/${uuid}`,
  blob: `/v2/ro/app/blobs/${digest}`,
  referrers: `/v2/ro/app/referrers/${digest}`,
  repository: '/berth/v1/repositories/ro/app',
  'ui-info': '/berth/v1/ui/info',
  'ui-repositories': '/berth/v1/repositories',
  'ui-repository': '/berth/v1/repositories/ro/app/_summary',
  'ui-tags': '/berth/v1/repositories/ro/app/_tags',
  'ui-image': `/berth/v1/repositories/ro/app/_images/${digest}`,
  'ui-usage': '/berth/v1/repositories/ro/app/_usage',
};

describe('storage.maintenance.readonly', { timeout: 30_000 }, () => {
  let registry: TestRegistry;
  let writable: TestRegistry;
  let manifestDigest: string;

  before(async () => {
    // Content pushed through a writable server on the same storage, then served read-only.
    writable = await startTestRegistry();
    manifestDigest = (await pushImage(writable.url, 'ro/app', 'v1')).digest;
    registry = await startTestRegistry({ root: writable.root, readOnly: true });
  });
  after(async () => {
    await registry.close();
    await writable.close();
  });

  const writes = allRoutes.flatMap((route) =>
    Object.keys(route.methods)
      .filter((method) => method !== 'GET' && method !== 'HEAD')
      .map((method) => ({ route: route.name, method })),
  );

  test('the route table has write routes, and a sample path for each route', () => {
    assert.ok(writes.length >= 7, `write routes: ${JSON.stringify(writes)}`);
    for (const route of allRoutes) {
      const path = samplePaths[route.name];
      assert.ok(path, `no sample path for route ${route.name}`);
      assert.ok(route.pattern.test(path), `${path} does not match route ${route.name}`);
    }
  });

  for (const { route, method } of writes) {
    test(`${method} on ${route} is 405 UNSUPPORTED: the registry is read-only`, async () => {
      const response = await fetch(`${registry.url}${samplePaths[route]}`, { method });
      await expectError(response, 405, 'UNSUPPORTED', { message: /read-only/ });
    });
  }

  test('reads go on: catalog, tags, manifests and blobs', async () => {
    const catalog = await fetch(`${registry.url}/v2/_catalog`);
    assert.deepEqual(await catalog.json(), { repositories: ['ro/app'] });
    const manifest = await fetch(`${registry.url}/v2/ro/app/manifests/v1`);
    assert.equal(manifest.status, 200);
    assert.equal(manifest.headers.get('docker-content-digest'), manifestDigest);
    const { config } = (await manifest.json()) as { config: { digest: string } };
    assert.equal((await fetch(`${registry.url}/v2/ro/app/blobs/${config.digest}`, { method: 'HEAD' })).status, 200);
    assert.equal((await fetch(`${registry.url}/v2/ro/app/tags/list`)).status, 200);
  });

  test('nothing was changed by the refused writes', async () => {
    assert.equal((await fetch(`${writable.url}/v2/ro/app/manifests/v1`)).status, 200);
    assert.deepEqual(await (await fetch(`${writable.url}/v2/_catalog`)).json(), { repositories: ['ro/app'] });
  });
});
