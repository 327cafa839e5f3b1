import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { throttleDefaults } from '../config/sections/auth.js';
import { OpenAccess, type AccessController } from './access-controller.js';
import { AccessPolicy, AccessPolicyError, type AccessPolicyOptions } from './access-policy.js';
import { createHtpasswdIfMissing, HtpasswdError, HtpasswdUsers } from './htpasswd.js';
import { HtpasswdAccess } from './htpasswd-access.js';
import { LoginThrottle } from './login-throttle.js';
import { SillyAccess } from './silly-access.js';
import { loadOrCreateSigningKey } from './signing-key.js';
import { TokenAccess } from './token-access.js';
import { TokenServer } from './token-server.js';
import { readCertificateBundle, readJwks, TokenVerifier } from './token-verifier.js';

/** `auth.htpasswd` */
export interface HtpasswdAuthOptions {
  realm: string;
  path: string;
}

/** `auth.token` (Distribution's keys). */
export interface TokenAuthOptions {
  realm: string;
  service: string;
  issuer: string;
  rootcertbundle?: string;
  jwks?: string;
  signingalgorithms?: readonly string[];
  autoredirect?: boolean;
  /** The token server's path on the request's origin when `autoredirect` is on (default `/auth/token`). */
  autoredirectpath?: string;
}

/** `auth.tokenserver` (a Berth extension; needs `auth.token` for realm, service and issuer). */
export interface TokenServerAuthOptions {
  /** Default: the path of `auth.token.realm` (or `autoredirectpath` with `autoredirect`). */
  path?: string;
  htpasswd: string;
  signingkey: string;
  /** Token lifetime in milliseconds. */
  expiration?: number;
}

/** `auth.throttle` (a Berth extension): brute-force protection for password logins. */
export interface ThrottleAuthOptions {
  enabled: boolean;
  /** Failed logins per user name within the window. */
  attempts: number;
  /** Failed logins per client address within the window. */
  addressattempts: number;
  /** The window, in milliseconds. */
  window: number;
}

export interface AuthOptions {
  htpasswd?: HtpasswdAuthOptions;
  token?: TokenAuthOptions;
  tokenserver?: TokenServerAuthOptions;
  /** `auth.none`: explicitly open (as no `auth` section). */
  none?: unknown;
  /** `auth.silly`: Distribution's development provider (any Authorization header passes). */
  silly?: { realm: string; service: string };
  /** Absent: the schema's defaults (on: 10 failures per user, 100 per address, per minute). */
  throttle?: ThrottleAuthOptions;
}

/** An endpoint outside the `/v2/` API, served on its exact path without the access gate. */
export interface AuthEndpoint {
  readonly path: string;
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
}

export interface AuthSetup {
  access: AccessController;
  /** Endpoints the HTTP server must serve as well (Berth's token server). */
  endpoints: AuthEndpoint[];
}

/** Auth cannot be set up as configured; the message names the key. */
export class AuthConfigError extends Error {
  override readonly name = 'AuthConfigError';
}

/** Default token lifetime: Distribution's token servers commonly use 5 minutes. */
export const defaultTokenExpirationMs = 5 * 60_000;

/**
 * Builds the access controller (and the token server, if configured) from the `auth` and
 * `access` sections. One place decides how they combine:
 * - no `auth` (or `auth.none`): everyone may do everything; an `access` section is then refused,
 *   as it could not be enforced;
 * - `auth.htpasswd`: Basic auth, the `access` rules decide;
 * - `auth.token`: Bearer tokens from an external token server, whose `access` claims decide;
 * - `auth.token` + `auth.tokenserver`: Berth issues the tokens itself from its htpasswd users and
 *   the `access` rules, and trusts its own signing key (plus any rootcertbundle/jwks given).
 * A missing htpasswd file is created with a generated `admin` user, whose password goes to
 * stderr once. A missing signing key is generated. `auth.throttle` guards the passwords both
 * htpasswd and the token server check.
 */
