// End to end with real clients against Berth with authentication, once with htpasswd (Basic)
// and once with Berth's own token server: skopeo --creds, podman login, ctr --user and docker
// login each push and pull as an allowed user; a pull-only user's push is refused and the client
// says so; an anonymous client pulls a public repository and may not push to it. The users are
// created with `berth user add --password-stdin`.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { freePort, repoRoot, spawnRegistry, type SpawnedRegistry } from '../helpers/registry-server.js';
import { ctrFlags, forgetKnownBlobs, podmanStore } from './support/clients.js';
import { startContainerd, startDockerd, type Daemon, type Dockerd } from './support/daemons.js';
import { buildTestImages, type TestImages } from './support/images.js';
import { defer, Diagnostics, type RunOptions, type RunResult } from './support/run.js';

const diag = new Diagnostics();
const testTimeout = { timeout: 180_000 };
const users = { root: 'root-e2e-pw', writer: 'writer-e2e-pw', reader: 'reader-e2e-pw' } as const;
type User = keyof typeof users;
let work: string;
let images: TestImages;
let containerd: Daemon;
let dockerd: Dockerd;

before(
  async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-e2e-auth-'));
    images = await buildTestImages(join(work, 'images'));
    containerd = await startContainerd(join(work, 'containerd'));
    diag.watch(containerd);
    dockerd = await startDockerd(join(work, 'docker'));
    diag.watch(dockerd);
  },
  { timeout: 180_000 },
);

after(
  async () => {
    await containerd?.stop();
    await dockerd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  },
  { timeout: 60_000 },
);

const sh = (file: string, args: string[], options?: RunOptions) => diag.run(file, args, options);

/** A command that must fail; returns its output for checking what the client said. */
async function refused(file: string, args: string[], options: RunOptions = {}): Promise<string> {
  const result: RunResult = await diag.run(file, args, { ...options, allowFailure: true });
  assert.notEqual(result.code, 0, `expected ${result.command} to fail:\n${result.stdout}\n${result.stderr}`);
  return `${result.stdout}\n${result.stderr}`;
}

