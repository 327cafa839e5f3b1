// End to end with real clients against Berth with authentication, once with htpasswd (Basic)
// and once with Berth's own token server, each over plain HTTP and over TLS with a self-signed
// CA: skopeo --creds, podman login, ctr --user and docker login each push and pull as an allowed
// user; a pull-only user's push is refused and the client says so; an anonymous client pulls a
// public repository and may not push to it. The users are created with
// `berth user add --password-stdin`.
//
// Over TLS every client is given the test CA (skopeo and podman a cert dir, ctr a hosts dir,
// dockerd /etc/docker/certs.d) and first shown to refuse the server without it. dockerd counts
// 127.0.0.0/8 as an insecure registry and then skips certificate checks altogether (and ignores
// certs.d), so over TLS docker names the registry `berth-e2e.test:PORT`, a name that resolves
// nowhere, and reaches it through a CONNECT proxy on 127.0.0.1 (HTTPS_PROXY of that dockerd)
// that tunnels only that name to 127.0.0.1:PORT.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { freePort, repoRoot, spawnRegistry, type SpawnedRegistry } from '../helpers/registry-server.js';
import { httpsFetch } from '../helpers/tls-client.js';
import { createTestCa, type CertFiles, type TestCa } from '../helpers/tls.js';
import { ctrFlags, forgetKnownBlobs, podmanStore } from './support/clients.js';
import { startContainerd, startDockerd, type Daemon, type Dockerd } from './support/daemons.js';
import { buildTestImages, helloText, type TestImages } from './support/images.js';
import { startConnectProxy, type ConnectProxy } from './support/proxy.js';
import { defer, Diagnostics, type RunOptions, type RunResult } from './support/run.js';

const diag = new Diagnostics();
const testTimeout = { timeout: 180_000 };
const users = { root: 'root-e2e-pw', writer: 'writer-e2e-pw', reader: 'reader-e2e-pw' } as const;
type User = keyof typeof users;
const transports = ['http', 'https'] as const;
type Transport = (typeof transports)[number];
/** The name docker uses for Berth over TLS (see the top of this file); `.test` never resolves. */
const dockerTlsName = 'berth-e2e.test';
/** dockerd's per-registry CA folder: /etc/docker/certs.d/HOST:PORT/ca.crt. */
const dockerCertsDir = '/etc/docker/certs.d';
let work: string;
let images: TestImages;
let containerd: Daemon;
let dockerd: Dockerd;
let proxy: ConnectProxy;
let ca: TestCa;
let serverCert: CertFiles;
/** skopeo and podman cert dir trusting the test CA (ca.crt). */
let certDir: string;
let createdDockerCertsDir = false;

before(
  async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-e2e-auth-'));
    images = await buildTestImages(join(work, 'images'));
    ca = await createTestCa('Berth e2e auth CA', work);
    serverCert = await ca.serverCert('server', [dockerTlsName]);
    certDir = join(work, 'certs');
    await mkdir(certDir);
    await copyFile(ca.cert, join(certDir, 'ca.crt'));
    containerd = await startContainerd(join(work, 'containerd'));
    diag.watch(containerd);
    proxy = await startConnectProxy(dockerTlsName);
    // Go never proxies loopback addresses, so plain HTTP to 127.0.0.1 and the token realm on
    // https://127.0.0.1 stay direct.
    dockerd = await startDockerd(join(work, 'docker'), { HTTPS_PROXY: proxy.url, https_proxy: proxy.url });
    diag.watch(dockerd);
  },
  { timeout: 180_000 },
);

after(
  async () => {
    await containerd?.stop();
    await dockerd?.stop();
    await proxy?.close();
    await removeDockerCas();
    if (work) await rm(work, { recursive: true, force: true });
  },
  { timeout: 60_000 },
);

/** Trusts the test CA for hostPort in dockerd (read on every connection, no restart needed). */
async function installDockerCa(hostPort: string): Promise<void> {
  if (!(await stat(dockerCertsDir).catch(() => undefined))) createdDockerCertsDir = true;
  await mkdir(join(dockerCertsDir, hostPort), { recursive: true });
  await copyFile(ca.cert, join(dockerCertsDir, hostPort, 'ca.crt'));
}

/** Removes every certs.d entry this file made, and certs.d itself if this file made it. */
async function removeDockerCas(): Promise<void> {
  const ours = await readdir(dockerCertsDir).catch(() => [] as string[]);
  for (const entry of ours.filter((name) => name.startsWith(`${dockerTlsName}:`))) {
    await rm(join(dockerCertsDir, entry), { recursive: true, force: true });
  }
  if (createdDockerCertsDir) await rmdir(dockerCertsDir).catch(() => undefined);
}

