// Auth under hostile input (issue #9): an unknown user gets the same answer, after the same
// bcrypt work, as a wrong password; failed logins are throttled per user name and per address on
// Basic auth and on the token endpoint (429 TOOMANYREQUESTS with Retry-After, in the spec's error
// format); forged and out-of-place tokens are refused with 401 and error="invalid_token".
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { SignJWT } from 'jose';
import { HtpasswdUsers } from '../../src/auth/htpasswd.js';
import { loadOrCreateSigningKey, type SigningKey } from '../../src/auth/signing-key.js';
import { basic, bearer, fetchToken, passwords, pushImageAs, startAuthRegistry, testIssuer, testService, tokenPath, type AuthRegistry } from '../helpers/auth.js';
import { expectError } from '../helpers/http.js';
import { unsignedToken } from '../helpers/tokens.js';

const minute = 60_000;

/** Everything a client sees of an answer except its Date: what must not differ between two failures. */
async function answer(response: Response): Promise<{ status: number; headers: [string, string][]; body: string }> {
  const headers = [...response.headers].filter(([name]) => name !== 'date');
  return { status: response.status, headers, body: await response.text() };
}

/** A 429 in the spec's format with a Retry-After of 1..max seconds; returns the Retry-After. */
async function expectThrottled(response: Response, maxSeconds: number): Promise<number> {
  const retryAfter = Number(response.headers.get('retry-after'));
  await expectError(response, 429, 'TOOMANYREQUESTS', { message: /too many failed logins/ });
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= maxSeconds, `Retry-After ${retryAfter}`);
  return retryAfter;
}

const v2 = (url: string, headers: Record<string, string>) => fetch(`${url}/v2/`, { headers });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('unknown user and wrong password look the same', { timeout: 60_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-hardening-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('an unknown user costs one bcrypt comparison at the cost of the file, as a known user does', async () => {
    // Cost 6, not Berth's 10: the dummy hash must follow the file (htpasswd -B writes cost 5).
    const path = join(dir, 'htpasswd');
    const aliceHash = bcrypt.hashSync('alice-password', 6);
    await writeFile(path, `alice:${aliceHash}\nbob:${bcrypt.hashSync('bob-password', 6)}\n`);
    const compared: string[] = [];
    const users = await HtpasswdUsers.load(path, {
      compare: async (password, hash) => {
        compared.push(hash);
        return await bcrypt.compare(password, hash);
      },
    });
    assert.equal(await users.verify('alice', 'wrong'), undefined);
    assert.equal(await users.verify('mallory', 'wrong'), undefined);
    assert.equal(await users.verify('mallory', 'alice-password'), undefined);
    assert.equal(compared.length, 3, 'one comparison per attempt, known user or not');
    assert.equal(compared[0], aliceHash);
    for (const hash of compared.slice(1)) {
      assert.equal(bcrypt.getRounds(hash), 6, 'the unknown user is compared at the cost of the file');
      assert.notEqual(hash, aliceHash);
    }
  });

  test('Basic auth: same status, headers and body', async () => {
    const registry = await startAuthRegistry('htpasswd');
    try {
      const wrong = await answer(await v2(registry.url, basic('writer', 'wrong-password')));
      const unknown = await answer(await v2(registry.url, basic('nobody', 'wrong-password')));
      assert.equal(wrong.status, 401);
      assert.deepEqual(unknown, wrong);
    } finally {
      await registry.close();
    }
  });

  test('token endpoint: same status, headers and body', async () => {
    const registry = await startAuthRegistry('tokenserver');
    try {
      const ask = (user: string) => fetch(`${registry.url}${tokenPath}?service=${testService}`, { headers: basic(user, 'wrong-password') });
      const wrong = await answer(await ask('writer'));
      const unknown = await answer(await ask('nobody'));
      assert.equal(wrong.status, 401);
      assert.deepEqual(unknown, wrong);
    } finally {
      await registry.close();
    }
  });
});

