import type { IncomingMessage } from 'node:http';
import type { AccessController, Grant } from './access-controller.js';
import { bearerChallenge, unauthorized } from './credentials.js';
import type { Scope } from './scope.js';

/**
 * Distribution's `silly` provider, for development only: any `Authorization` header passes and
 * may do everything; without one, a 401 with a Bearer challenge naming the needed scope.
 */
export class SillyAccess implements AccessController {
  constructor(
    private readonly realm: string,
    private readonly service: string,
  ) {}

  async authorize(req: IncomingMessage, needed: readonly Scope[]): Promise<Grant> {
    if (!req.headers.authorization) {
      throw unauthorized(bearerChallenge({ realm: this.realm, service: this.service, scopes: needed }), needed);
    }
    return { identity: {}, allows: () => true };
  }
}