export async function createAccessController(
  options: {
    auth?: AuthOptions;
    access?: AccessPolicyOptions;
    /** The origin a request came to (behind proxies), for `autoredirect` realms. */
    origin?: (req: IncomingMessage) => string | undefined;
  },
  log: Logger,
): Promise<AuthSetup> {
  const auth = options.auth ?? {};
  const kinds = (['htpasswd', 'token', 'silly', 'none'] as const).filter((kind) => auth[kind] !== undefined);
  if (kinds.length > 1) throw new AuthConfigError(`auth: configure one of htpasswd, token, silly or none, not ${kinds.join(' and ')}`);
  if (auth.tokenserver && !auth.token) {
    throw new AuthConfigError('auth.tokenserver: needs auth.token (its realm, service and issuer) next to it');
  }
  let policy: AccessPolicy;
  try {
    policy = new AccessPolicy(options.access);
  } catch (error) {
    if (error instanceof AccessPolicyError) throw new AuthConfigError(error.message);
    throw error;
  }
  const loadUsers = async (key: string, path: string) => {
    const created = await createHtpasswdIfMissing(path);
    if (created) {
      log.warn({ path, user: created.user }, 'htpasswd file was missing: created it with a generated user (password on stderr)');
      process.stderr.write(`berth: created ${path} with user "${created.user}", password: ${created.password}\n`);
    }
    try {
      return await HtpasswdUsers.load(path);
    } catch (error) {
      if (error instanceof HtpasswdError) throw new AuthConfigError(`${key}: ${error.message}`);
      throw error;
    }
  };

  const limits = auth.throttle ?? throttleDefaults;
  const throttle = limits.enabled
    ? new LoginThrottle({ attempts: limits.attempts, addressAttempts: limits.addressattempts, windowMs: limits.window })
    : undefined;
  const logThrottle = () => log.info(limits.enabled ? { ...limits } : { enabled: false }, 'auth: failed-login throttle');

  if (auth.htpasswd) {
    const users = await loadUsers('auth.htpasswd.path', auth.htpasswd.path);
    log.info({ path: auth.htpasswd.path, rules: policy.configured }, 'auth: htpasswd (Basic)');
    logThrottle();
    return { access: new HtpasswdAccess(auth.htpasswd.realm, users, policy, throttle), endpoints: [] };
  }

  if (auth.token) {
    const token = auth.token;
    const trustedKeys = token.jwks ? await readFileOrFail('auth.token.jwks', () => readJwks(token.jwks!)) : new Map();
    const rootCertificates = token.rootcertbundle
      ? await readFileOrFail('auth.token.rootcertbundle', () => readCertificateBundle(token.rootcertbundle!))
      : [];
    const endpoints: AuthEndpoint[] = [];
    let own: { keyName: string; policy: AccessPolicy } | undefined;
    const tokenPath = auth.tokenserver?.path ?? (token.autoredirect ? (token.autoredirectpath ?? '/auth/token') : realmPath(token.realm));
    if (auth.tokenserver) {
      const server = auth.tokenserver;
      const path = tokenPath ?? '';
      if (!path.startsWith('/') || path.startsWith('/v2/') || path === '/v2') {
        throw new AuthConfigError('auth.tokenserver.path: must be an absolute path outside /v2/ (such as /auth/token)');
      }
      const key = await loadOrCreateSigningKey(server.signingkey);
      if (key.generated) log.warn({ path: server.signingkey }, 'token signing key was missing: generated a new one');
      log.info({ jwks: key.jwksPath, kid: key.keyId, alg: key.algorithm }, 'token server public key written');
      trustedKeys.set(key.keyId, key.publicKey);
      own = { keyName: key.keyId, policy };
      const users = await loadUsers('auth.tokenserver.htpasswd', server.htpasswd);
      endpoints.push(
        new TokenServer({
          path,
          issuer: token.issuer,
          service: token.service,
          expirationMs: server.expiration ?? defaultTokenExpirationMs,
          users,
          throttle,
          policy,
          key,
        }),
      );
      logThrottle();
    } else if (policy.configured) {
      log.warn('access rules are not used with auth.token alone: the external token server decides (see auth.tokenserver)');
    }
    let verifier: TokenVerifier;
    try {
      verifier = await TokenVerifier.create({
        issuer: token.issuer,
        service: token.service,
        rootCertificates,
        trustedKeys,
        algorithms: token.signingalgorithms,
      });
    } catch (error) {
      throw new AuthConfigError(`auth.token: ${(error as Error).message}`);
    }
    const autoRedirectPath = token.autoredirect ? (tokenPath ?? '/auth/token') : undefined;
    log.info({ realm: token.realm, service: token.service, issuer: token.issuer, tokenserver: own !== undefined }, 'auth: token (Bearer)');
    return {
      access: new TokenAccess(verifier, { realm: token.realm, service: token.service, autoRedirectPath, own, origin: options.origin }),
      endpoints,
    };
  }

  if (auth.silly) {
    if (policy.configured) throw new AuthConfigError('access: access rules cannot be used with auth.silly');
    log.warn('auth: silly (any Authorization header passes; for development only)');
    return { access: new SillyAccess(auth.silly.realm, auth.silly.service), endpoints: [] };
  }

  if (policy.configured) {
    throw new AuthConfigError('access: access rules need auth.htpasswd or auth.token with auth.tokenserver (without auth, everyone may do everything)');
  }
  return { access: new OpenAccess(), endpoints: [] };
}

async function readFileOrFail<T>(key: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new AuthConfigError(`${key}: ${(error as Error).message}`);
  }
}

function realmPath(realm: string): string | undefined {
  try {
    return new URL(realm).pathname;
  } catch {
    return undefined;
  }
}
