import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { pino } from 'pino';
import { createAccessController } from '../../src/auth/create-access-controller.js';
import { passwords, testAccess, testIssuer, testService, tokenPath, type AuthRegistry } from './auth.js';
import { startTestRegistry } from './registry-server.js';

/**
 * Berth in this process with its token server as the realm of its Bearer challenges, reachable
 * by a real client: `autoredirect` makes the realm `http://<Host of the request>/auth/token`,
 * so it carries the ephemeral port (the shared `startAuthRegistry('tokenserver')` names a fixed
 * realm, fine for tests that fetch tokens themselves). Token lifetime `expirationMs`;
 * `tokenRequests()` counts the token server's requests.
 */
export async function startTokenRegistry(expirationMs = 60_000): Promise<AuthRegistry & { tokenRequests(): number }> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-client-auth-'));
  const htpasswd = join(dir, 'htpasswd');
  await writeFile(htpasswd, Object.entries(passwords).map(([user, pw]) => `${user}:${bcrypt.hashSync(pw, 4)}\n`).join(''));
  const setup = await createAccessController(
    {
      auth: {
        token: { realm: `http://127.0.0.1${tokenPath}`, service: testService, issuer: testIssuer, autoredirect: true, autoredirectpath: tokenPath },
        tokenserver: { path: tokenPath, htpasswd, signingkey: join(dir, 'token.key'), expiration: expirationMs },
      },
      access: testAccess,
    },
    pino({ level: 'silent' }),
  );
  let tokenRequests = 0;
  const counted = setup.endpoints.map((endpoint) => ({
    path: endpoint.path,
    handle: (...args: Parameters<typeof endpoint.handle>) => {
      tokenRequests++;
      return endpoint.handle(...args);
    },
  }));
  const registry = await startTestRegistry({ access: setup.access, extraRoutes: counted });
  return {
    ...registry,
    dir,
    tokenRequests: () => tokenRequests,
    close: async () => {
      await registry.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
