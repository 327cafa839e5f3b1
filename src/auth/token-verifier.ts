import { createPublicKey, createSecretKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { jwkThumbprint, libtrustKeyId } from './key-id.js';

/** Algorithms accepted when `signingalgorithms` is not set: every asymmetric JWS algorithm. */
export const defaultAlgorithms = ['EdDSA', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'];
const knownAlgorithms = [...defaultAlgorithms, 'HS256', 'HS384', 'HS512'];

/** Distribution's allowance for clock differences on `exp` and `nbf`. */
export const clockLeewaySeconds = 60;

/** Why a token was refused: `malformed` (not a JWS at all) or `invalid` (signature, time, issuer, audience). */
export class TokenError extends Error {
  override readonly name = 'TokenError';
  constructor(
    readonly reason: 'malformed' | 'invalid',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One entry of the token's `access` claim. */
export interface AccessEntry {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

export interface VerifiedToken {
  /** `sub`; undefined (anonymous) when empty or missing. */
  readonly subject?: string;
  readonly access: readonly AccessEntry[];
  /** The trusted key that signed it, by its name in `trustedKeys` (undefined for an x5c chain). */
  readonly keyName?: string;
}

export interface TokenVerifierOptions {
  /** `iss` must equal this. */
  issuer: string;
  /** `aud` must name this. */
  service: string;
  /** Roots for `x5c` chains; each root's key is also trusted by its key ids (libtrust and RFC 7638). */
  rootCertificates?: readonly X509Certificate[];
  /** Keys by `kid` (a JWKS file, Berth's own token server key). */
  trustedKeys?: ReadonlyMap<string, KeyObject>;
  /** Accepted `alg` values (`signingalgorithms`); default: defaultAlgorithms. */
  algorithms?: readonly string[];
}

/**
 * Checks Docker registry tokens (JWS compact JWTs): the signing key is found by the header's
 * `x5c` chain (which must lead to a root of the bundle), by an embedded `jwk` whose `kid` is
 * trusted, or by `kid`; the key embedded in a token is never trusted by itself. Then the
 * signature, `exp` (required) and `nbf` with a 60 s leeway, `iss` and `aud`.
 */
export class TokenVerifier {
  private readonly roots: readonly X509Certificate[];
  private readonly keys = new Map<string, KeyObject>();
  private readonly algorithms: string[];

  private constructor(private readonly options: TokenVerifierOptions) {
    this.roots = options.rootCertificates ?? [];
    this.algorithms = [...(options.algorithms ?? defaultAlgorithms)];
    for (const alg of this.algorithms) {
      if (!knownAlgorithms.includes(alg)) throw new Error(`unsupported signing algorithm ${JSON.stringify(alg)} (${knownAlgorithms.join(', ')})`);
    }
    for (const [kid, key] of options.trustedKeys ?? []) this.keys.set(kid, key);
  }

  static async create(options: TokenVerifierOptions): Promise<TokenVerifier> {
    const verifier = new TokenVerifier(options);
    for (const root of verifier.roots) {
      verifier.keys.set(libtrustKeyId(root.publicKey), root.publicKey);
      verifier.keys.set(await jwkThumbprint(root.publicKey), root.publicKey);
    }
    if (verifier.keys.size === 0 && verifier.roots.length === 0) throw new Error('token auth needs at least one signing key (rootcertbundle or jwks)');
    return verifier;
  }

  async verify(token: string): Promise<VerifiedToken> {
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch (error) {
      throw new TokenError('malformed', 'not a signed JWT', { cause: error });
    }
    if (token.split('.').length !== 3) throw new TokenError('malformed', 'not a compact JWS');
    if (typeof header.alg !== 'string' || !this.algorithms.includes(header.alg)) {
      throw new TokenError('invalid', `signing algorithm ${JSON.stringify(header.alg)} is not accepted`);
    }
    const { key, keyName } = this.signingKey(header);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        issuer: this.options.issuer,
        audience: this.options.service,
        algorithms: this.algorithms,
        clockTolerance: clockLeewaySeconds,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      const what = error instanceof joseErrors.JOSEError ? error.message : 'verification failed';
      throw new TokenError('invalid', what, { cause: error });
    }
    return { subject: typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined, access: readAccess(payload.access), keyName };
  }

  private signingKey(header: ReturnType<typeof decodeProtectedHeader>): { key: KeyObject; keyName?: string } {
    if (Array.isArray(header.x5c) && header.x5c.length > 0) return { key: this.verifyChain(header.x5c) };
    const jwk = header.jwk as JWK | undefined;
    if (jwk) {
      if (jwk.kid && this.keys.has(jwk.kid)) return { key: this.keys.get(jwk.kid)!, keyName: jwk.kid };
      if (Array.isArray(jwk.x5c) && jwk.x5c.length > 0) return { key: this.verifyChain(jwk.x5c) };
      throw new TokenError('invalid', 'token carries an untrusted key without a certificate chain');
    }
    if (typeof header.kid === 'string') {
      const key = this.keys.get(header.kid);
      if (!key) throw new TokenError('invalid', `token signed by an untrusted key ${JSON.stringify(header.kid)}`);
      return { key, keyName: header.kid };
    }
    throw new TokenError('invalid', 'token names no signing key (x5c, jwk or kid)');
  }

  /** The leaf's key, when each certificate is issued by the next and the last by a bundle root. */
  private verifyChain(x5c: readonly unknown[]): KeyObject {
    let chain: X509Certificate[];
    try {
      chain = x5c.map((der) => new X509Certificate(Buffer.from(String(der), 'base64')));
    } catch (error) {
      throw new TokenError('invalid', 'x5c holds a certificate that cannot be read', { cause: error });
    }
    const now = Date.now();
    const current = (cert: X509Certificate) => Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo);
    const issues = (issuer: X509Certificate, cert: X509Certificate) => cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
    for (let i = 0; i < chain.length; i++) {
      const cert = chain[i]!;
      if (!current(cert)) throw new TokenError('invalid', `x5c certificate ${cert.subject} is expired or not yet valid`);
      const next = chain[i + 1];
      if (next && !(next.ca && issues(next, cert))) throw new TokenError('invalid', `x5c certificate ${cert.subject} is not issued by the next in the chain`);
    }
    const top = chain[chain.length - 1]!;
    const anchored = this.roots.some(
      (root) => root.fingerprint256 === top.fingerprint256 || (root.ca && current(root) && issues(root, top)),
    );
    if (!anchored) throw new TokenError('invalid', 'x5c chain does not lead to a trusted root certificate');
    return chain[0]!.publicKey;
  }
}

function readAccess(claim: unknown): AccessEntry[] {
  if (!Array.isArray(claim)) return [];
  const entries: AccessEntry[] = [];
  for (const item of claim) {
    if (typeof item !== 'object' || item === null) continue;
    const { type, name, actions } = item as Record<string, unknown>;
    if (typeof type !== 'string' || typeof name !== 'string' || !Array.isArray(actions)) continue;
    entries.push({ type, name, actions: actions.filter((a): a is string => typeof a === 'string') });
  }
  return entries;
}

/** Every certificate of a PEM bundle (`rootcertbundle`). */
export async function readCertificateBundle(path: string): Promise<X509Certificate[]> {
  const text = await readFile(path, 'utf8');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${path}: no PEM certificate found`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new Error(`${path}: certificate ${i + 1} cannot be read`, { cause: error });
    }
  });
}

/** The keys of a JWKS file by `kid` (every key needs one, as tokens name it). */
export async function readJwks(path: string): Promise<Map<string, KeyObject>> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as { keys?: JWK[] };
  if (!Array.isArray(parsed.keys)) throw new Error(`${path}: a JWKS file needs a "keys" list`);
  const keys = new Map<string, KeyObject>();
  parsed.keys.forEach((jwk, i) => {
    if (!jwk.kid) throw new Error(`${path}: key ${i + 1} has no "kid"`);
    const key =
      jwk.kty === 'oct' ? createSecretKey(Buffer.from(String(jwk.k), 'base64url')) : createPublicKey({ key: publicPart(jwk), format: 'jwk' });
    keys.set(jwk.kid, key);
  });
  return keys;
}

/** Only the public members of a JWK, so a file holding private keys still gives public keys. */
function publicPart(jwk: JWK): JWK & { kty: string } {
  const { kty, crv, x, y, n, e } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined)) as unknown as JWK & { kty: string };
}