describe('failed-login throttle on Basic auth', { timeout: 60_000 }, () => {
  test('per user: past the limit the right password gets 429 too; other users pass', async () => {
    const registry = await startAuthRegistry('htpasswd', undefined, { throttle: { enabled: true, attempts: 3, addressattempts: 1000, window: minute } });
    try {
      for (let i = 0; i < 3; i++) await expectError(await v2(registry.url, basic('dev', `guess-${i}`)), 401, 'UNAUTHORIZED');
      await expectThrottled(await v2(registry.url, basic('dev')), 60);
      // A throttled login is not checked, so the right and a wrong password get the same 429.
      const right = await answer(await v2(registry.url, basic('dev')));
      const wrong = await answer(await v2(registry.url, basic('dev', 'guess-again')));
      assert.deepEqual({ ...wrong, headers: wrong.headers.filter(([name]) => name !== 'retry-after') }, { ...right, headers: right.headers.filter(([name]) => name !== 'retry-after') });
      // Unknown names are counted the same way, so the 429 does not tell them apart either.
      for (let i = 0; i < 3; i++) await expectError(await v2(registry.url, basic('nobody', `guess-${i}`)), 401, 'UNAUTHORIZED');
      await expectThrottled(await v2(registry.url, basic('nobody', 'guess-3')), 60);
      assert.equal((await v2(registry.url, basic('reader'))).status, 200, 'another user from the same address');
      // Any request that carries the credentials is refused, not only GET /v2/.
      await expectThrottled(await fetch(`${registry.url}/v2/team/app/tags/list`, { headers: basic('dev') }), 60);
    } finally {
      await registry.close();
    }
  });

  test('per address: failures spread over many names block every login from that address', async () => {
    const registry = await startAuthRegistry('htpasswd', undefined, { throttle: { enabled: true, attempts: 1000, addressattempts: 4, window: minute } });
    try {
      for (let i = 0; i < 4; i++) await expectError(await v2(registry.url, basic(`spray${i}`, 'password')), 401, 'UNAUTHORIZED');
      await expectThrottled(await v2(registry.url, basic('root')), 60);
      // Anonymous requests carry no password and are not throttled.
      assert.equal((await fetch(`${registry.url}/v2/public/base/tags/list`)).status, 404);
    } finally {
      await registry.close();
    }
  });

  test('after the window, the right password is accepted again', async () => {
    const registry = await startAuthRegistry('htpasswd', undefined, { throttle: { enabled: true, attempts: 2, addressattempts: 1000, window: 1000 } });
    try {
      for (let i = 0; i < 2; i++) await expectError(await v2(registry.url, basic('writer', `guess-${i}`)), 401, 'UNAUTHORIZED');
      const retryAfter = await expectThrottled(await v2(registry.url, basic('writer')), 1);
      await sleep(retryAfter * 1000 + 100);
      assert.equal((await v2(registry.url, basic('writer'))).status, 200);
    } finally {
      await registry.close();
    }
  });

  test('without auth.throttle the defaults hold: 10 failures per user name', async () => {
    const registry = await startAuthRegistry('htpasswd');
    try {
      for (let i = 0; i < 10; i++) await expectError(await v2(registry.url, basic('writer', `guess-${i}`)), 401, 'UNAUTHORIZED');
      await expectThrottled(await v2(registry.url, basic('writer')), 60);
    } finally {
      await registry.close();
    }
  });

  test('with auth.throttle.enabled false nothing is throttled', async () => {
    const registry = await startAuthRegistry('htpasswd', undefined, { throttle: { enabled: false, attempts: 1, addressattempts: 1, window: minute } });
    try {
      for (let i = 0; i < 5; i++) await expectError(await v2(registry.url, basic('writer', `guess-${i}`)), 401, 'UNAUTHORIZED');
      assert.equal((await v2(registry.url, basic('writer'))).status, 200);
    } finally {
      await registry.close();
    }
  });
});

