import type { AuthVariant } from './auth-fuzz.js';
import type { Random } from './random.js';

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');
const decodeSegment = (segment: string) => JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;
const base64urlAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * A bearer credential for one request, from a token the registry's token server issued: the
 * token itself, or a forgery of it: one character changed (never a segment's last, whose low
 * bits base64url may ignore), `alg: none` without a signature, claims rewritten under the old
 * signature (another subject, audience, wider access, no expiry), segments dropped or swapped.
 */
export function tokenVariant(random: Random, token: string): AuthVariant {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = decodeSegment(payload);
  const forged = (changes: Record<string, unknown>) => `${header}.${base64url(JSON.stringify({ ...claims, ...changes }))}.${signature}`;
  const wrong = (value: string, description: string): AuthVariant => ({ header: `Bearer ${value}`, right: false, description });
  switch (random.int(9)) {
    case 0:
    case 1:
      return { header: `${random.pick(['Bearer', 'bearer'])} ${token}`, right: true, description: 'the issued token' };
    case 2: {
      const segments = [header, payload, signature];
      const which = random.int(3);
      const segment = segments[which]!;
      const at = random.int(Math.max(segment.length - 1, 1));
      segments[which] = `${segment.slice(0, at)}${random.pick([...base64urlAlphabet].filter((c) => c !== segment[at]))}${segment.slice(at + 1)}`;
      return wrong(segments.join('.'), `one character of segment ${which} changed`);
    }
    case 3: {
      const none = base64url(JSON.stringify({ ...decodeSegment(header), alg: random.pick(['none', 'None', 'NONE']) }));
      return wrong(`${none}.${payload}.${random.pick(['', signature])}`, 'alg none');
    }
    case 4: {
      const change = random.pick<Record<string, unknown>>([
        { sub: 'root2' },
        { aud: 'another-service' },
        { iss: 'another-issuer' },
        { exp: 4_102_444_800 },
        { exp: Math.floor(Date.now() / 1000) - 3600 },
        { access: [{ type: 'repository', name: '*', actions: ['*'] }] },
      ]);
      return wrong(forged(change), `claims ${JSON.stringify(change)} under the old signature`);
    }
    case 5:
      return wrong(`${header}.${payload}`, 'no signature');
    case 6:
      return wrong(`${header}.${payload}.${signature}.${signature}`, 'four segments');
    case 7:
      return wrong(`${payload}.${header}.${signature}`, 'header and payload swapped');
    default:
      return wrong(random.pick(['x.y.z', '..', `${token} `.repeat(2).trim(), base64url(token)]), 'garbage');
  }
}
