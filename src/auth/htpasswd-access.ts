import type { IncomingMessage } from 'node:http';
import type { AccessController, Grant } from './access-controller.js';
import type { AccessPolicy } from './access-policy.js';
import { basicChallenge, denied, requestCredentials, unauthorized } from './credentials.js';
import type { HtpasswdUsers } from './htpasswd.js';
import type { LoginThrottle } from './login-throttle.js';
import { checkPassword } from './password-login.js';
import type { Scope } from './scope.js';

/**
 * HTTP Basic auth against an htpasswd file, with the access rules deciding what each user may do.
 *
 * - No credentials (or `Basic Og==`, an empty user, which skopeo sends when it has none): the
 *   request is anonymous. It passes only when the rules let anonymous requests do all it needs;
 *   `GET /v2/` (which needs nothing but a login) always answers 401, so that clients learn the
 *   challenge and send their credentials from then on.
 * - Wrong credentials: 401 with the Basic challenge, the same for an unknown user as for a wrong
 *   password. With a throttle, a user name or address with too many recent failures gets 429
 *   TOOMANYREQUESTS (and `Retry-After`) without its password being checked.
 * - Right credentials, but the rules do not allow it: 403 DENIED (a Basic client cannot get
 *   more by asking again, and a 401 would read as "wrong password").
 */
export class HtpasswdAccess implements AccessController {
  constructor(
    private readonly realm: string,
    private readonly users: HtpasswdUsers,
    private readonly policy: AccessPolicy,
    private readonly throttle?: LoginThrottle,
  ) {}

  async authorize(req: IncomingMessage, needed: readonly Scope[]): Promise<Grant> {
    const credentials = requestCredentials(req);
    const challenge = basicChallenge(this.realm);
    if (credentials.kind !== 'basic') {
      if (needed.length > 0 && needed.every((scope) => this.policy.allows(undefined, scope))) return this.grant(undefined);
      throw unauthorized(challenge, needed);
    }
    const user = await checkPassword(this.users, this.throttle, {
      user: credentials.user,
      password: credentials.password,
      address: req.socket?.remoteAddress,
    });
    if (user === undefined) throw unauthorized(challenge, needed, 'invalid user name or password');
    if (!needed.every((scope) => this.policy.allows(user, scope))) throw denied(needed);
    return this.grant(user);
  }

  private grant(user: string | undefined): Grant {
    const policy = this.policy;
    return { identity: user === undefined ? {} : { user }, allows: (scope) => policy.allows(user, scope) };
  }
}
