import assert from 'node:assert/strict';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeAuthority, signToken, unsignedToken, type TestAuthority } from '../../test/helpers/tokens.js';
import { jwkThumbprint, libtrustKeyId } from './key-id.js';
import { repositoryScope } from './scope.js';
import { claimCovers } from './token-access.js';
import { readCertificateBundle, readJwks, TokenError, TokenVerifier } from './token-verifier.js';

let dir: string;
let authority: TestAuthority;
let verifier: TokenVerifier;
const issuer = 'test-issuer';
const service = 'test-registry';
const now = () => Math.floor(Date.now() / 1000);
const pull = { type: 'repository', name: 'team/app', actions: ['pull'] };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-jwt-'));
  authority = await makeAuthority(dir);
  await writeFile(join(dir, 'bundle.pem'), authority.caPem);
  verifier = await TokenVerifier.create({ issuer, service, rootCertificates: await readCertificateBundle(join(dir, 'bundle.pem')) });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const good = { iss: issuer, aud: service, sub: 'alice', access: [pull] };
const kid = () => libtrustKeyId(authority.ca.publicKey);

async function refused(token: string, reason: 'invalid' | 'malformed', message?: RegExp) {
  await assert.rejects(verifier.verify(token), (error: Error) => {
    assert.ok(error instanceof TokenError, String(error));
    assert.equal(error.reason, reason);
    if (message) assert.match(error.message, message);
    return true;
  });
}

describe('libtrust key ids', () => {
  test('twelve colon-separated groups of four base32 characters, stable per key', () => {
    const id = kid();
    assert.match(id, /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    assert.equal(libtrustKeyId(createPublicKey(authority.caKey)), id);
    assert.notEqual(libtrustKeyId(authority.leaf.publicKey), id);
  });

  test('a known key gives the id libtrust computes', () => {
    // A fixed P-256 public key; the id below was computed independently (Python: SHA-256 of the
    // DER SubjectPublicKeyInfo, first 30 bytes, base32, groups of four).
    const jwk = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    const der = key.export({ type: 'spki', format: 'der' });
    assert.equal(der.length, 91);
    assert.equal(libtrustKeyId(key), 'FPI3:WDCE:VCL4:GCT2:UCMR:ZXRY:3ADC:7ZCB:3ZIN:UD2G:QJJU:J5QC');
  });
});

describe('token verification', () => {
  test('a good token signed by a bundle key named by its libtrust kid', async () => {
    const verified = await verifier.verify(await signToken(authority.caKey, { kid: kid() }, good));
    assert.equal(verified.subject, 'alice');
    assert.deepEqual(verified.access, [pull]);
  });

  test('the RFC 7638 thumbprint names the same key (Distribution 3)', async () => {
    const verified = await verifier.verify(await signToken(authority.caKey, { kid: await jwkThumbprint(authority.ca.publicKey) }, good));
    assert.equal(verified.subject, 'alice');
  });

  test('an x5c chain leading to a bundle root', async () => {
    const x5c = [authority.leaf.raw.toString('base64')];
    const verified = await verifier.verify(await signToken(authority.leafKey, { x5c }, good));
    assert.equal(verified.subject, 'alice');
  });

  test('an x5c chain from another authority is refused', async () => {
    const other = await makeAuthority(dir, 'other-ca');
    await refused(await signToken(other.leafKey, { x5c: [other.leaf.raw.toString('base64')] }, good), 'invalid', /trusted root/);
    await refused(await signToken(other.caKey, { x5c: [other.ca.raw.toString('base64')] }, good), 'invalid', /trusted root/);
  });

  test('an x5c naming the leaf while signed by another key is refused', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await refused(await signToken(privateKey, { x5c: [authority.leaf.raw.toString('base64')] }, good), 'invalid');
  });

  test('alg none is refused', async () => {
    await refused(unsignedToken(good), 'invalid', /algorithm "none"/);
  });

  test('a kid naming a trusted key but signed with another key is refused', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await refused(await signToken(privateKey, { kid: kid() }, good), 'invalid', /signature/);
  });

  test('an unknown kid, or no key reference at all, is refused', async () => {
    await refused(await signToken(authority.caKey, { kid: 'AAAA:BBBB' }, good), 'invalid', /untrusted key/);
    await refused(await signToken(authority.caKey, {}, good), 'invalid', /names no signing key/);
  });

  test('an embedded jwk is not trusted by itself', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    await refused(await signToken(privateKey, { jwk: jwk as never }, good), 'invalid', /untrusted key/);
  });

  test('expiry and not-before, with 60 s leeway', async () => {
    await refused(await signToken(authority.caKey, { kid: kid() }, { ...good, exp: now() - 120 }), 'invalid', /exp/);
    await refused(await signToken(authority.caKey, { kid: kid() }, { ...good, nbf: now() + 600 }), 'invalid', /nbf/);
    const withinLeeway = await signToken(authority.caKey, { kid: kid() }, { ...good, exp: now() - 10 });
    assert.equal((await verifier.verify(withinLeeway)).subject, 'alice');
  });

  test('wrong audience or issuer is refused', async () => {
    await refused(await signToken(authority.caKey, { kid: kid() }, { ...good, aud: 'another-registry' }), 'invalid', /aud/);
    await refused(await signToken(authority.caKey, { kid: kid() }, { ...good, iss: 'someone-else' }), 'invalid', /iss/);
    assert.equal((await verifier.verify(await signToken(authority.caKey, { kid: kid() }, { ...good, aud: ['x', service] }))).subject, 'alice');
  });

  test('garbage is malformed', async () => {
    await refused('not-a-token', 'malformed');
    await refused('a.b.c', 'malformed');
  });

  test('signingalgorithms limits what is accepted', async () => {
    const only = await TokenVerifier.create({ issuer, service, rootCertificates: [authority.ca], algorithms: ['RS256'] });
    await assert.rejects(only.verify(await signToken(authority.caKey, { kid: kid() }, good)), /algorithm "ES256" is not accepted/);
    await assert.rejects(TokenVerifier.create({ issuer, service, rootCertificates: [authority.ca], algorithms: ['XX1'] }), /unsupported/);
  });

  test('keys from a JWKS file, by kid', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1' }] }));
    const fromJwks = await TokenVerifier.create({ issuer, service, trustedKeys: await readJwks(join(dir, 'jwks.json')) });
    assert.equal((await fromJwks.verify(await signToken(privateKey, { kid: 'k1' }, good))).subject, 'alice');
    await assert.rejects(fromJwks.verify(await signToken(authority.caKey, { kid: kid() }, good)), /untrusted key/);
  });

  test('an empty sub is anonymous', async () => {
    assert.equal((await verifier.verify(await signToken(authority.caKey, { kid: kid() }, { ...good, sub: '' }))).subject, undefined);
  });
});

describe('access claims', () => {
  test('a claim covers the actions it lists for that exact resource; * covers all', () => {
    assert.ok(claimCovers([pull], repositoryScope('team/app', 'pull')));
    assert.ok(!claimCovers([pull], repositoryScope('team/app', 'pull', 'push')));
    assert.ok(!claimCovers([pull], repositoryScope('team/other', 'pull')), 'scope for another repository');
    assert.ok(claimCovers([{ ...pull, actions: ['*'] }], repositoryScope('team/app', 'delete')));
    assert.ok(claimCovers([pull, { ...pull, actions: ['push'] }], repositoryScope('team/app', 'pull', 'push')));
    assert.ok(!claimCovers([{ type: 'registry', name: 'team/app', actions: ['*'] }], repositoryScope('team/app', 'pull')));
  });
});
