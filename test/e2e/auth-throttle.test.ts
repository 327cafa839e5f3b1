// End to end: the failed-login throttle as a real client meets it. `berth serve` (compiled) runs
// with a short `auth.throttle.window`, once with htpasswd (skopeo login checks GET /v2/ with
// Basic credentials) and once with Berth's token server (skopeo login fetches a token with
// them). skopeo logs in with a wrong password up to the limit, then with the right one:
// - htpasswd: the 429 on GET /v2/ carries Retry-After, and containers/image waits that long
//   and asks again (its debug log says "Too many requests ... sleeping"): the login succeeds,
//   but never before the window has ended.
// - token server: containers/image does not retry a token request; skopeo fails with "too many
//   requests to registry", and the same login is accepted once the window has ended.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { ensureBuilt } from '../helpers/compiled-cli.js';
import { freePort, spawnRegistry } from '../helpers/registry-server.js';
import { defer, Diagnostics } from './support/run.js';

const diag = new Diagnostics();
const user = { name: 'writer', password: 'writer-throttle-pw' };
const attempts = 2;
// Long enough that the wrong logins of a loaded machine (about 1 s each) all fall in one window.
const windowSeconds = 15;
let work: string;

before(
  async () => {
    await ensureBuilt();
    work = await mkdtemp(join(tmpdir(), 'berth-e2e-throttle-'));
  },
  { timeout: 180_000 },
);
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

function authSection(mode: 'htpasswd' | 'tokenserver', htpasswd: string, dir: string, port: number): string[] {
  const throttle = ['  throttle:', `    attempts: ${attempts}`, '    addressattempts: 100', `    window: ${windowSeconds}s`];
  if (mode === 'htpasswd') return ['auth:', '  htpasswd:', '    realm: berth-e2e', `    path: ${htpasswd}`, ...throttle];
  return [
    'auth:',
    '  token:',
    `    realm: http://127.0.0.1:${port}/auth/token`,
    '    service: berth-e2e',
    '    issuer: berth-e2e-issuer',
    '  tokenserver:',
    `    htpasswd: ${htpasswd}`,
    `    signingkey: ${join(dir, 'token.pem')}`,
    ...throttle,
  ];
}

const expected = {
  htpasswd: 'the right password is held back (429, Retry-After) until the window ends',
  tokenserver: 'the right password is refused with "too many requests" while throttled, accepted after the window',
} as const;

describe('skopeo login against the failed-login throttle', { timeout: 120_000, concurrency: true }, () => {
  for (const mode of ['htpasswd', 'tokenserver'] as const) {
    it(`${mode}: ${expected[mode]}`, async (t) => {
      const dir = await mkdtemp(join(work, `${mode}-`));
      const htpasswd = join(dir, 'htpasswd');
      await writeFile(htpasswd, `${user.name}:${bcrypt.hashSync(user.password, 5)}\n`);
      const port = await freePort();
      const config = [
        'version: 0.1',
        'log:',
        '  level: info',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${join(dir, 'storage')}`,
        'http:',
        `  addr: 127.0.0.1:${port}`,
        ...authSection(mode, htpasswd, dir, port),
        '',
      ].join('\n');
      const berth = await spawnRegistry('berth', config, dir, port);
      defer(t, () => berth.stop());
      const source = { name: `berth ${mode}`, text: berth.output };
      diag.watch(source, t);
      const authfile = join(dir, 'auth.json');
      const login = (password: string, flags: string[] = []) =>
        diag.run('skopeo', [...flags, 'login', '--tls-verify=false', '--authfile', authfile, '-u', user.name, '--password-stdin', berth.hostPort], {
          input: `${password}\n`,
          allowFailure: true,
          timeoutMs: (windowSeconds + 30) * 1000,
        });

      const windowStartsAfter = Date.now();
      for (let i = 0; i < attempts; i++) {
        const wrong = await login(`wrong-${i}`);
        assert.notEqual(wrong.code, 0, 'a wrong password is refused');
        assert.match(wrong.stderr, /invalid username\/password|unauthorized/i, wrong.stderr);
      }
      const windowEndsAfter = windowStartsAfter + windowSeconds * 1000;
      const throttled = await login(user.password, ['--debug']);
      if (mode === 'htpasswd') {
        assert.match(throttled.stderr, /Too many requests to .*sleeping for/i, 'skopeo saw the 429 and obeyed Retry-After');
        assert.equal(throttled.code, 0, throttled.stderr);
        assert.ok(Date.now() >= windowEndsAfter, 'the right password got through only once the window had ended');
      } else {
        assert.notEqual(throttled.code, 0, 'the right password is refused while throttled');
        assert.match(throttled.stderr, /too many requests to registry/i, throttled.stderr);
        await assert.rejects(readFile(authfile), 'nothing was stored');
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, windowEndsAfter + 500 - Date.now())));
        const accepted = await login(user.password);
        assert.equal(accepted.code, 0, accepted.stderr);
      }
      assert.match(berth.output(), /"status":429/, 'Berth answered 429 to the throttled login');
      const stored = JSON.parse(await readFile(authfile, 'utf8')) as { auths: Record<string, unknown> };
      assert.ok(stored.auths[berth.hostPort], 'the credentials were stored for the registry');
      const said = throttled.stderr.split('\n').filter((line) => /too many/i.test(line));
      t.diagnostic(`${mode}: skopeo said while throttled: ${said.join(' | ')}`);
    });
  }
});