const sh = (file: string, args: string[], options?: RunOptions) => diag.run(file, args, options);

/** A command that must fail; returns its output for checking what the client said. */
async function refused(file: string, args: string[], options: RunOptions = {}): Promise<string> {
  const result: RunResult = await diag.run(file, args, { ...options, allowFailure: true });
  assert.notEqual(result.code, 0, `expected ${result.command} to fail:\n${result.stdout}\n${result.stderr}`);
  return `${result.stdout}\n${result.stderr}`;
}

/** A command that must fail because the client does not trust the server's certificate. */
async function untrusted(file: string, args: string[], options: RunOptions = {}): Promise<void> {
  const said = await refused(file, args, options);
  assert.match(said, /x509|certificate signed by unknown authority|certificate verify failed/i, `refused for the certificate:\n${said}`);
}

async function scratch(t: TestContext, label: string): Promise<string> {
  const dir = await mkdtemp(join(work, `${label}-`));
  defer(t, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

interface AuthBerth {
  readonly hostPort: string;
  readonly url: string;
  readonly port: number;
  /** Its folder: config, storage, log. */
  readonly dir: string;
  stop(): Promise<void>;
}

/**
 * Creates the users with the CLI, then starts `berth serve` with the given auth section, over
 * plain HTTP or over TLS with a certificate of the test CA.
 */
async function startBerth(mode: 'htpasswd' | 'tokenserver', transport: Transport): Promise<AuthBerth> {
  const dir = join(work, `${mode}-${transport}`);
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
          `    realm: ${transport}://127.0.0.1:${port}/auth/token`,
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
    ...(transport === 'https' ? ['  tls:', `    certificate: ${serverCert.cert}`, `    key: ${serverCert.key}`] : []),
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
  const spawned: SpawnedRegistry = await spawnRegistry('berth', config, dir, port, {}, transport === 'https' ? { ca: ca.certPem } : undefined);
  const logFile = join(dir, 'berth.log');
  writeFileSync(logFile, spawned.output());
  spawned.process.stdout!.on('data', (chunk: Buffer) => appendFileSync(logFile, chunk));
  spawned.process.stderr!.on('data', (chunk: Buffer) => appendFileSync(logFile, chunk));
  const source = { name: `berth ${mode} ${transport} (${logFile})`, text: () => readFileSync(logFile, 'utf8') };
  diag.watch(source);
  return {
    hostPort: spawned.hostPort,
    url: spawned.url,
    port,
    dir,
    stop: async () => {
      diag.unwatch(source);
      await spawned.stop();
    },
  };
}

/** How each client is told to reach Berth: plain HTTP, or TLS trusting the test CA (and nothing else). */
interface ClientFlags {
  /** skopeo copy to Berth, from Berth, and inspect. */
  readonly skopeoDest: string[];
  readonly skopeoSrc: string[];
  readonly skopeo: string[];
  /** podman login, push and pull. */
  readonly podman: string[];
  /** ctr images push and pull. */
  readonly ctr: string[];
  /** Over TLS, ctr flags for the same https endpoint without the CA (ctr must refuse it). */
  readonly ctrUntrusted: string[];
  /** host:port docker pushes to and pulls from. */
  readonly dockerHost: string;
}

async function clientFlags(transport: Transport, berth: AuthBerth): Promise<ClientFlags> {
  if (transport === 'http') {
    return {
      skopeoDest: ['--dest-tls-verify=false'],
      skopeoSrc: ['--src-tls-verify=false'],
      skopeo: ['--tls-verify=false'],
      podman: ['--tls-verify=false'],
      ctr: ['--plain-http'],
      ctrUntrusted: [],
      // 127.0.0.0/8 is an insecure registry to dockerd: it falls back to plain HTTP.
      dockerHost: berth.hostPort,
    };
  }
  // ctr 1.6 talks plain HTTP to 127.0.0.1 unless a hosts.toml names https, and its parser
  // rejects a hosts.toml without a [host] table.
  const hostsDir = async (folder: string, trustCa: boolean) => {
    const server = `https://${berth.hostPort}`;
    const caLine = trustCa ? [`ca = "${ca.cert}"`] : [];
    const toml = [`server = "${server}"`, ...caLine, `[host."${server}"]`, 'capabilities = ["pull", "resolve", "push"]', ...caLine, ''];
    await mkdir(join(berth.dir, folder, berth.hostPort), { recursive: true });
    await writeFile(join(berth.dir, folder, berth.hostPort, 'hosts.toml'), toml.join('\n'));
    return join(berth.dir, folder);
  };
  return {
    skopeoDest: ['--dest-cert-dir', certDir],
    skopeoSrc: ['--src-cert-dir', certDir],
    skopeo: ['--cert-dir', certDir],
    podman: ['--cert-dir', certDir],
    ctr: ['--hosts-dir', await hostsDir('hosts.d', true)],
    ctrUntrusted: ['--hosts-dir', await hostsDir('hosts-untrusted.d', false)],
    dockerHost: `${dockerTlsName}:${berth.port}`,
  };
}

for (const transport of transports) {
  describe(`over ${transport}`, () => {
    for (const mode of ['htpasswd', 'tokenserver'] as const) {
      describe(`auth: ${mode}`, () => {
        const tls = transport === 'https';
        let berth: AuthBerth;
        let flags: ClientFlags;
        before(
          async () => {
            berth = await startBerth(mode, transport);
            flags = await clientFlags(transport, berth);
            // Root pushes the public image the anonymous tests pull.
            await forgetKnownBlobs();
            await sh('skopeo', ['copy', '-q', ...flags.skopeoDest, '--dest-creds', `root:${users.root}`, images.single.layout, `docker://${berth.hostPort}/public/base:v1`]);
          },
          { timeout: 60_000 },
        );
        after(
          async () => {
            await berth?.stop();
            await removeDockerCas();
          },
          { timeout: 30_000 },
        );

        const ref = (repoAndTag: string) => `${berth.hostPort}/${repoAndTag}`;
        const creds = (user: User) => `${user}:${users[user]}`;
        /** A request to Berth from this process (over TLS trusting the test CA). */
        const request = async (method: string, url: string, headers: Record<string, string>) => {
          if (tls) {
            const answer = await httpsFetch(url, { method, headers, ca: ca.certPem });
            return { status: answer.status, body: answer.body.toString() };
          }
          const answer = await fetch(url, { method, headers });
          return { status: answer.status, body: await answer.text() };
        };
        /** The status of a HEAD on the manifest as root (who may read anything): 200 when it was pushed. */
        const pushed = async (name: string, tag: string) => {
          const rootBasic = `Basic ${Buffer.from(creds('root')).toString('base64')}`;
          let authorization = rootBasic;
          if (mode === 'tokenserver') {
            const query = new URLSearchParams({ service: 'berth-e2e', scope: `repository:${name}:pull` });
            const answer = await request('GET', `${berth.url}/auth/token?${query}`, { Authorization: rootBasic });
            assert.equal(answer.status, 200);
            authorization = `Bearer ${(JSON.parse(answer.body) as { token: string }).token}`;
          }
          const head = await request('HEAD', `${berth.url}/v2/${name}/manifests/${tag}`, { Authorization: authorization, Accept: '*/*' });
          return head.status;
        };

        it(
          'skopeo --creds: a writer pushes, a reader pulls, and the reader may not push',
          testTimeout,
          diag.explained(async (t: TestContext) => {
            const dir = await scratch(t, `skopeo-${mode}`);
            await forgetKnownBlobs();
            if (tls) await untrusted('skopeo', ['copy', '-q', '--dest-creds', creds('writer'), images.single.layout, `docker://${ref('e2e/skopeo:v1')}`]);
            await sh('skopeo', ['copy', '-q', ...flags.skopeoDest, '--dest-creds', creds('writer'), images.single.layout, `docker://${ref('e2e/skopeo:v1')}`]);
            await sh('skopeo', ['copy', '-q', ...flags.skopeoSrc, '--src-creds', creds('reader'), `docker://${ref('e2e/skopeo:v1')}`, `oci:${dir}/pulled:v1`]);
            await forgetKnownBlobs();
            const said = await refused('skopeo', ['copy', '-q', ...flags.skopeoDest, '--dest-creds', creds('reader'), images.single.layout, `docker://${ref('e2e/skopeo-reader:v1')}`]);
            assert.match(said, /denied|forbidden|unauthorized/i);
            assert.equal(await pushed('e2e/skopeo-reader', 'v1'), 404);
            await refused('skopeo', ['inspect', ...flags.skopeo, '--creds', `reader:wrong`, `docker://${ref('e2e/skopeo:v1')}`]);
          }),
        );

        it(
          'anonymous: pulls a public repository, may not push to it, may not pull a private one',
          testTimeout,
          diag.explained(async (t: TestContext) => {
            const dir = await scratch(t, `anonymous-${mode}`);
            await sh('skopeo', ['copy', '-q', ...flags.skopeoSrc, `docker://${ref('public/base:v1')}`, `oci:${dir}/pulled:v1`]);
            await forgetKnownBlobs();
            const said = await refused('skopeo', ['copy', '-q', ...flags.skopeoDest, images.single.layout, `docker://${ref('public/anon:v1')}`]);
            assert.match(said, /denied|unauthorized|authentication required/i);
            assert.equal(await pushed('public/anon', 'v1'), 404, 'nothing was pushed');
            await refused('skopeo', ['inspect', ...flags.skopeo, `docker://${ref('e2e/skopeo:v1')}`]);
            // containerd sends no credentials when the first answer needs none.
            const ctr = (...args: string[]) => sh('ctr', [...ctrFlags(containerd.socket), ...args], { timeoutMs: 90_000 });
            await ctr('images', 'pull', ...flags.ctr, ref('public/base:v1'));
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
            if (tls) {
              const args = ['login', '--authfile', join(dir, 'untrusted.json'), '-u', 'writer', '--password-stdin', berth.hostPort];
              await untrusted('podman', [...store.flags, ...args], { input: users.writer });
            }
            await sh('podman', [...store.flags, 'login', ...flags.podman, '--authfile', authfile, '-u', 'writer', '--password-stdin', berth.hostPort], {
              input: users.writer,
            });
            await podman('load', '-q', '-i', images.single.archive);
            await forgetKnownBlobs();
            await podman('push', '-q', ...flags.podman, '--authfile', authfile, `docker.io/${images.single.archiveName}`, ref('e2e/podman:v1'));
            assert.equal(await pushed('e2e/podman', 'v1'), 200);
            await podman('rmi', '-a', '-f');
            await podman('pull', '-q', ...flags.podman, '--authfile', authfile, ref('e2e/podman:v1'));
            const wrong = await refused('podman', [...store.flags, 'login', ...flags.podman, '--authfile', join(dir, 'bad.json'), '-u', 'writer', '--password-stdin', berth.hostPort], {
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
            if (tls) {
              const args = ['images', 'push', ...flags.ctrUntrusted, '--user', creds('writer'), ref('e2e/ctr:v1')];
              await untrusted('ctr', [...ctrFlags(fresh.socket), ...args], { timeoutMs: 90_000 });
            }
            await ctr('images', 'push', ...flags.ctr, '--user', creds('writer'), ref('e2e/ctr:v1'));
            assert.equal(await pushed('e2e/ctr', 'v1'), 200);
            await ctr('images', 'rm', ref('e2e/ctr:v1'));
            await ctr('images', 'pull', ...flags.ctr, '--user', creds('reader'), ref('e2e/ctr:v1'));
            await ctr('images', 'tag', '--force', local, ref('e2e/ctr-reader:v1'));
            const said = await refused('ctr', [...ctrFlags(fresh.socket), 'images', 'push', ...flags.ctr, '--user', creds('reader'), ref('e2e/ctr-reader:v1')], { timeoutMs: 90_000 });
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
            const registry = flags.dockerHost;
            const image = (repoAndTag: string) => `${registry}/${repoAndTag}`;
            if (tls) {
              await untrusted('docker', ['login', '-u', 'writer', '--password-stdin', registry], { env: env('untrusted'), input: users.writer });
              defer(t, () => removeDockerCas());
              await installDockerCa(registry);
            }
            const tunnelsBefore = proxy.tunnels.length;
            for (const user of ['writer', 'reader'] as const) {
              await sh('docker', ['login', '-u', user, '--password-stdin', registry], { env: env(user), input: users[user] });
            }
            await docker('writer', 'load', '-q', '-i', images.single.archive);
            await docker('writer', 'tag', images.single.archiveName, image(`e2e/docker-${mode}:v1`));
            await docker('writer', 'push', '-q', image(`e2e/docker-${mode}:v1`));
            assert.equal(await pushed(`e2e/docker-${mode}`, 'v1'), 200);
            await docker('reader', 'rmi', image(`e2e/docker-${mode}:v1`));
            await docker('reader', 'pull', '-q', image(`e2e/docker-${mode}:v1`));
            const ran = await docker('reader', 'run', '--rm', '--network', 'none', image(`e2e/docker-${mode}:v1`));
            assert.equal(ran.stdout.trim(), helloText);
            await docker('reader', 'tag', images.single.archiveName, image(`e2e/docker-reader-${mode}:v1`));
            const said = await refused('docker', ['push', '-q', image(`e2e/docker-reader-${mode}:v1`)], { env: env('reader'), timeoutMs: 90_000 });
            assert.match(said, /denied/i);
            assert.equal(await pushed(`e2e/docker-reader-${mode}`, 'v1'), 404);
            const wrong = await refused('docker', ['login', '-u', 'reader', '--password-stdin', registry], { env: env('wrong'), input: 'nope' });
            assert.match(wrong, /unauthorized|401|invalid/i);
            // Over TLS dockerd went through the proxy, under the name whose CA it had to check.
            if (tls) assert.ok(proxy.tunnels.slice(tunnelsBefore).includes(registry), `dockerd tunnelled to ${registry}: ${proxy.tunnels.join(', ')}`);
          }),
        );
      });
    }
  });
}
