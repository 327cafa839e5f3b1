import type { IncomingMessage } from 'node:http';
import { RegistryError } from '../protocol/errors.js';
import { formatScope, mergeScopes, type Scope } from './scope.js';

/** What an `Authorization` header holds. Basic with an empty user (`Og==`) counts as none. */
export type Credentials =
  | { readonly kind: 'none' }
  | { readonly kind: 'basic'; readonly user: string; readonly password: string }
  | { readonly kind: 'bearer'; readonly token: string };

export function readCredentials(header: string | undefined): Credentials {
  if (!header) return { kind: 'none' };
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const value = space < 0 ? '' : header.slice(space + 1).trim();
  if (scheme === 'bearer' && value !== '') return { kind: 'bearer', token: value };
  if (scheme === 'basic' && value !== '') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { kind: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return { kind: 'none' };
}

export function requestCredentials(req: IncomingMessage): Credentials {
  return readCredentials(req.headers.authorization);
}

const quote = (value: string) => `"${value.replace(/["\\]/g, '\\$&')}"`;

export function basicChallenge(realm: string): string {
  return `Basic realm=${quote(realm)}`;
}

/**
 * `Bearer realm="...",service="...",scope="repository:a:pull,push registry:catalog:*"`, with
 * `error="invalid_token"` or `error="insufficient_scope"` when a token was sent (RFC 6750 §3).
 */
export function bearerChallenge(options: {
  realm: string;
  service: string;
  scopes: readonly Scope[];
  error?: 'invalid_token' | 'insufficient_scope';
}): string {
  let challenge = `Bearer realm=${quote(options.realm)},service=${quote(options.service)}`;
  const scopes = mergeScopes(options.scopes);
  if (scopes.length > 0) challenge += `,scope=${quote(scopes.map(formatScope).join(' '))}`;
  if (options.error) challenge += `,error=${quote(options.error)}`;
  return challenge;
}

/** A 401 with its challenge; the detail lists the access the request needed, as Distribution does. */
export function unauthorized(challenge: string, needed: readonly Scope[], message?: string): RegistryError {
  return new RegistryError('UNAUTHORIZED', {
    message,
    headers: { 'WWW-Authenticate': challenge },
    detail: needed.length > 0 ? mergeScopes(needed).map((s) => ({ type: s.type, name: s.name, actions: s.actions })) : undefined,
  });
}

/** A 403: the caller is known and the access rules do not let them do this. */
export function denied(needed: readonly Scope[]): RegistryError {
  return new RegistryError('DENIED', {
    detail: mergeScopes(needed).map((s) => ({ type: s.type, name: s.name, actions: s.actions })),
  });
}
