import type { IncomingMessage } from 'node:http';
import type { AccessController, Grant } from './access-controller.js';
import type { AccessPolicy } from './access-policy.js';
import { bearerChallenge, denied, requestCredentials, unauthorized } from './credentials.js';
import { coversAction, type Scope } from './scope.js';
import { TokenError, type AccessEntry, type TokenVerifier, type VerifiedToken } from './token-verifier.js';

export interface TokenAccessOptions {
  /** The token server's URL in the challenge (`auth.token.realm`). */
  realm: string;
  service: string;
  /**
   * `auth.token.autoredirect`: the realm is this path on the origin the request came to (for a
   * registry reached under several names). The origin comes from X-Forwarded-Proto/-Host when
   * present, else from the connection and the Host header.
   */
  autoRedirectPath?: string;
  /** The origin (`https://host:port`) the request came to; default: X-Forwarded-*, else the connection and Host. */
  origin?: (req: IncomingMessage) => string | undefined;
  /**
   * Berth's own token server: its key's name among the verifier's trusted keys, and the policy it
   * issues tokens from. Tokens signed with that key get two things external tokens do not: a
   * 403 instead of a 401 when the rules deny the user what the token lacks, and the rules (not
   * just the token) decide what `_catalog` lists and which mount sources may be used.
   */
  own?: { keyName: string; policy: AccessPolicy };
}

/**
 * Docker token auth (Bearer JWTs from a token server), as Distribution's `auth.token`.
 *
 * - No token: 401 with `Bearer realm,service,scope` naming what the route needs.
 * - A bad token (signature, expiry, issuer, audience): 401 with `error="invalid_token"`.
 * - A valid token whose `access` claim lacks a needed scope: 401 with
 *   `error="insufficient_scope"` and the scope. Clients (docker, containerd, containers/image)
 *   fetch a new token for that scope after such a challenge, and docker reports it as "denied";
 *   Distribution answers the same. The exception is a token from Berth's own token server for a
 *   logged-in user whom the access rules do not allow: the registry knows a new token would not
 *   help, and answers 403 DENIED.
 * - Any valid token passes `GET /v2/` (it needs no scope).
 */
export class TokenAccess implements AccessController {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly options: TokenAccessOptions,
  ) {}

  async authorize(req: IncomingMessage, needed: readonly Scope[]): Promise<Grant> {
    const challenge = (error?: 'invalid_token' | 'insufficient_scope') =>
      bearerChallenge({ realm: this.realmFor(req), service: this.options.service, scopes: needed, error });
    const credentials = requestCredentials(req);
    if (credentials.kind !== 'bearer') throw unauthorized(challenge(), needed);
    let token: VerifiedToken;
    try {
      token = await this.verifier.verify(credentials.token);
    } catch (error) {
      if (error instanceof TokenError) throw unauthorized(challenge('invalid_token'), needed, `invalid token: ${error.message}`);
      throw error;
    }
    const own = this.options.own && token.keyName === this.options.own.keyName ? this.options.own.policy : undefined;
    const missing = needed.filter((scope) => !claimCovers(token.access, scope));
    if (missing.length > 0) {
      if (own && token.subject !== undefined && missing.some((scope) => !own.allows(token.subject, scope))) throw denied(needed);
      throw unauthorized(challenge('insufficient_scope'), needed, 'the token does not grant the access this request needs');
    }
    const subject = token.subject;
    return {
      identity: subject === undefined ? {} : { user: subject },
      allows: (scope) => claimCovers(token.access, scope) || (own?.allows(subject, scope) ?? false),
    };
  }

  private realmFor(req: IncomingMessage): string {
    if (this.options.autoRedirectPath === undefined) return this.options.realm;
    const origin = this.options.origin?.(req);
    if (origin !== undefined) return `${origin}${this.options.autoRedirectPath}`;
    const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim();
    const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
    const proto = first(req.headers['x-forwarded-proto']) ?? (encrypted ? 'https' : 'http');
    const host = first(req.headers['x-forwarded-host']) ?? req.headers.host ?? 'localhost';
    return `${proto}://${host}${this.options.autoRedirectPath}`;
  }
}

/** True when the claim's entries for the resource together hold every action of the scope. */
export function claimCovers(access: readonly AccessEntry[], scope: Scope): boolean {
  const granted = access.filter((entry) => entry.type === scope.type && entry.name === scope.name).flatMap((entry) => entry.actions);
  return scope.actions.every((action) => coversAction(granted, action));
}
