/**
 * Every request the app makes, with the registry's own auth. Requests never let the browser add
 * credentials (`credentials: 'omit'`), so it never shows its own Basic-auth dialog; the
 * Authorization header is set here instead: Basic credentials, or a Bearer token got from the
 * token server named in the registry's challenge (and fetched again when a later answer
 * challenges for a different scope).
 */
import { parseChallenges, type Challenge } from '../../client/challenge.js';
import { authKey } from './auth-key.js';
import { RequestError, responseFailure } from './registry-error.js';
import { basicAuthorization, clearCredentials, loadCredentials, saveCredentials, type Credentials } from './session-credentials.js';
import { TokenCache } from './token-cache.js';
import { foreignRealmMessage, tokenEndpoint } from './token-realm.js';

export type AuthScheme = 'none' | 'basic' | 'bearer';

export class RegistryClient {
  /** How the registry wants callers to authenticate; known after `probe()`. */
  scheme: AuthScheme = 'none';
  private credentials: Credentials | null = loadCredentials();
  private readonly tokens = new TokenCache();
  /** Token requests under way, so parallel requests needing the same scope wait for one answer. */
  private readonly pendingTokens = new Map<string, Promise<string>>();
  /** The Bearer challenge that last answered each kind of request (see authKey), to reuse its token. */
  private readonly challenges = new Map<string, Challenge>();
  /** The challenge of `GET v2/`: an authenticated token with no scope. */
  private baseChallenge: Challenge | undefined;
  /** Called when the registry refuses the stored credentials (changed password, expired user). */
  onUnauthorized: () => void = () => undefined;

  constructor(readonly base: string) {}

  get username(): string | null {
    return this.credentials?.username ?? null;
  }

  get loggedIn(): boolean {
    return this.scheme === 'none' || this.credentials !== null;
  }

  /** A path relative to the registry's base (`v2/`, `berth/v1/...`) as an absolute path. */
  url(path: string): string {
    return `${this.base}${path}`;
  }

  /** `GET v2/` without credentials: 200 means auth is off; 401 says how to log in. */
  async probe(): Promise<void> {
    const response = await send(this.url('v2/'), {}, undefined);
    if (response.ok) {
      this.scheme = 'none';
      return;
    }
    if (response.status !== 401) throw await responseFailure(response);
    const challenges = parseChallenges(response.headers.get('www-authenticate') ?? undefined);
    const bearer = challenges.find((challenge) => challenge.scheme === 'bearer');
    if (bearer) {
      this.scheme = 'bearer';
      this.baseChallenge = bearer;
    } else if (challenges.some((challenge) => challenge.scheme === 'basic')) {
      this.scheme = 'basic';
    } else {
      throw new RequestError('The registry asks for a login this page does not know (no Basic or Bearer challenge).', 401);
    }
  }

  /**
   * Checks credentials against the registry (Basic: `GET v2/`; Bearer: the token server) and keeps
   * them for this tab. Throws a RequestError with a readable message when they are refused.
   */
  async login(credentials: Credentials): Promise<void> {
    this.tokens.clear();
    this.pendingTokens.clear();
    this.challenges.clear();
    if (this.scheme === 'bearer') {
      await this.token(this.baseChallenge!, credentials);
    } else {
      const response = await send(this.url('v2/'), {}, basicAuthorization(credentials));
      if (!response.ok) throw await loginFailure(response);
    }
    this.credentials = credentials;
    saveCredentials(credentials);
  }

  logout(): void {
    this.credentials = null;
    this.tokens.clear();
    this.pendingTokens.clear();
    this.challenges.clear();
    clearCredentials();
  }

