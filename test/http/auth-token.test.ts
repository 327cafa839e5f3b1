import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createPrivateKey } from 'node:crypto';
import {
  basic,
  bearer,
  fetchToken,
  pushBlobAs,
  pushImageAs,
  startAuthRegistry,
  testIssuer,
  testService,
  tokenClaims,
  tokenPath,
  type AuthRegistry,
} from '../helpers/auth.js';
import { expectError } from '../helpers/http.js';
import { signToken } from '../helpers/tokens.js';

describe("Berth's token server with access rules", { timeout: 60_000 }, () => {
  let registry: AuthRegistry;
  let url: string;
  const token = (scopes: string[], user?: string, password?: string) => fetchToken(url, scopes, user, password);
  before(async () => {
    registry = await startAuthRegistry('tokenserver');
    url = registry.url;
    const root = await token(['repository:public/base:pull,push', 'repository:team/app:pull,push', 'repository:private/secret:pull,push'], 'root');
    for (const name of ['public/base', 'team/app', 'private/secret']) await pushImageAs(url, name, 'v1', bearer(root));
  });
  after(async () => {
    await registry.close();
  });

  test('a token answer: token, access_token, expires_in, issued_at; claims for this registry', async () => {
    const response = await fetch(`${url}${tokenPath}?service=${testService}&scope=repository:team/app:pull,push&account=writer`, {
      headers: basic('writer'),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const body = (await response.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'issued_at', 'token']);
    assert.equal(body.token, body.access_token);
    assert.equal(body.expires_in, 60);
    assert.ok(!Number.isNaN(Date.parse(String(body.issued_at))));
    const claims = tokenClaims(String(body.token));
    assert.equal(claims.iss, testIssuer);
    assert.equal(claims.aud, testService);
    assert.equal(claims.sub, 'writer');
    assert.deepEqual(claims.access, [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }]);
  });

  test('granted = requested ∩ allowed, never more than asked', async () => {
    const claims = tokenClaims(
      await token(['repository:team/app:pull,push,delete', 'repository:private/secret:pull', 'repository:public/base:pull', 'registry:catalog:*'], 'reader'),
    );
    assert.deepEqual(claims.access, [
      { type: 'repository', name: 'team/app', actions: ['pull'] },
      { type: 'repository', name: 'public/base', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
    assert.deepEqual(tokenClaims(await token(['repository:team/app:pull'], 'root')).access, [
      { type: 'repository', name: 'team/app', actions: ['pull'] },
    ]);
  });

  test('several scopes in one value, as a POST form with grant_type=password (containerd)', async () => {
    const form = new URLSearchParams({
      grant_type: 'password',
      username: 'writer',
      password: 'writer-password',
      service: testService,
      client_id: 'containerd-client',
      scope: 'repository:team/app:pull,push repository:public/base:pull',
    });
    const response = await fetch(`${url}${tokenPath}`, { method: 'POST', body: form });
    assert.equal(response.status, 200);
    const { access_token } = (await response.json()) as { access_token: string };
    assert.equal(tokenClaims(access_token).access instanceof Array, true);
    assert.equal((tokenClaims(access_token).access as unknown[]).length, 2);
    const refresh = await fetch(`${url}${tokenPath}`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x' }) });
    assert.equal(refresh.status, 400);
    assert.equal(((await refresh.json()) as { error: string }).error, 'unsupported_grant_type');
  });

  test('wrong credentials get 401; no credentials an anonymous token; another service 400', async () => {
    const wrong = await fetch(`${url}${tokenPath}?service=${testService}`, { headers: basic('writer', 'nope') });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    const anonymous = tokenClaims(await token(['repository:public/base:pull,push', 'repository:team/app:pull']));
    assert.equal(anonymous.sub, '');
    assert.deepEqual(anonymous.access, [{ type: 'repository', name: 'public/base', actions: ['pull'] }]);
    assert.equal((await fetch(`${url}${tokenPath}?service=other`)).status, 400);
    assert.equal((await fetch(`${url}${tokenPath}?service=${testService}&account=root`, { headers: basic('writer') })).status, 400);
  });

  test('GET /v2/ passes with any valid token', async () => {
    assert.equal((await fetch(`${url}/v2/`, { headers: bearer(await token([], 'reader')) })).status, 200);
  });

  test('anonymous pull of a public repository with an anonymous token; push is denied', async () => {
    const anonymous = await token(['repository:public/base:pull,push']);
    assert.equal((await fetch(`${url}/v2/public/base/tags/list`, { headers: bearer(anonymous) })).status, 200);
    const push = await fetch(`${url}/v2/public/base/blobs/uploads/`, { method: 'POST', headers: bearer(anonymous) });
    await expectError(push, 401, 'UNAUTHORIZED');
    assert.match(push.headers.get('www-authenticate')!, /scope="repository:public\/base:pull,push",error="insufficient_scope"$/);
  });

  test('a pull-only user cannot push: 403 DENIED (the rules deny it, a new token would not help)', async () => {
    const reader = await token(['repository:team/app:pull,push'], 'reader');
    assert.equal((await fetch(`${url}/v2/team/app/tags/list`, { headers: bearer(reader) })).status, 200);
    await expectError(await pushBlobAs(url, 'team/app', Buffer.from('x'), bearer(reader)), 403, 'DENIED');
  });

  test('a token for another repository: 401 insufficient_scope with the needed scope', async () => {
    const other = await token(['repository:public/base:pull'], 'writer');
    const response = await fetch(`${url}/v2/team/app/tags/list`, { headers: bearer(other) });
    await expectError(response, 401, 'UNAUTHORIZED');
    assert.equal(
      response.headers.get('www-authenticate'),
      `Bearer realm="http://127.0.0.1${tokenPath}",service="${testService}",scope="repository:team/app:pull",error="insufficient_scope"`,
    );
  });

  test('the catalog lists what the token holder may pull (admins: everything)', async () => {
    const list = async (user: string) => {
      const response = await fetch(`${url}/v2/_catalog`, { headers: bearer(await token(['registry:catalog:*'], user)) });
      assert.equal(response.status, 200);
      return ((await response.json()) as { repositories: string[] }).repositories;
    };
    assert.deepEqual(await list('root'), ['private/secret', 'public/base', 'team/app']);
    assert.deepEqual(await list('reader'), ['public/base', 'team/app']);
    const anonymous = await fetch(`${url}/v2/_catalog`, { headers: bearer(await token(['registry:catalog:*'])) });
    await expectError(anonymous, 401, 'UNAUTHORIZED');
  });

  test('mounting needs pull on the source', async () => {
    const content = Buffer.from('secret layer');
    const root = await token(['repository:private/secret:pull,push'], 'root');
    assert.equal((await pushBlobAs(url, 'private/secret', content, bearer(root))).status, 201);
    const digest = `sha256:${(await import('node:crypto')).createHash('sha256').update(content).digest('hex')}`;
    const writer = await token(['repository:team/app:pull,push', 'repository:private/secret:pull'], 'writer');
    const mount = await fetch(`${url}/v2/team/app/blobs/uploads/?mount=${digest}&from=private/secret`, { method: 'POST', headers: bearer(writer) });
    assert.equal(mount.status, 202, 'an upload session instead of a mount');
    const admin = await token(['repository:team/app:pull,push', 'repository:private/secret:pull'], 'root');
    const mounted = await fetch(`${url}/v2/team/app/blobs/uploads/?mount=${digest}&from=private/secret`, { method: 'POST', headers: bearer(admin) });
    assert.equal(mounted.status, 201);
  });

  test('tokens signed with the generated key; its public key is written as JWKS next to it', async () => {
    const jwks = JSON.parse(await readFile(join(registry.dir, 'token.key.jwks.json'), 'utf8')) as { keys: { kid: string; alg: string }[] };
    const header = JSON.parse(Buffer.from((await token([], 'reader')).split('.')[0]!, 'base64url').toString()) as { kid: string; alg: string };
    assert.equal(header.kid, jwks.keys[0]!.kid);
    assert.equal(header.alg, 'ES256');
    // A token the registry did not issue, but signed with the same key and kid, is accepted:
    // the key is what is trusted.
    const key = createPrivateKey(await readFile(join(registry.dir, 'token.key')));
    const forged = await signToken(key, { kid: header.kid }, {
      iss: testIssuer,
      aud: testService,
      sub: 'writer',
      access: [{ type: 'repository', name: 'team/app', actions: ['pull'] }],
    });
    assert.equal((await fetch(`${url}/v2/team/app/tags/list`, { headers: bearer(forged) })).status, 200);
  });
});