describe('failed-login throttle on the token endpoint', { timeout: 60_000 }, () => {
  let registry: AuthRegistry;
  before(async () => {
    registry = await startAuthRegistry('tokenserver', undefined, { throttle: { enabled: true, attempts: 2, addressattempts: 1000, window: minute } });
  });
  after(async () => {
    await registry.close();
  });
  const get = (user: string, password = passwords[user]) =>
    fetch(`${registry.url}${tokenPath}?service=${testService}&scope=repository:team/app:pull`, { headers: basic(user, password) });
  const post = (user: string, password = passwords[user]!) =>
    fetch(`${registry.url}${tokenPath}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username: user, password, service: testService, scope: 'repository:team/app:pull' }).toString(),
    });

  test('Basic credentials (GET) and the password form (POST) count together; the limit refuses both', async () => {
    assert.equal((await get('writer', 'guess-0')).status, 401);
    assert.equal((await post('writer', 'guess-1')).status, 401);
    await expectThrottled(await get('writer'), 60);
    await expectThrottled(await post('writer'), 60);
    assert.equal((await get('reader')).status, 200, 'another user from the same address');
    assert.equal((await post('reader')).status, 200);
  });

  test('anonymous token requests are not throttled', async () => {
    for (let i = 0; i < 2; i++) assert.equal((await post('nobody', `guess-${i}`)).status, 401);
    await expectThrottled(await post('nobody', 'guess-2'), 60);
    const anonymous = await fetch(`${registry.url}${tokenPath}?service=${testService}&scope=repository:public/base:pull`);
    assert.equal(anonymous.status, 200);
  });
});

describe('forged and misplaced tokens are refused', { timeout: 60_000 }, () => {
  let registry: AuthRegistry;
  let key: SigningKey;
  const now = () => Math.floor(Date.now() / 1000);
  const pullTeamApp = [{ type: 'repository', name: 'team/app', actions: ['pull'] }];
  const claims = { iss: testIssuer, aud: testService, sub: 'reader', access: pullTeamApp };

  before(async () => {
    // HS256 is accepted here on purpose: a token signed with the public key as an HMAC secret
    // must still fail, on the key's type, not merely on the algorithm list.
    registry = await startAuthRegistry('tokenserver', undefined, { signingalgorithms: ['ES256', 'RS256', 'EdDSA', 'HS256'] });
    key = await loadOrCreateSigningKey(join(registry.dir, 'token.key'));
    assert.equal(key.generated, false);
    const root = await fetchToken(registry.url, ['repository:team/app:pull,push'], 'root');
    await pushImageAs(registry.url, 'team/app', 'v1', bearer(root));
  });
  after(async () => {
    await registry.close();
  });

  const sign = async (payload: Record<string, unknown>, signingKey = key.privateKey, alg = key.algorithm) =>
    await new SignJWT(payload).setProtectedHeader({ alg, kid: key.keyId, typ: 'JWT' }).setIssuedAt().sign(signingKey);
  const pull = (token: string) => fetch(`${registry.url}/v2/team/app/tags/list`, { headers: bearer(token) });

  test('a token signed with the server key, for the right service and repository, passes (the baseline)', async () => {
    assert.equal((await pull(await sign({ ...claims, exp: now() + 300 }))).status, 200);
  });

  const forged: Record<string, () => Promise<string>> = {
    'alg none': async () => unsignedToken({ ...claims, exp: now() + 300 }),
    'alg none naming the server key': async () => {
      const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      return `${part({ alg: 'none', kid: key.keyId, typ: 'JWT' })}.${part({ ...claims, exp: now() + 300 })}.`;
    },
    'HS256 keyed with the public key bytes': async () => {
      const secret = key.publicKey.export({ type: 'spki', format: 'pem' });
      return await sign({ ...claims, exp: now() + 300 }, Buffer.from(secret) as unknown as typeof key.privateKey, 'HS256');
    },
    'signed by another key under the server key id': async () => {
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      return await sign({ ...claims, exp: now() + 300 }, other, 'ES256');
    },
    'wrong audience': async () => await sign({ ...claims, aud: 'another-registry', exp: now() + 300 }),
    'wrong issuer': async () => await sign({ ...claims, iss: 'someone-else', exp: now() + 300 }),
    'expired (past the 60 s leeway)': async () => await sign({ ...claims, exp: now() - 120 }),
    'no expiry at all': async () => await sign({ ...claims }),
    'not valid before a time in the future': async () => await sign({ ...claims, nbf: now() + 600, exp: now() + 900 }),
    'a tampered payload (sub and access changed, signature kept)': async () => {
      const [header, , signature] = (await fetchToken(registry.url, ['repository:public/base:pull'], 'reader')).split('.');
      const payload = Buffer.from(JSON.stringify({ ...claims, sub: 'root', exp: now() + 300 })).toString('base64url');
      return `${header}.${payload}.${signature}`;
    },
  };
  test('a valid token for other repositories (or a prefix of the name): 401 insufficient_scope', async () => {
    const elsewhere = [
      { type: 'repository', name: 'public/base', actions: ['pull', 'push'] },
      { type: 'repository', name: 'team', actions: ['*'] },
      { type: 'repository', name: 'team/app/sub', actions: ['*'] },
      { type: 'registry', name: 'team/app', actions: ['*'] },
    ];
    const response = await pull(await sign({ ...claims, access: elsewhere, exp: now() + 300 }));
    await expectError(response, 401, 'UNAUTHORIZED');
    assert.match(response.headers.get('www-authenticate') ?? '', /scope="repository:team\/app:pull",error="insufficient_scope"$/);
  });

  for (const [what, make] of Object.entries(forged)) {
    test(`${what}: 401 invalid_token`, async () => {
      const response = await pull(await make());
      await expectError(response, 401, 'UNAUTHORIZED');
      assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer realm=.*,error="invalid_token"$/);
    });
  }
});
