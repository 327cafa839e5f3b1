import { z } from 'zod';
import { acceptsNull, duration, flag, int, section, text } from '../values.js';

export const signingAlgorithms = [
  'EdDSA', 'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512',
] as const;

/** Basic authentication against an htpasswd file (bcrypt entries). */
const htpasswd = section({
  realm: text,
  path: text,
});

/** Bearer tokens issued by a token server, as in Distribution. */
const token = section({
  realm: text,
  service: text,
  issuer: text,
  /** Certificates whose keys sign tokens. Not needed with auth.tokenserver, whose key Berth knows. */
  rootcertbundle: text.optional(),
  jwks: text.optional(),
  signingalgorithms: z
    .array(z.enum(signingAlgorithms, { error: `must be one of ${signingAlgorithms.join(', ')}` }), { error: 'must be a list' })
    .optional(),
  /** Build the realm from the request's Host (and X-Forwarded-Proto) plus autoredirectpath. */
  autoredirect: flag.default(false),
  autoredirectpath: text.default('/auth/token/'),
});

/** Distribution's development provider: any Authorization header passes. */
const silly = section({
  realm: text,
  service: text,
});

/** Berth extension: no authentication, said explicitly (the same as leaving auth out). */
const none = section({});

/**
 * Berth extension: Berth serves the token realm of auth.token itself, for the users of an
 * htpasswd file, signing tokens with its own key.
 */
const tokenserver = section({
  /** The path the token endpoint answers on. Default: the path of auth.token.realm (or autoredirectpath). */
  path: text.optional(),
  htpasswd: text,
  /** A PEM private key; Berth generates one there on first start when the file is missing. */
  signingkey: text,
  expiration: duration.prefault('5m'),
});

/**
 * Berth extension: brute-force protection for password logins (htpasswd Basic auth and the token
 * server). Failed logins are counted per user name and per client address (the socket's, never
 * X-Forwarded-For) in a window; past the limit, that name or address gets 429 TOOMANYREQUESTS
 * with Retry-After until the window ends, without its password being checked. Counted in each
 * process's memory: with several workers or replicas, each counts its own. On by default: a file
 * without `auth.throttle` gets `throttleDefaults`.
 */
const throttle = section({
  enabled: flag.default(true),
  /** Failed logins per user name (known or not) within the window. */
  attempts: int.min(1, { error: 'must be 1 or more' }).default(10),
  /** Failed logins per client address (IPv6: per /64) within the window; higher, as users may share an address. */
  addressattempts: int.min(1, { error: 'must be 1 or more' }).default(100),
  window: duration.refine((ms) => ms > 0, { message: 'must be longer than 0' }).prefault('1m'),
});

/** `auth.throttle` when the file leaves it out. */
export const throttleDefaults: z.output<typeof throttle> = throttle.parse({});

export const authProviders = ['htpasswd', 'token', 'silly', 'none'] as const;
export type AuthProviderName = (typeof authProviders)[number];

const auth = section({
  htpasswd: htpasswd.optional(),
  token: token.optional(),
  silly: silly.optional(),
  none: none.optional(),
  tokenserver: tokenserver.optional(),
  throttle: throttle.optional(),
})
  .superRefine((auth, ctx) => {
    const named = authProviders.filter((name) => auth[name] !== undefined);
    if (named.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          named.length === 0
            ? `name one authentication provider (${authProviders.join(', ')})`
            : `only one authentication provider may be configured, not ${named.join(' and ')}`,
      });
      return;
    }
    if (auth.tokenserver && !auth.token) {
      ctx.addIssue({ code: 'custom', path: ['tokenserver'], message: 'requires auth.token (Berth serves the realm of auth.token)' });
    }
    if (auth.token && !auth.tokenserver && auth.token.rootcertbundle === undefined && auth.token.jwks === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['token', 'rootcertbundle'],
        message: 'required (or auth.token.jwks, or auth.tokenserver to have Berth issue the tokens)',
      });
    }
    const { token, tokenserver } = auth;
    if (token && tokenserver && tokenserver.path === undefined && !token.autoredirect && realmPath(token.realm) === undefined) {
      ctx.addIssue({ code: 'custom', path: ['tokenserver', 'path'], message: 'required when auth.token.realm is not an absolute URL' });
    }
  })
  .transform((auth) => {
    if (!auth.token || !auth.tokenserver || auth.tokenserver.path !== undefined) return auth;
    const path = auth.token.autoredirect ? auth.token.autoredirectpath : realmPath(auth.token.realm)!;
    return { ...auth, tokenserver: { ...auth.tokenserver, path } };
  });

function realmPath(realm: string): string | undefined {
  try {
    return new URL(realm).pathname;
  } catch {
    return undefined;
  }
}

/** `auth`: absent or empty (`auth:`) means no authentication. */
export const authSchema = acceptsNull(z.preprocess((value) => value ?? undefined, auth.optional()));

export type AuthConfig = z.output<typeof auth>;
export type HtpasswdAuthConfig = NonNullable<AuthConfig['htpasswd']>;
export type TokenAuthConfig = NonNullable<AuthConfig['token']>;
export type SillyAuthConfig = NonNullable<AuthConfig['silly']>;
/** With `path` always set: the loader fills it in from auth.token. */
export type TokenServerConfig = NonNullable<AuthConfig['tokenserver']> & { path: string };

/** The provider the auth section names (the schema guarantees exactly one). */
export function authProvider(auth: AuthConfig): AuthProviderName {
  return authProviders.find((name) => auth[name] !== undefined)!;
}
