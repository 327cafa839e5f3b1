import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { pino } from 'pino';
import type { AccessPolicyOptions } from '../../src/auth/access-policy.js';
import { createAccessController, type AuthOptions } from '../../src/auth/create-access-controller.js';
import { startTestRegistry, type TestRegistry } from './registry-server.js';

/** Test users and their passwords. */
export const passwords: Readonly<Record<string, string>> = {
  root: 'root-password',
  writer: 'writer-password',
  reader: 'reader-password',
  dev: 'dev-password',
};

/**
 * The rules the auth tests share: `public/**` anonymous pull; `team/**` writable by writer and
 * readable by reader; `private/**` for admins only; `lab/**` pushable by the devs group.
 */
export const testAccess: AccessPolicyOptions = {
  admins: ['root'],
  groups: { devs: ['dev'] },
  rules: [
    { repository: 'public/**', anonymous: ['pull'], users: { writer: ['pull', 'push'] } },
    { repository: 'team/**', users: { writer: ['pull', 'push', 'delete'], reader: ['pull'] } },
    { repository: 'lab/**', groups: { devs: ['*'] } },
  ],
};

export const testService = 'berth-test';
export const testIssuer = 'berth-test-issuer';
export const tokenPath = '/auth/token';

export function basic(user: string, password = passwords[user] ?? ''): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

export interface AuthRegistry extends TestRegistry {
  readonly dir: string;
}

/**
 * A registry in this process with htpasswd (Basic) auth or Berth's token server, built by the
 * same factory `berth serve` uses, over a fresh htpasswd file holding the test users (bcrypt
 * cost 4 to keep tests quick).
 */
export async function startAuthRegistry(
  kind: 'htpasswd' | 'tokenserver',
  /** `'none'`: no access section (every user may do everything, anonymous nothing). */
  access: AccessPolicyOptions | 'none' = testAccess,
  /** `auth.throttle` (default: the schema's), `auth.token.signingalgorithms`, and the UI (`ui.enabled`, off unless asked). */
  extra: { throttle?: AuthOptions['throttle']; signingalgorithms?: string[]; ui?: { enabled: boolean } } = {},
): Promise<AuthRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-auth-'));
  const htpasswd = join(dir, 'htpasswd');
  await writeFile(htpasswd, Object.entries(passwords).map(([user, pw]) => `${user}:${bcrypt.hashSync(pw, 4)}\n`).join(''));
  const auth: AuthOptions =
    kind === 'htpasswd'
      ? { htpasswd: { realm: 'berth-test-realm', path: htpasswd }, throttle: extra.throttle }
      : {
          token: { realm: `http://127.0.0.1${tokenPath}`, service: testService, issuer: testIssuer, signingalgorithms: extra.signingalgorithms },
          tokenserver: { path: tokenPath, htpasswd, signingkey: join(dir, 'token.key'), expiration: 60_000 },
          throttle: extra.throttle,
        };
  const setup = await createAccessController({ auth, access: access === 'none' ? undefined : access }, pino({ level: 'silent' }));
  const registry = await startTestRegistry({ access: setup.access, extraRoutes: setup.endpoints, ui: extra.ui });
  return {
    ...registry,
    dir,
    close: async () => {
      await registry.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Asks Berth's token server for a token (GET, as docker and containers/image do). */
export async function fetchToken(base: string, scopes: string[], user?: string, password?: string): Promise<string> {
  const query = new URLSearchParams({ service: testService });
  for (const scope of scopes) query.append('scope', scope);
  if (user) query.set('account', user);
  const response = await fetch(`${base}${tokenPath}?${query}`, { headers: user ? basic(user, password) : {} });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return (JSON.parse(text) as { token: string }).token;
}

/** The payload of a JWT, unverified (for checking what a token server put in). */
export function tokenClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

const sha256 = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Pushes a blob with one monolithic POST + PUT, with the given headers; returns the PUT answer. */
export async function pushBlobAs(base: string, name: string, content: Buffer, headers: Record<string, string>): Promise<Response> {
  const start = await fetch(`${base}/v2/${name}/blobs/uploads/`, { method: 'POST', headers });
  if (start.status !== 202) return start;
  const location = new URL(start.headers.get('location')!, base);
  location.searchParams.set('digest', sha256(content));
  return await fetch(location, {
    method: 'PUT',
    headers: { ...headers, 'Content-Type': 'application/octet-stream' },
    body: content as Uint8Array<ArrayBuffer>,
  });
}

/** Pushes a one-layer OCI image under name:tag with the given headers, asserting success. */
export async function pushImageAs(base: string, name: string, tag: string, headers: Record<string, string>): Promise<string> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', name, tag, nonce: Math.random() }));
  const layer = Buffer.from(`layer of ${name}:${tag} ${Math.random()}`);
  for (const blob of [config, layer]) {
    const put = await pushBlobAs(base, name, blob, headers);
    assert.equal(put.status, 201, `blob push to ${name}: ${put.status} ${await put.text()}`);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  );
  const put = await fetch(`${base}/v2/${name}/manifests/${tag}`, {
    method: 'PUT',
    headers: { ...headers, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest as Uint8Array<ArrayBuffer>,
  });
  assert.equal(put.status, 201, `manifest push to ${name}: ${await put.text()}`);
  return sha256(layer);
}