async function scratch(t: TestContext, label: string): Promise<string> {
  const dir = await mkdtemp(join(work, `${label}-`));
  defer(t, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

interface AuthBerth {
  readonly hostPort: string;
  readonly url: string;
  stop(): Promise<void>;
}

/** Creates the users with the CLI, then starts `berth serve` with the given auth section. */
async function startBerth(mode: 'htpasswd' | 'tokenserver'): Promise<AuthBerth> {
  const dir = join(work, mode);
  const htpasswd = join(dir, 'htpasswd');
  for (const [user, password] of Object.entries(users)) {
    await sh(process.execPath, [join(repoRoot, 'bin/berth.js'), 'user', 'add', user, '--file', htpasswd, '--password-stdin'], { input: `${password}\n` });
  }
  const port = await freePort();
  const auth =
    mode === 'htpasswd'
      ? ['auth:', '  htpasswd:', '    realm: berth-e2e', `    path: ${htpasswd}`]
      : [
          'auth:',
          '  token:',
          `    realm: http://127.0.0.1:${port}/auth/token`,
          '    service: berth-e2e',
          '    issuer: berth-e2e-issuer',
          '  tokenserver:',
          `    htpasswd: ${htpasswd}`,
          `    signingkey: ${join(dir, 'token.pem')}`,
          '    expiration: 5m',
        ];
  const config = [
    'version: 0.1',
    'log:',
    '  level: debug',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'storage')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    ...auth,
    'access:',
    '  admins: [root]',
    '  rules:',
    "    - repository: 'public/**'",
    '      anonymous: [pull]',
    "    - repository: 'e2e/**'",
    '      users:',
    '        writer: [pull, push, delete]',
    '        reader: [pull]',
    '',
  ].join('\n');
  const spawned: SpawnedRegistry = await spawnRegistry('berth', config, dir, port);
  const logFile = join(dir, 'berth.log');
  writeFileSync(logFile, spawned.output());
  spawned.process.stdout!.on('data', (chunk: Buffer) => appendFileSync(logFile, chunk));
  spawned.process.stderr!.on('data', (chunk: Buffer) => appendFileSync(logFile, chunk));
  const source = { name: `berth ${mode} (${logFile})`, text: () => readFileSync(logFile, 'utf8') };
  diag.watch(source);
  return {
    hostPort: spawned.hostPort,
    url: spawned.url,
    stop: async () => {
      diag.unwatch(source);
      await spawned.stop();
    },
  };
}

for (const mode of ['htpasswd', 'tokenserver'] as const) {
  describe(`auth: ${mode}`, () => {
    let berth: AuthBerth;
    before(
      async () => {
        berth = await startBerth(mode);
        // Root pushes the public image the anonymous tests pull.
        await forgetKnownBlobs();
        await sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', '--dest-creds', `root:${users.root}`, images.single.layout, `docker://${berth.hostPort}/public/base:v1`]);
      },
      { timeout: 60_000 },
    );
    after(async () => await berth?.stop(), { timeout: 30_000 });

    const ref = (repoAndTag: string) => `${berth.hostPort}/${repoAndTag}`;
    const creds = (user: User) => `${user}:${users[user]}`;
    /** The status of a HEAD on the manifest as root (who may read anything): 200 when it was pushed. */
    const pushed = async (name: string, tag: string) => {
      const rootBasic = `Basic ${Buffer.from(creds('root')).toString('base64')}`;
      let authorization = rootBasic;
      if (mode === 'tokenserver') {
        const query = new URLSearchParams({ service: 'berth-e2e', scope: `repository:${name}:pull` });
        const answer = await fetch(`${berth.url}/auth/token?${query}`, { headers: { Authorization: rootBasic } });
        assert.equal(answer.status, 200);
        authorization = `Bearer ${((await answer.json()) as { token: string }).token}`;
      }
      const head = await fetch(`${berth.url}/v2/${name}/manifests/${tag}`, { method: 'HEAD', headers: { Authorization: authorization, Accept: '*/*' } });
      return head.status;
    };

    it(
      'skopeo --creds: a writer pushes, a reader pulls, and the reader may not push',
      testTimeout,
      diag.explained(async (t: TestContext) => {
        const dir = await scratch(t, `skopeo-${mode}`);
        await forgetKnownBlobs();
        await sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', '--dest-creds', creds('writer'), images.single.layout, `docker://${ref('e2e/skopeo:v1')}`]);
        await sh('skopeo', ['copy', '-q', '--src-tls-verify=false', '--src-creds', creds('reader'), `docker://${ref('e2e/skopeo:v1')}`, `oci:${dir}/pulled:v1`]);
        await forgetKnownBlobs();
        const said = await refused('skopeo', ['copy', '-q', '--dest-tls-verify=false', '--dest-creds', creds('reader'), images.single.layout, `docker://${ref('e2e/skopeo-reader:v1')}`]);
        assert.match(said, /denied|forbidden|unauthorized/i);
        await refused('skopeo', ['inspect', '--tls-verify=false', '--creds', `reader:wrong`, `docker://${ref('e2e/skopeo:v1')}`]);
      }),
    );

    it(
      'anonymous: pulls a public repository, may not push to it, may not pull a private one',
      testTimeout,
      diag.explained(async (t: TestContext) => {
        const dir = await scratch(t, `anonymous-${mode}`);
        await sh('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref('public/base:v1')}`, `oci:${dir}/pulled:v1`]);
        await forgetKnownBlobs();
        const said = await refused('skopeo', ['copy', '-q', '--dest-tls-verify=false', images.single.layout, `docker://${ref('public/anon:v1')}`]);
        assert.match(said, /denied|unauthorized|authentication required/i);
        assert.equal(await pushed('public/anon', 'v1'), 404, 'nothing was pushed');
        await refused('skopeo', ['inspect', '--tls-verify=false', `docker://${ref('e2e/skopeo:v1')}`]);
        // containerd sends no credentials when the first answer needs none.
        const ctr = (...args: string[]) => sh('ctr', [...ctrFlags(containerd.socket), ...args], { timeoutMs: 90_000 });
        await ctr('images', 'pull', '--plain-http', ref('public/base:v1'));
        await ctr('images', 'rm', ref('public/base:v1'));
      }),
    );

    it(
      'podman login --authfile: push and pull',
      testTimeout,
      diag.explained(async (t: TestContext) => {
        const dir = await scratch(t, `podman-${mode}`);
        const store = await podmanStore(dir);
        defer(t, () => store.remove());
        const authfile = join(dir, 'auth.json');
        const podman = (...args: string[]) => sh('podman', [...store.flags, ...args], { timeoutMs: 90_000 });
        await sh('podman', [...store.flags, 'login', '--tls-verify=false', '--authfile', authfile, '-u', 'writer', '--password-stdin', berth.hostPort], {
          input: users.writer,
        });
        await podman('load', '-q', '-i', images.single.archive);
        await forgetKnownBlobs();
        await podman('push', '-q', '--tls-verify=false', '--authfile', authfile, `docker.io/${images.single.archiveName}`, ref('e2e/podman:v1'));
        assert.equal(await pushed('e2e/podman', 'v1'), 200);
        await podman('rmi', '-a', '-f');
        await podman('pull', '-q', '--tls-verify=false', '--authfile', authfile, ref('e2e/podman:v1'));
        const wrong = await refused('podman', [...store.flags, 'login', '--tls-verify=false', '--authfile', join(dir, 'bad.json'), '-u', 'writer', '--password-stdin', berth.hostPort], {
          input: 'wrong',
        });
        assert.match(wrong, /unauthorized|invalid|401/i);
      }),
    );

    it(
      'ctr --user: push and pull; the reader cannot push',
      testTimeout,
      diag.explained(async (t: TestContext) => {
        const dir = await scratch(t, `ctr-${mode}`);
        const fresh = await startContainerd(join(dir, 'containerd'));
        diag.watch(fresh, t);
        defer(t, () => fresh.stop());
        const ctr = (...args: string[]) => sh('ctr', [...ctrFlags(fresh.socket), ...args], { timeoutMs: 90_000 });
        await ctr('images', 'import', images.single.archive);
        const local = `docker.io/${images.single.archiveName}`;
        await ctr('images', 'tag', '--force', local, ref('e2e/ctr:v1'));
        await ctr('images', 'push', '--plain-http', '--user', creds('writer'), ref('e2e/ctr:v1'));
        assert.equal(await pushed('e2e/ctr', 'v1'), 200);
        await ctr('images', 'rm', ref('e2e/ctr:v1'));
        await ctr('images', 'pull', '--plain-http', '--user', creds('reader'), ref('e2e/ctr:v1'));
        await ctr('images', 'tag', '--force', local, ref('e2e/ctr-reader:v1'));
        const said = await refused('ctr', [...ctrFlags(fresh.socket), 'images', 'push', '--plain-http', '--user', creds('reader'), ref('e2e/ctr-reader:v1')], { timeoutMs: 90_000 });
        assert.match(said, /403|denied|forbidden|unauthorized|authorization failed/i);
        assert.equal(await pushed('e2e/ctr-reader', 'v1'), 404);
      }),
    );

    it(
      'docker login: push and pull; the reader cannot push',
      testTimeout,
      diag.explained(async (t: TestContext) => {
        const dir = await scratch(t, `docker-${mode}`);
        const env = (user: string) => ({ ...dockerd.env, DOCKER_CONFIG: join(dir, `config-${user}`) });
        const docker = (user: string, ...args: string[]) => sh('docker', args, { env: env(user), timeoutMs: 90_000 });
        for (const user of ['writer', 'reader'] as const) {
          await sh('docker', ['login', '-u', user, '--password-stdin', berth.hostPort], { env: env(user), input: users[user] });
        }
        await docker('writer', 'load', '-q', '-i', images.single.archive);
        await docker('writer', 'tag', images.single.archiveName, ref(`e2e/docker-${mode}:v1`));
        await docker('writer', 'push', '-q', ref(`e2e/docker-${mode}:v1`));
        assert.equal(await pushed(`e2e/docker-${mode}`, 'v1'), 200);
        await docker('reader', 'rmi', ref(`e2e/docker-${mode}:v1`));
        await docker('reader', 'pull', '-q', ref(`e2e/docker-${mode}:v1`));
        await docker('reader', 'tag', images.single.archiveName, ref(`e2e/docker-reader-${mode}:v1`));
        const said = await refused('docker', ['push', '-q', ref(`e2e/docker-reader-${mode}:v1`)], { env: env('reader'), timeoutMs: 90_000 });
        assert.match(said, /denied/i);
        const wrong = await refused('docker', ['login', '-u', 'reader', '--password-stdin', berth.hostPort], { env: env('wrong'), input: 'nope' });
        assert.match(wrong, /unauthorized|401|invalid/i);
      }),
    );
  });
}
