import { formatCaseReport } from './case-report.js';
import { authorizations, junk } from './hostile-values.js';
import { outcomeProblems } from './invariants.js';
import { Random } from './random.js';
import { sendWire, type WireRequest } from './wire.js';

/** An `Authorization` header and whether it holds a user's right password. */
export interface AuthVariant {
  header: string | undefined;
  right: boolean;
  description: string;
}

const base64Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Mutations of a password that leave it wrong. */
function wrongPassword(password: string, random: Random): string {
  const at = random.int(password.length);
  const variants = [
    '',
    password.slice(0, -1),
    `${password}x`,
    `${password}\n`,
    ` ${password}`,
    password.toUpperCase(),
    `${password.slice(0, at)}${String.fromCharCode(password.charCodeAt(at) ^ 1)}${password.slice(at + 1)}`,
    `${password}\u0000`,
    password.normalize('NFD') === password ? `${password}é` : password.normalize('NFD'),
  ];
  return random.pick(variants.filter((variant) => variant !== password));
}

/**
 * A credential for one request: the right one, a near miss (wrong password, other user's
 * password, a user name in other case, a base64 text with one character changed), or garbage.
 * Near misses only use base64's own alphabet, so that "right" has one meaning: the header
 * decodes to a user and that user's password.
 */
export function authVariant(random: Random, passwords: Readonly<Record<string, string>>): AuthVariant {
  const users = Object.keys(passwords);
  const user = random.pick(users);
  const password = passwords[user]!;
  const basic = (u: string, p: string) => `${random.pick(['Basic', 'basic', 'BASIC'])} ${Buffer.from(`${u}:${p}`).toString('base64')}`;
  switch (random.int(8)) {
    case 0:
    case 1:
      return { header: basic(user, password), right: true, description: `right password of ${user}` };
    case 2:
      return { header: basic(user, wrongPassword(password, random)), right: false, description: `wrong password of ${user}` };
    case 3: {
      const other = random.pick(users.filter((name) => name !== user));
      return { header: basic(user, passwords[other]!), right: false, description: `password of ${other} for ${user}` };
    }
    case 4: {
      const name = random.pick([user.toUpperCase(), `${user} `, `${user}x`, 'nobody', junk(random, 10).replaceAll(':', '')]);
      return { header: basic(name || 'x', password), right: name === user, description: `user ${JSON.stringify(name)}` };
    }
    case 5: {
      const encoded = Buffer.from(`${user}:${password}`).toString('base64').replace(/=+$/, '');
      const at = random.int(encoded.length);
      const replacement = random.pick([...base64Alphabet].filter((c) => c !== encoded[at]));
      const changed = `${encoded.slice(0, at)}${replacement}${encoded.slice(at + 1)}`;
      const decoded = Buffer.from(changed, 'base64').toString('utf8');
      return { header: `Basic ${changed}`, right: decoded === `${user}:${password}`, description: `base64 of ${user} with one character changed` };
    }
    case 6:
      return { header: undefined, right: false, description: 'no credentials' };
    default:
      return { header: random.pick(authorizations), right: false, description: 'malformed or foreign scheme' };
  }
}

/** Requests that need a login on a registry where anonymous callers may do nothing. */
function requestFor(random: Random): WireRequest {
  return random.pick<WireRequest>([
    { method: 'GET', target: '/v2/', headers: [] },
    { method: 'GET', target: '/v2/_catalog', headers: [] },
    { method: 'GET', target: '/v2/fuzz/auth/tags/list', headers: [] },
    { method: 'HEAD', target: '/v2/fuzz/auth/manifests/v1', headers: [] },
    { method: 'GET', target: `/v2/fuzz/auth/blobs/sha256:${'0'.repeat(64)}`, headers: [] },
    { method: 'POST', target: '/v2/fuzz/auth/blobs/uploads/', headers: [] },
    { method: 'DELETE', target: '/v2/fuzz/auth/manifests/v1', headers: [] },
    { method: 'PUT', target: '/v2/fuzz/auth/manifests/v1', headers: [['Content-Type', 'application/vnd.oci.image.manifest.v1+json']], body: Buffer.from('{}') },
  ]);
}

export interface AuthFuzzStats {
  requests: number;
  right: number;
  wrong: number;
  statuses: Map<number | 'no answer', number>;
  failures: string[];
}

/**
 * Sends `count` requests with fuzzed `Authorization` headers (from `variant`) to a registry where
 * every user may do everything and anonymous callers nothing. A wrong credential must get 401
 * with a challenge of `scheme` (or 429 from brute-force protection), never a grant; a right one
 * must never get 401 or 403; nothing gets a 5xx; errors are in the spec's format.
 */
export async function runAuthFuzz(options: {
  port: number;
  seed: number;
  count: number;
  variant: (random: Random) => AuthVariant;
  scheme: 'Basic' | 'Bearer';
}): Promise<AuthFuzzStats> {
  const stats: AuthFuzzStats = { requests: 0, right: 0, wrong: 0, statuses: new Map(), failures: [] };
  for (let index = 0; index < options.count && stats.failures.length < 5; index++) {
    const random = Random.forCase(options.seed, index);
    const variant = options.variant(random);
    const request = requestFor(random);
    if (variant.header !== undefined) request.headers = [...request.headers, ['Authorization', variant.header]];
    const outcome = await sendWire(options.port, request, 20_000);
    stats.requests++;
    if (variant.right) stats.right++;
    else stats.wrong++;
    const status = outcome.kind === 'answer' ? outcome.answer.status : 'no answer';
    stats.statuses.set(status, (stats.statuses.get(status) ?? 0) + 1);
    const problems = outcomeProblems(request.method, outcome, false);
    if (outcome.kind === 'answer') {
      const { answer } = outcome;
      if (!variant.right && answer.status !== 401 && answer.status !== 429) {
        problems.push(`a wrong credential (${variant.description}) got ${answer.status}`);
      }
      if (!variant.right && answer.status === 401 && !answer.headers['www-authenticate']?.startsWith(`${options.scheme} `)) {
        problems.push(`401 without a ${options.scheme} challenge`);
      }
      if (variant.right && (answer.status === 401 || answer.status === 403)) {
        problems.push(`the right credential (${variant.description}) got ${answer.status}`);
      }
    }
    if (problems.length > 0) {
      stats.failures.push(
        formatCaseReport({ seed: options.seed, index, template: 'auth', mutations: [{ description: variant.description }], request, problems }),
      );
    }
  }
  return stats;
}
