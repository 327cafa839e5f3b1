import type { IncomingMessage } from 'node:http';
import type { Scope } from './scope.js';

/** Who made a request. */
export interface Identity {
  /** The authenticated user name; undefined for an anonymous request. */
  readonly user?: string;
}

/**
 * What an authorized request may do. `allows` answers for scopes beyond the ones the route
 * needed: the source of a cross-repository mount, each repository listed by `_catalog`.
 */
export interface Grant {
  readonly identity: Identity;
  allows(scope: Scope): boolean;
}

/**
 * The one gate in front of every route. Given the request (its credentials) and the scopes the
 * route needs, it resolves a Grant covering all of them, or throws a RegistryError:
 * UNAUTHORIZED (401, with a `WWW-Authenticate` challenge header) when credentials are missing
 * or wrong, DENIED (403) when the identity is known but lacks a needed scope. htpasswd (Basic),
 * Docker token (Bearer) and the access rules are implementations behind it.
 */
export interface AccessController {
  authorize(req: IncomingMessage, needed: readonly Scope[]): Promise<Grant>;
}

/** No auth configured: everyone may do everything, as Distribution without an `auth` section. */
export class OpenAccess implements AccessController {
  private static readonly grant: Grant = { identity: {}, allows: () => true };

  async authorize(): Promise<Grant> {
    return OpenAccess.grant;
  }
}
