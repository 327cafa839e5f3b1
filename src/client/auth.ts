import type { Dispatcher } from 'undici';
import type { Challenge } from './challenge.js';
import { parseChallenges } from './challenge.js';
import type { Credentials } from './docker-config.js';
import { firstError } from './error-body.js';
import { ConnectionFailedError, RegistryError } from './registry-error.js';

// Kept importable from here for the client; it lives in a node-free module the web UI shares.
export { firstError };

/**
 * Answers a registry's auth challenges for one registry client. Nothing is sent before the
 * registry asks: the first 401 says which scheme it wants (Basic, or Bearer with a token realm),
 * and from then on every request carries the right header at once.
 *
 * Bearer tokens are cached per scope until shortly before `expires_in`. A request whose body is
 * a stream cannot be replayed after a 401, so the client makes a body-less request with the same
 * scope first (the upload POST), which obtains the token that the PATCH and PUT then carry.
 */
export class Authenticator {
  private scheme: 'unknown' | 'basic' | 'bearer' = 'unknown';
  private readonly basicHeader: string | undefined;
  private readonly tokens = new Map<string, { header: string; expiresAt: number }>();
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly registry: string,
    private readonly credentials: Credentials | undefined,
    private readonly dispatcher: Dispatcher,
    private readonly userAgent: string,
  ) {
    this.basicHeader = credentials && `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  }

  /**
   * The `Authorization` value to send for a request needing `scope` (a space-separated list of
   * `repository:NAME:ACTIONS` / `registry:catalog:*`, or '' for `/v2/`), or undefined when none
   * is known yet. Synchronous and allocation-free on the hot path.
   */
  authorization(scope: string): string | undefined {
    if (this.scheme === 'basic') return this.basicHeader;
    if (this.scheme !== 'bearer') return undefined;
    const token = this.tokens.get(scope);
    if (token === undefined) return undefined;
    if (Date.now() < token.expiresAt) return token.header;
    this.tokens.delete(scope);
    return undefined;
  }

  /**
   * Learns from a 401's `WWW-Authenticate` and gets what the retry needs (a new token for
   * `scope`). Resolves true when a retry may succeed, false when it cannot (no credentials for
   * Basic, an unknown scheme, or the header already sent was refused). Throws RegistryError when
   * the token server refuses, ConnectionFailedError when it cannot be reached.
   */
  async challenged(header: string | string[] | undefined, scope: string, sent: string | undefined): Promise<boolean> {
    const challenges = parseChallenges(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm !== undefined);
    if (bearer) {
      this.scheme = 'bearer';
      // A cached token that was refused (expired early, revoked, or lacking the scope) is dropped.
      const cached = this.tokens.get(scope);
      // Another request already renewed it while this one was on its way.
      if (cached !== undefined && cached.header !== sent && Date.now() < cached.expiresAt) return true;
      this.tokens.delete(scope);
      await this.fetchTokenOnce(bearer, scope);
      return this.tokens.get(scope)?.header !== sent;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      this.scheme = 'basic';
      return this.basicHeader !== undefined && this.basicHeader !== sent;
    }
    return false;
  }

  /** Several requests hitting the same challenge at once share one token request. */
  private async fetchTokenOnce(challenge: Challenge, scope: string): Promise<void> {
    let pending = this.pending.get(scope);
    if (pending === undefined) {
      pending = this.fetchToken(challenge, scope).finally(() => this.pending.delete(scope));
      this.pending.set(scope, pending);
    }
    await pending;
  }

  private async fetchToken(challenge: Challenge, scope: string): Promise<void> {
    const url = new URL(challenge.params.realm!);
    if (challenge.params.service !== undefined) url.searchParams.set('service', challenge.params.service);
    // The scope the registry names is what it checks; ours covers what the next requests need.
    const scopes = new Set([...(challenge.params.scope ?? '').split(' '), ...scope.split(' ')].filter((s) => s !== ''));
    for (const s of scopes) url.searchParams.append('scope', s);
    if (this.credentials) url.searchParams.set('account', this.credentials.username);
    const headers: Record<string, string> = { 'user-agent': this.userAgent, accept: 'application/json' };
    if (this.basicHeader) headers.authorization = this.basicHeader;
    let response: Dispatcher.ResponseData;
    try {
      response = await this.dispatcher.request({ origin: url.origin, path: `${url.pathname}${url.search}`, method: 'GET', headers });
    } catch (error) {
      throw new ConnectionFailedError(this.registry, url.href, error);
    }
    const text = await response.body.text();
    if (response.statusCode !== 200) {
      throw new RegistryError(this.registry, response.statusCode, { ...firstError(text), message: `token server ${url.origin}${url.pathname}: ${firstError(text).message ?? 'refused'}` });
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new RegistryError(this.registry, response.statusCode, { message: `token server ${url.origin}${url.pathname} answered no JSON` });
    }
    const token = typeof body.token === 'string' && body.token !== '' ? body.token : body.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new RegistryError(this.registry, response.statusCode, { message: `token server ${url.origin}${url.pathname} answered no token` });
    }
    // The spec's default lifetime is 60 s. Renew a little early so that a token does not expire
    // between being picked and reaching the registry.
    const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    const margin = Math.min(10, seconds / 10);
    this.tokens.set(scope, { header: `Bearer ${token}`, expiresAt: Date.now() + (seconds - margin) * 1000 });
  }
}
