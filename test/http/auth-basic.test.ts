import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { basic, pushBlobAs, pushImageAs, startAuthRegistry, type AuthRegistry } from '../helpers/auth.js';
import { expectError } from '../helpers/http.js';

const blob = Buffer.from('mount me');
const blobDigest = 'sha256:' + (await import('node:crypto')).createHash('sha256').update(blob).digest('hex');

describe('htpasswd (Basic) auth with access rules', { timeout: 60_000 }, () => {
  let registry: AuthRegistry;
  let url: string;
  before(async () => {
    registry = await startAuthRegistry('htpasswd');
    url = registry.url;
    await pushImageAs(url, 'public/base', 'v1', basic('root'));
    await pushImageAs(url, 'team/app', 'v1', basic('writer'));
    await pushImageAs(url, 'private/secret', 'v1', basic('root'));
    assert.equal((await pushBlobAs(url, 'private/secret', blob, basic('root'))).status, 201);
  });
  after(async () => {
    await registry.close();
  });

  test('GET /v2/ needs a login: 401 anonymous, 200 for any user, 401 for a wrong password', async () => {
    await expectError(await fetch(`${url}/v2/`), 401, 'UNAUTHORIZED');
    assert.equal((await fetch(`${url}/v2/`, { headers: basic('reader') })).status, 200);
    const wrong = await fetch(`${url}/v2/`, { headers: basic('reader', 'nope') });
    await expectError(wrong, 401, 'UNAUTHORIZED');
    assert.equal(wrong.headers.get('www-authenticate'), 'Basic realm="berth-test-realm"');
  });

  test('Basic Og== (empty user and password) is refused with 401 where anonymous may not go', async () => {
    const og = { Authorization: 'Basic Og==' };
    await expectError(await fetch(`${url}/v2/`, { headers: og }), 401, 'UNAUTHORIZED');
    await expectError(await fetch(`${url}/v2/team/app/tags/list`, { headers: og }), 401, 'UNAUTHORIZED');
    // ...and counts as no credentials where anonymous may go (skopeo sends it when it has none).
    assert.equal((await fetch(`${url}/v2/public/base/tags/list`, { headers: og })).status, 200);
  });

  test('anonymous pull of a public repository works; push is asked for credentials', async () => {
    const tags = await fetch(`${url}/v2/public/base/tags/list`);
    assert.equal(tags.status, 200);
    assert.deepEqual(((await tags.json()) as { tags: string[] }).tags, ['v1']);
    assert.equal((await fetch(`${url}/v2/public/base/manifests/v1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })).status, 200);
    const push = await fetch(`${url}/v2/public/base/blobs/uploads/`, { method: 'POST' });
    await expectError(push, 401, 'UNAUTHORIZED');
    assert.equal(push.headers.get('www-authenticate'), 'Basic realm="berth-test-realm"');
    await expectError(await fetch(`${url}/v2/team/app/tags/list`), 401, 'UNAUTHORIZED');
  });

  test('a pull-only user can pull but not push or delete: 403 DENIED', async () => {
    assert.equal((await fetch(`${url}/v2/team/app/tags/list`, { headers: basic('reader') })).status, 200);
    await expectError(await pushBlobAs(url, 'team/app', Buffer.from('x'), basic('reader')), 403, 'DENIED');
    await expectError(await fetch(`${url}/v2/team/app/manifests/v1`, { method: 'DELETE', headers: basic('reader') }), 403, 'DENIED');
    await expectError(await fetch(`${url}/v2/private/secret/tags/list`, { headers: basic('reader') }), 403, 'DENIED');
  });

  test('group members get the group actions; others do not', async () => {
    await pushImageAs(url, 'lab/x', 'v1', basic('dev'));
    await expectError(await pushBlobAs(url, 'lab/x', Buffer.from('y'), basic('writer')), 403, 'DENIED');
  });

  test('the catalog: admins see everything, others what they may pull, anonymous must log in', async () => {
    const list = async (user: string) => {
      const response = await fetch(`${url}/v2/_catalog`, { headers: basic(user) });
      assert.equal(response.status, 200);
      return ((await response.json()) as { repositories: string[] }).repositories;
    };
    assert.deepEqual(await list('root'), ['lab/x', 'private/secret', 'public/base', 'team/app']);
    assert.deepEqual(await list('reader'), ['public/base', 'team/app']);
    assert.deepEqual(await list('dev'), ['lab/x', 'public/base']);
    await expectError(await fetch(`${url}/v2/_catalog`), 401, 'UNAUTHORIZED');
  });

  test('mounting needs pull on the source: without it the blob is uploaded instead', async () => {
    const mount = (user: string, target: string) =>
      fetch(`${url}/v2/${target}/blobs/uploads/?mount=${blobDigest}&from=private/secret`, { method: 'POST', headers: basic(user) });
    const refused = await mount('writer', 'team/app');
    assert.equal(refused.status, 202, 'a new upload session, not a mount');
    assert.equal((await fetch(`${url}/v2/team/app/blobs/${blobDigest}`, { method: 'HEAD', headers: basic('writer') })).status, 404);
    const mounted = await mount('root', 'team/app');
    assert.equal(mounted.status, 201);
    assert.equal(mounted.headers.get('docker-content-digest'), blobDigest);
  });
});

describe('htpasswd without an access section', { timeout: 60_000 }, () => {
  let registry: AuthRegistry;
  before(async () => {
    registry = await startAuthRegistry('htpasswd', 'none');
  });
  after(async () => {
    await registry.close();
  });

  test('every user may do everything; anonymous nothing', async () => {
    await pushImageAs(registry.url, 'any/repo', 'v1', basic('reader'));
    assert.equal((await fetch(`${registry.url}/v2/_catalog`, { headers: basic('dev') })).status, 200);
    await expectError(await fetch(`${registry.url}/v2/any/repo/tags/list`), 401, 'UNAUTHORIZED');
  });
});