  /**
   * Sends a request with the right Authorization. A 401 with a Bearer challenge gets a token for
   * that challenge's scopes and one retry. Answers are returned whatever their status.
   */
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const key = authKey(init.method ?? 'GET', path);
    const sent = await this.authorization(this.challenges.get(key) ?? this.baseChallenge);
    let response = await send(this.url(path), init, sent);
    if (response.status === 401 && this.scheme === 'bearer' && this.credentials) {
      const challenge = parseChallenges(response.headers.get('www-authenticate') ?? undefined).find((c) => c.scheme === 'bearer');
      if (challenge) {
        this.challenges.set(key, challenge);
        // The token just refused (expired early, revoked) must not be sent again: an
        // `invalid_token` challenge drops the cached one, any other drops it if it is that one.
        if (challenge.params.error === 'invalid_token') this.tokens.forget(tokenKey(challenge));
        else if (sent?.startsWith('Bearer ')) this.tokens.forget(tokenKey(challenge), sent.slice('Bearer '.length));
        response = await send(this.url(path), init, await this.authorization(challenge));
      }
      // Still 401 with a fresh token: the token server took the credentials but did not grant
      // this scope. That is a refusal to show, not a reason to log out.
      return response;
    }
    // Basic credentials refused: they no longer work (changed password, removed user).
    if (response.status === 401 && this.scheme === 'basic') this.onUnauthorized();
    return response;
  }

  /** GET and parse JSON; a failed answer becomes a RequestError with the registry's message. */
  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const response = await this.request(path, { ...init, headers: { Accept: 'application/json', ...init.headers } });
    if (!response.ok) throw await responseFailure(response);
    return (await response.json()) as T;
  }

  /** A request whose answer body is not needed; throws a RequestError when it fails. */
  async perform(path: string, init: RequestInit): Promise<void> {
    const response = await this.request(path, init);
    if (!response.ok) throw await responseFailure(response);
  }

  private async authorization(challenge: Challenge | undefined): Promise<string | undefined> {
    if (!this.credentials) return undefined;
    if (this.scheme === 'basic') return basicAuthorization(this.credentials);
    if (this.scheme !== 'bearer' || !challenge) return undefined;
    try {
      return `Bearer ${await this.token(challenge, this.credentials)}`;
    } catch (error) {
      // The token server refused the stored credentials: they no longer work.
      if (error instanceof RequestError && error.status === 401) this.onUnauthorized();
      throw error;
    }
  }

  /** A token for the challenge's realm, service and scopes, from the cache or the token server. */
  private async token(challenge: Challenge, credentials: Credentials): Promise<string> {
    const realm = challenge.params.realm;
    if (!realm) throw new RequestError('The registry’s Bearer challenge names no token server (realm).', 401);
    const scopes = challengeScopes(challenge);
    const key = tokenKey(challenge);
    const cached = this.tokens.get(key);
    if (cached) return cached;
    const pending = this.pendingTokens.get(key);
    if (pending) return pending;
    const request = this.requestToken(challenge, scopes, key, credentials).finally(() => this.pendingTokens.delete(key));
    this.pendingTokens.set(key, request);
    return request;
  }

  private async requestToken(challenge: Challenge, scopes: string[], key: string, credentials: Credentials): Promise<string> {
    const realm = challenge.params.realm!;
    const url = tokenEndpoint(realm, location.href);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const response = await send(url.href, {}, basicAuthorization(credentials));
    const elsewhere = response.status === 404 ? foreignRealmMessage(realm, location.href) : undefined;
    if (elsewhere) throw new RequestError(elsewhere, 404);
    if (!response.ok) throw await loginFailure(response);
    const body = (await response.json()) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new RequestError('The token server answered without a token.', response.status);
    this.tokens.put(key, token, body.expires_in);
    return token;
  }
}

function challengeScopes(challenge: Challenge): string[] {
  return (challenge.params.scope ?? '').split(' ').filter((scope) => scope !== '');
}

/** Tokens are cached by what they answer: the realm, service and scopes of the challenge. */
function tokenKey(challenge: Challenge): string {
  return [challenge.params.realm ?? '', challenge.params.service ?? '', ...challengeScopes(challenge)].join(' ');
}

async function send(url: string, init: RequestInit, authorization: string | undefined): Promise<Response> {
  const headers = new Headers(init.headers);
  if (authorization) headers.set('Authorization', authorization);
  try {
    return await fetch(url, { ...init, headers, credentials: 'omit', cache: 'no-store' });
  } catch (error) {
    throw new RequestError(`The registry could not be reached (${error instanceof Error ? error.message : String(error)}).`, 0);
  }
}

async function loginFailure(response: Response): Promise<RequestError> {
  if (response.status === 401) return new RequestError('Wrong user name or password.', 401);
  if (response.status === 429) {
    const seconds = Number(response.headers.get('retry-after'));
    return new RequestError(`Too many failed logins, try again in ${Number.isFinite(seconds) && seconds > 0 ? seconds : 'a few'} s.`, 429);
  }
  return responseFailure(response);
}
