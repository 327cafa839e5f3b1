import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectError, rawRequest } from '../helpers/http.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

describe('API base and the version header', { timeout: 30_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startTestRegistry();
  });
  after(async () => {
    await registry.close();
  });

  test('GET /v2/ answers 200 with an empty JSON object', async () => {
    const response = await fetch(`${registry.url}/v2/`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json');
    assert.equal(response.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.deepEqual(await response.json(), {});
  });

  test('GET /v2 without the trailing slash is the same endpoint', async () => {
    const response = await fetch(`${registry.url}/v2`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {});
  });

  test('HEAD /v2/ answers 200 with no body', async () => {
    const response = await fetch(`${registry.url}/v2/`, { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.equal(await response.text(), '');
  });

  test('every answer carries Docker-Distribution-API-Version, errors and 404s included', async () => {
    const requests: [string, RequestInit][] = [
      ['/v2/', {}],
      ['/v2/_catalog', {}],
      ['/v2/nothing/here/tags/list', {}],
      ['/v2/nothing/manifests/latest', {}],
      ['/v2/nothing/manifests/latest', { method: 'HEAD' }],
      [`/v2/nothing/blobs/sha256:${'0'.repeat(64)}`, {}],
      ['/v2/Invalid/tags/list', {}],
      ['/v2/a/manifests/latest', { method: 'POST' }],
      ['/not/an/endpoint', {}],
      ['/v2/a/blobs/uploads/', { method: 'POST' }],
    ];
    for (const [path, init] of requests) {
      const response = await fetch(`${registry.url}${path}`, init);
      await response.arrayBuffer();
      assert.equal(
        response.headers.get('docker-distribution-api-version'),
        'registry/2.0',
        `${init.method ?? 'GET'} ${path} answered ${response.status} without the header`,
      );
    }
  });

  test('/ answers an empty 200 to any method, as Distribution does for load balancer probes', async () => {
    for (const method of ['GET', 'HEAD', 'POST', 'DELETE']) {
      const answer = await fetch(`${registry.url}/`, { method });
      assert.equal(answer.status, 200, method);
      assert.equal(answer.headers.get('cache-control'), 'no-cache', method);
      assert.equal(await answer.text(), '', method);
    }
  });

  test('a path outside /v2/ is a 404 in the error format', async () => {
    await expectError(await fetch(`${registry.url}/v1/_ping`), 404, 'UNSUPPORTED');
    await expectError(await fetch(`${registry.url}/v2/a/unknown/thing`), 404, 'UNSUPPORTED');
  });

  test('an absolute-form request target (RFC 9112) is served like its path', async () => {
    const response = await rawRequest(registry.url, { path: `http://${registry.hostPort}/v2/` });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {});
    const traversal = await rawRequest(registry.url, { path: `http://${registry.hostPort}/v2/a/../b/tags/list` });
    await expectError(traversal, 400, 'NAME_INVALID');
  });
});
