import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { basic, bearer, fetchToken, pushImageAs, startAuthRegistry, tokenClaims, type AuthRegistry } from '../helpers/auth.js';
import { expectError } from '../helpers/http.js';
import { pushImage, startUpload } from '../helpers/push.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

const endpoint = (base: string, name: string) => `${base}/berth/v1/repositories/${name}`;

async function catalog(base: string, headers: Record<string, string> = {}): Promise<string[]> {
  const response = await fetch(`${base}/v2/_catalog`, { headers });
  assert.equal(response.status, 200);
  return ((await response.json()) as { repositories: string[] }).repositories;
}

describe('DELETE /berth/v1/repositories/<name>', { timeout: 30_000 }, () => {
  let registry: TestRegistry;

  before(async () => {
    registry = await startTestRegistry();
  });
  after(async () => {
    await registry.close();
  });

  test('removes tags, manifests, layer links and uploads; the repository leaves _catalog at once; blob data stays', async () => {
    const image = await pushImage(registry.url, 'del/app', 'v1');
    const upload = await startUpload(registry.url, 'del/app');
    assert.deepEqual(await catalog(registry.url), ['del/app']);

    const response = await fetch(endpoint(registry.url, 'del/app'), { method: 'DELETE' });
    assert.equal(response.status, 202, await response.text());

    assert.deepEqual(await catalog(registry.url), []);
    await expectError(await fetch(`${registry.url}/v2/del/app/tags/list`), 404, 'NAME_UNKNOWN');
    await expectError(await fetch(`${registry.url}/v2/del/app/manifests/v1`), 404, 'NAME_UNKNOWN');
    await expectError(await fetch(`${registry.url}/v2/del/app/manifests/${image.digest}`), 404, 'NAME_UNKNOWN');
    assert.equal((await fetch(upload)).status, 404);
    // The content itself waits for garbage collection.
    const hex = image.digest.slice('sha256:'.length);
    const data = join(registry.root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    assert.ok((await stat(data)).isFile());
    // A second delete finds nothing.
    await expectError(await fetch(endpoint(registry.url, 'del/app'), { method: 'DELETE' }), 404, 'NAME_UNKNOWN');
  });

  test('a nested repository survives the delete of the one above it', async () => {
    await pushImage(registry.url, 'nest', 'v1');
    await pushImage(registry.url, 'nest/inner', 'v1');
    const response = await fetch(endpoint(registry.url, 'nest'), { method: 'DELETE' });
    assert.equal(response.status, 202);
    assert.deepEqual(await catalog(registry.url), ['nest/inner']);
    assert.equal((await fetch(`${registry.url}/v2/nest/inner/manifests/v1`)).status, 200);
  });

  test('an unknown repository is 404 NAME_UNKNOWN; a bad name is 400 NAME_INVALID', async () => {
    await expectError(await fetch(endpoint(registry.url, 'no/such/repo'), { method: 'DELETE' }), 404, 'NAME_UNKNOWN');
    await expectError(await fetch(endpoint(registry.url, 'Bad..Name'), { method: 'DELETE' }), 400, 'NAME_INVALID');
  });

  test('other methods are 405 UNSUPPORTED with Allow: DELETE', async () => {
    const response = await fetch(endpoint(registry.url, 'nest/inner'));
    assert.equal(response.headers.get('allow'), 'DELETE');
    await expectError(response, 405, 'UNSUPPORTED');
  });
});

describe('repository delete with deletes disabled', { timeout: 30_000 }, () => {
  let registry: TestRegistry;

  before(async () => {
    registry = await startTestRegistry({ deleteEnabled: false });
  });
  after(async () => {
    await registry.close();
  });

  test('405 UNSUPPORTED and the repository stays', async () => {
    await pushImage(registry.url, 'kept/app', 'v1');
    await expectError(await fetch(endpoint(registry.url, 'kept/app'), { method: 'DELETE' }), 405, 'UNSUPPORTED', { message: /delete/ });
    assert.deepEqual(await catalog(registry.url), ['kept/app']);
  });
});

describe('repository delete with access rules (htpasswd)', { timeout: 30_000 }, () => {
  let registry: AuthRegistry;

  before(async () => {
    registry = await startAuthRegistry('htpasswd');
  });
  after(async () => {
    await registry.close();
  });

  test('a user with every action on the repository, but not admin, is 403 DENIED; anonymous is 401', async () => {
    await pushImageAs(registry.url, 'lab/app', 'v1', basic('dev'));
    // lab/** grants the devs group `*`: still not an admin.
    const response = await fetch(endpoint(registry.url, 'lab/app'), { method: 'DELETE', headers: basic('dev') });
    await expectError(response, 403, 'DENIED');
    await expectError(await fetch(endpoint(registry.url, 'team/app'), { method: 'DELETE', headers: basic('writer') }), 403, 'DENIED');
    await expectError(await fetch(endpoint(registry.url, 'team/app'), { method: 'DELETE' }), 401, 'UNAUTHORIZED');
  });

  test('an admin deletes the repository', async () => {
    const headers = basic('root');
    await pushImageAs(registry.url, 'team/gone', 'v1', headers);
    const response = await fetch(endpoint(registry.url, 'team/gone'), { method: 'DELETE', headers });
    assert.equal(response.status, 202, await response.text());
    assert.deepEqual(await catalog(registry.url, headers), ['lab/app']);
    await expectError(await fetch(endpoint(registry.url, 'team/gone'), { method: 'DELETE', headers }), 404, 'NAME_UNKNOWN');
  });
});

describe('repository delete with Berth token server', { timeout: 30_000 }, () => {
  let registry: AuthRegistry;

  before(async () => {
    registry = await startAuthRegistry('tokenserver');
  });
  after(async () => {
    await registry.close();
  });

  test('registry:admin:* is granted to admins only, and the token opens the endpoint', async () => {
    const devToken = await fetchToken(registry.url, ['registry:admin:*'], 'dev', 'dev-password');
    assert.deepEqual(tokenClaims(devToken).access, []);
    const rootToken = await fetchToken(registry.url, ['registry:admin:*', 'repository:lab/tok:pull,push'], 'root', 'root-password');
    await pushImageAs(registry.url, 'lab/tok', 'v1', bearer(rootToken));
    await expectError(await fetch(endpoint(registry.url, 'lab/tok'), { method: 'DELETE', headers: bearer(devToken) }), 403, 'DENIED');
    const response = await fetch(endpoint(registry.url, 'lab/tok'), { method: 'DELETE', headers: bearer(rootToken) });
    assert.equal(response.status, 202, await response.text());
  });
});
