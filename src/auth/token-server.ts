import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignJWT } from 'jose';
import type { AccessPolicy } from './access-policy.js';
import { basicChallenge, readCredentials } from './credentials.js';
import type { HtpasswdUsers } from './htpasswd.js';
import type { LoginThrottle } from './login-throttle.js';
import { checkPassword } from './password-login.js';
import { mergeScopes, parseScopes, type Scope } from './scope.js';
import type { SigningKey } from './signing-key.js';

export interface TokenServerOptions {
  /** The URL path it answers on (`auth.tokenserver.path`, e.g. `/auth/token`). */
  path: string;
  /** `iss` of the tokens (`auth.token.issuer`). */
  issuer: string;
  /** `aud` of the tokens (`auth.token.service`); a request naming another service is refused. */
  service: string;
  /** Token lifetime. */
  expirationMs: number;
  users: HtpasswdUsers;
  /** Brute-force protection for the passwords it checks (Basic header and password form alike). */
  throttle?: LoginThrottle;
  policy: AccessPolicy;
  key: SigningKey;
}

/** Form bodies larger than this are refused (a token request is a few hundred bytes). */
const maxFormBytes = 64 * 1024;

class TokenRequestError extends Error {
  constructor(
    readonly status: number,
    readonly oauthError: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * Berth's own Docker token server: `GET <path>?service=&scope=&scope=&account=` with optional
 * Basic credentials (docker, containers/image, containerd's fallback), and `POST <path>` with a
 * form `grant_type=password&username=&password=&scope=&service=` (containerd, docker with
 * OAuth). Without credentials the token is anonymous (`sub` empty) and carries what anonymous
 * requests may do; wrong credentials get 401 (the same for an unknown user), and a user name or
 * address the throttle refuses gets 429 TOOMANYREQUESTS in the registry's error format, which
 * docker and containers/image show as such. The access claim is what was asked for, cut down to
 * what the access rules allow, never more; scopes with nothing allowed are left out. Refresh
 * tokens are never issued, so clients keep sending the password (as with Basic auth).
 */
export class TokenServer {
  readonly path: string;

  constructor(private readonly options: TokenServerOptions) {
    this.path = options.path;
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    try {
      const request = await this.readRequest(req, url);
      const user = await this.authenticate(request.user, request.password, req.socket?.remoteAddress);
      if (request.account !== undefined && request.account !== '' && user !== undefined && request.account !== user) {
        throw new TokenRequestError(400, 'invalid_request', 'account does not match the credentials');
      }
      if (request.service !== undefined && request.service !== this.options.service) {
        throw new TokenRequestError(400, 'invalid_request', `this token server issues tokens for service ${JSON.stringify(this.options.service)}`);
      }
      const access = mergeScopes(request.scopes)
        .map((scope) => ({ type: scope.type, name: scope.name, actions: this.options.policy.grantable(user, scope) }))
        .filter((entry) => entry.actions.length > 0);
      const issuedAt = Date.now();
      const expiresIn = Math.max(1, Math.floor(this.options.expirationMs / 1000));
      const { key } = this.options;
      const token = await new SignJWT({ access })
        .setProtectedHeader({ alg: key.algorithm, kid: key.keyId, typ: 'JWT' })
        .setIssuer(this.options.issuer)
        .setSubject(user ?? '')
        .setAudience(this.options.service)
        .setIssuedAt(Math.floor(issuedAt / 1000))
        .setNotBefore(Math.floor(issuedAt / 1000))
        .setExpirationTime(Math.floor(issuedAt / 1000) + expiresIn)
        .setJti(randomUUID())
        .sign(key.privateKey);
      send(res, 200, {
        token,
        access_token: token,
        expires_in: expiresIn,
        issued_at: new Date(Math.floor(issuedAt / 1000) * 1000).toISOString(),
      });
    } catch (error) {
      if (!(error instanceof TokenRequestError)) throw error;
      send(res, error.status, { error: error.oauthError, error_description: error.message }, error.headers);
    }
  }

  private async authenticate(user: string | undefined, password: string | undefined, address: string | undefined): Promise<string | undefined> {
    if (user === undefined || user === '') return undefined;
    const verified = await checkPassword(this.options.users, this.options.throttle, { user, password: password ?? '', address });
    if (verified === undefined) {
      throw new TokenRequestError(401, 'invalid_grant', 'invalid user name or password', {
        'WWW-Authenticate': basicChallenge(this.options.service),
      });
    }
    return verified;
  }

  private async readRequest(
    req: IncomingMessage,
    url: URL,
  ): Promise<{ user?: string; password?: string; account?: string; service?: string; scopes: Scope[] }> {
    const basic = readCredentials(req.headers.authorization);
    const fromHeader = basic.kind === 'basic' ? { user: basic.user, password: basic.password } : {};
    if (req.method === 'GET' || req.method === 'HEAD') {
      return {
        ...fromHeader,
        account: url.searchParams.get('account') ?? undefined,
        service: url.searchParams.get('service') ?? undefined,
        scopes: url.searchParams.getAll('scope').flatMap(parseScopes),
      };
    }
    if (req.method !== 'POST') throw new TokenRequestError(405, 'invalid_request', 'use GET or POST', { Allow: 'GET, POST' });
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      throw new TokenRequestError(400, 'invalid_request', 'a POST needs an application/x-www-form-urlencoded body');
    }
    const form = new URLSearchParams(await readBody(req));
    const grantType = form.get('grant_type');
    if (grantType !== 'password') {
      throw new TokenRequestError(400, 'unsupported_grant_type', 'only grant_type=password is supported (no refresh tokens are issued)');
    }
    const formUser = form.get('username');
    return {
      ...(formUser ? { user: formUser, password: form.get('password') ?? '' } : fromHeader),
      service: form.get('service') ?? undefined,
      scopes: form.getAll('scope').flatMap(parseScopes),
    };
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxFormBytes) throw new TokenRequestError(413, 'invalid_request', 'the form is too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': bytes.length, 'Cache-Control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : bytes);
}
