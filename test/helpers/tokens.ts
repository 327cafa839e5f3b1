import { execFile } from 'node:child_process';
import { generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SignJWT, type JWTHeaderParameters } from 'jose';

const exec = promisify(execFile);

export interface TestAuthority {
  /** A self-signed CA certificate and its key. */
  readonly ca: X509Certificate;
  readonly caKey: KeyObject;
  readonly caPem: string;
  /** A leaf certificate issued by the CA, for x5c chains. */
  readonly leaf: X509Certificate;
  readonly leafKey: KeyObject;
}

/** Makes a CA and a leaf it issued with openssl (EC P-256), in dir. */
export async function makeAuthority(dir: string, name = 'token-ca'): Promise<TestAuthority> {
  const file = (suffix: string) => join(dir, `${name}-${suffix}`);
  const write = async (suffix: string, key: KeyObject) => {
    await writeFile(file(suffix), key.export({ type: 'pkcs8', format: 'pem' }));
    return file(suffix);
  };
  const caPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leafPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caKeyFile = await write('ca.key', caPair.privateKey);
  const leafKeyFile = await write('leaf.key', leafPair.privateKey);
  await exec('openssl', ['req', '-x509', '-new', '-key', caKeyFile, '-subj', `/CN=${name}`, '-days', '2', '-out', file('ca.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,digitalSignature']);
  await exec('openssl', ['req', '-new', '-key', leafKeyFile, '-subj', `/CN=${name}-leaf`, '-out', file('leaf.csr')]);
  await exec('openssl', ['x509', '-req', '-in', file('leaf.csr'), '-CA', file('ca.pem'), '-CAkey', caKeyFile, '-CAcreateserial', '-days', '2', '-out', file('leaf.pem')]);
  const caPem = await readFile(file('ca.pem'), 'utf8');
  return {
    ca: new X509Certificate(caPem),
    caKey: caPair.privateKey,
    caPem,
    leaf: new X509Certificate(await readFile(file('leaf.pem'))),
    leafKey: leafPair.privateKey,
  };
}

export interface TokenClaims {
  iss?: string;
  aud?: string | string[];
  sub?: string;
  exp?: number;
  nbf?: number;
  access?: { type: string; name: string; actions: string[] }[];
}

const now = () => Math.floor(Date.now() / 1000);

/** Signs a registry token (ES256 unless the key says otherwise) with the given header and claims. */
export async function signToken(key: KeyObject, header: Partial<JWTHeaderParameters>, claims: TokenClaims): Promise<string> {
  const { exp = now() + 300, nbf, ...rest } = claims;
  const jwt = new SignJWT({ ...rest, exp, ...(nbf === undefined ? {} : { nbf }) });
  return await jwt.setProtectedHeader({ alg: 'ES256', typ: 'JWT', ...header }).setIssuedAt().sign(key);
}

/** An unsigned token (`alg: none`), which must never pass. */
export function unsignedToken(claims: TokenClaims): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ exp: now() + 300, ...claims })}.`;
}
