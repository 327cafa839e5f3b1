// End to end for Berth as a client (`berth push/pull/copy/tags/catalog/inspect/delete/login`),
// run as users run it (the compiled bin/berth.js), against Berth and against the reference
// docker-registry: once over plain HTTP without auth, once over TLS (a test CA, --ca-file) with
// htpasswd Basic auth. skopeo and umoci are the independent judges: what berth pushes, skopeo
// pulls with the same digests; what skopeo pushes, berth pulls with the same digests; berth's
// --unpack gives the tree `umoci unpack` gives.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { berthBin, ensureBuilt } from '../helpers/compiled-cli.js';
import { freePort, spawnRegistry, type SpawnedRegistry } from '../helpers/registry-server.js';
import { createTestCa, type TestCa } from '../helpers/tls.js';
import { forgetKnownBlobs } from './support/clients.js';
import { dockerdForSuite } from './support/daemons.js';
import { buildTestImages, helloText, type TestImages } from './support/images.js';
import { writeTestLayout } from '../helpers/image-layout.js';
import { readLayoutManifest, sha256 } from './support/oci.js';
import { defer, Diagnostics, type RunOptions, type RunResult } from './support/run.js';

const diag = new Diagnostics();
const testTimeout = { timeout: 180_000 };
const user = { name: 'pusher', password: 'pusher-e2e-pw' };
let work: string;
let images: TestImages;
let ca: TestCa;

before(
  async () => {
    await ensureBuilt();
    work = await mkdtemp(join(tmpdir(), 'berth-e2e-client-'));
    images = await buildTestImages(join(work, 'images'));
    ca = await createTestCa('Berth e2e client CA', work);
  },
  { timeout: 180_000 },
);

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

interface Target {
  readonly kind: 'berth' | 'docker-registry';
  readonly secure: boolean;
  readonly hostPort: string;
  /** Flags berth needs to reach it (--insecure or --ca-file). */
  readonly berthFlags: readonly string[];
  /** Flags skopeo needs (--tls-verify=false or --cert-dir, and credentials). */
  readonly skopeoSrc: readonly string[];
  readonly skopeoDest: readonly string[];
  /** DOCKER_CONFIG for berth (empty unless logged in). */
  readonly env: NodeJS.ProcessEnv;
}

async function startTarget(t: TestContext, kind: Target['kind'], secure: boolean): Promise<Target> {
  const dir = await mkdtemp(join(work, `${kind}-${secure ? 'tls' : 'http'}-`));
  defer(t, () => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const lines = ['version: 0.1', 'log:', '  level: info', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'data')}`, '  delete:', '    enabled: true', 'http:', `  addr: 127.0.0.1:${port}`];
  let certDir = '';
  if (secure) {
    const cert = await ca.serverCert(`server-${kind}`);
    lines.push('  tls:', `    certificate: ${cert.cert}`, `    key: ${cert.key}`);
    const htpasswd = join(dir, 'htpasswd');
    await diag.run('htpasswd', ['-Bbc', htpasswd, user.name, user.password]);
    lines.push('auth:', '  htpasswd:', '    realm: berth-e2e', `    path: ${htpasswd}`);
    certDir = join(dir, 'certs');
    await mkdir(certDir);
    await writeFile(join(certDir, 'ca.crt'), ca.certPem);
  }
  const registry: SpawnedRegistry = await spawnRegistry(kind, `${lines.join('\n')}\n`, dir, port, {}, secure ? { ca: ca.certPem } : undefined);
  defer(t, () => registry.stop());
  diag.watch({ name: `${kind} ${registry.hostPort}`, text: registry.output }, t);
  const dockerConfig = join(dir, 'docker-config');
  return {
    kind,
    secure,
    hostPort: registry.hostPort,
    berthFlags: secure ? ['--ca-file', ca.cert] : ['--insecure'],
    skopeoSrc: secure ? ['--src-cert-dir', certDir, '--src-creds', `${user.name}:${user.password}`] : ['--src-tls-verify=false'],
    skopeoDest: secure ? ['--dest-cert-dir', certDir, '--dest-creds', `${user.name}:${user.password}`] : ['--dest-tls-verify=false'],
    env: { DOCKER_CONFIG: dockerConfig, XDG_CACHE_HOME: join(dir, 'cache') },
  };
}

/** Runs the compiled CLI; `--json` output is parsed by the callers that ask for it. */
function berth(target: Target, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return diag.run(process.execPath, [berthBin, ...args], { timeoutMs: 120_000, ...options, env: { ...target.env, ...options.env } });
}

/** `berth login` with the password on stdin, for targets with auth. */
async function login(target: Target): Promise<void> {
  if (!target.secure) return;
  const result = await berth(target, ['login', target.hostPort, ...target.berthFlags, '-u', user.name, '--password-stdin'], { input: `${user.password}\n` });
  assert.match(result.stdout, /Login succeeded/);
}

interface TransferSummary {
  root: { digest: string };
  copiedBlobs: number;
  existingBlobs: number;
  mountedBlobs: number;
}

async function pushJson(target: Target, source: string, ref: string, extra: string[] = []): Promise<TransferSummary> {
  const result = await berth(target, ['push', ...target.berthFlags, '--json', ...extra, source, ref]);
  return JSON.parse(result.stdout) as TransferSummary;
}

/** The manifest digest skopeo sees for a registry reference. */
async function skopeoDigest(target: Target, ref: string): Promise<string> {
  const flags = target.secure ? ['--cert-dir', target.skopeoSrc[1]!, '--creds', `${user.name}:${user.password}`] : ['--tls-verify=false'];
  const raw = await diag.run('skopeo', ['inspect', '--raw', ...flags, `docker://${ref}`]);
  return sha256(raw.stdout);
}

for (const [kind, secure] of [
  ['berth', false],
  ['docker-registry', false],
  ['berth', true],
  ['docker-registry', true],
] as const) {
  describe(`berth as a client of ${kind} over ${secure ? 'TLS with Basic auth' : 'plain HTTP'}`, () => {
    it(
      'pushes a docker save tarball, an OCI layout and a multi-arch index; skopeo pulls them with identical digests',
      testTimeout,
      diag.explained(async (t) => {
        const target = await startTarget(t, kind, secure);
        await login(target);
        const fromArchive = await pushJson(target, images.single.archive, `${target.hostPort}/cli/archive:v1`);
        assert.equal(await skopeoDigest(target, `${target.hostPort}/cli/archive:v1`), fromArchive.root.digest);

        const fromLayout = await pushJson(target, `${images.single.layoutDir}:v1`, `${target.hostPort}/cli/layout:v1`);
        assert.equal(fromLayout.root.digest, images.single.manifest.digest, 'an OCI layout is pushed byte for byte');
        // skopeo pulls exactly what berth pushed.
        const pulled = join(await mkdtemp(join(work, 'skopeo-pull-')), 'layout');
        await diag.run('skopeo', ['copy', '-q', ...target.skopeoSrc, `docker://${target.hostPort}/cli/layout:v1`, `oci:${pulled}:v1`]);
        const skopeoManifest = await readLayoutManifest(pulled, 'v1');
        assert.equal(skopeoManifest.digest, images.single.manifest.digest);

        const multi = await pushJson(target, `${images.multi.layoutDir}:list`, `${target.hostPort}/cli/multi:list`);
        assert.equal(multi.root.digest, images.multi.index.digest, 'the whole index is pushed');
        assert.equal(await skopeoDigest(target, `${target.hostPort}/cli/multi:list`), images.multi.index.digest);

        // A second push of the same image finds every blob there already (HEAD) and uploads none.
        const again = await pushJson(target, `${images.single.layoutDir}:v1`, `${target.hostPort}/cli/layout:v2`);
        assert.equal(again.copiedBlobs, 0);
        assert.ok(again.existingBlobs >= 2);
        // Into another repository, the layers are mounted from where berth pushed them before.
        const mounted = await pushJson(target, `${images.single.layoutDir}:v1`, `${target.hostPort}/cli/elsewhere:v1`);
        assert.equal(mounted.copiedBlobs, 0);
        assert.equal(mounted.mountedBlobs, 1 + images.single.manifest.json.layers!.length);
        assert.equal(await skopeoDigest(target, `${target.hostPort}/cli/elsewhere:v1`), images.single.manifest.digest);
      }),
    );

    it(
      'pulls what skopeo pushed (OCI layout, docker archive, one platform of an index) with identical digests, and unpacks it as umoci does',
      testTimeout,
      diag.explained(async (t) => {
        const target = await startTarget(t, kind, secure);
        await login(target);
        await forgetKnownBlobs();
        await diag.run('skopeo', ['copy', '-q', ...target.skopeoDest, images.single.layout, `docker://${target.hostPort}/cli/from-skopeo:v1`]);
        const dest = await mkdtemp(join(work, 'pull-'));
        defer(t, () => rm(dest, { recursive: true, force: true }));

        const layout = join(dest, 'layout');
        const rootfs = join(dest, 'rootfs');
        await berth(target, ['pull', ...target.berthFlags, `${target.hostPort}/cli/from-skopeo:v1`, layout, '--unpack', rootfs]);
        assert.equal((await readLayoutManifest(layout, 'v1')).digest, images.single.manifest.digest);
        // skopeo reads the layout berth wrote.
        await diag.run('skopeo', ['inspect', `oci:${layout}:v1`]);

        const bundle = join(dest, 'bundle');
        await diag.run('umoci', ['unpack', '--rootless', '--image', `${images.single.layoutDir}:v1`, bundle]);
        assert.deepEqual(await treeOf(rootfs), await treeOf(join(bundle, 'rootfs')));

        const archive = join(dest, 'image.tar');
        await berth(target, ['pull', ...target.berthFlags, '--format', 'docker-archive', `${target.hostPort}/cli/from-skopeo:v1`, archive]);
        const fromArchive = join(dest, 'from-archive');
        await diag.run('skopeo', ['copy', '-q', `docker-archive:${archive}`, `oci:${fromArchive}:v1`]);
        const config = JSON.parse((await readFile(join(fromArchive, 'index.json'))).toString()) as { manifests: unknown[] };
        assert.equal(config.manifests.length, 1);

        await diag.run('skopeo', ['copy', '-q', '--all', ...target.skopeoDest, images.multi.layout, `docker://${target.hostPort}/cli/multi:list`]);
        const arm = join(dest, 'arm');
        await berth(target, ['pull', ...target.berthFlags, '--platform', 'linux/arm64', `${target.hostPort}/cli/multi:list`, arm]);
        assert.equal((await readLayoutManifest(arm, 'list')).digest, images.multi.children.arm64.digest);
        // Without --platform, the image for this machine (linux/amd64 here).
        const native = join(dest, 'native');
        await berth(target, ['pull', ...target.berthFlags, `${target.hostPort}/cli/multi:list`, native]);
        assert.equal((await readLayoutManifest(native, 'list')).digest, images.multi.children.amd64.digest);
        const all = join(dest, 'all');
        await berth(target, ['pull', ...target.berthFlags, '--all-platforms', `${target.hostPort}/cli/multi:list`, all]);
        assert.equal((await readLayoutManifest(all, 'list')).digest, images.multi.index.digest);
      }),
    );

    it(
      'copies within the registry by mounting, lists tags and the catalog, inspects, deletes',
      testTimeout,
      diag.explained(async (t) => {
        const target = await startTarget(t, kind, secure);
        await login(target);
        await pushJson(target, `${images.multi.layoutDir}:list`, `${target.hostPort}/cli/src:list`);
        const copy = await berth(target, ['copy', ...target.berthFlags, '--json', `${target.hostPort}/cli/src:list`, `${target.hostPort}/cli/dst:copied`]);
        const copied = JSON.parse(copy.stdout) as TransferSummary;
        assert.equal(copied.root.digest, images.multi.index.digest);
        assert.equal(copied.copiedBlobs, 0, 'within one registry every blob is mounted');
        assert.ok(copied.mountedBlobs >= 4);
        assert.equal(await skopeoDigest(target, `${target.hostPort}/cli/dst:copied`), images.multi.index.digest);

        for (const tag of ['a', 'b', 'c']) await berth(target, ['copy', ...target.berthFlags, `${target.hostPort}/cli/src:list`, `${target.hostPort}/cli/dst:${tag}`]);
        const tags = JSON.parse((await berth(target, ['tags', ...target.berthFlags, '--json', '-n', '2', `${target.hostPort}/cli/dst`])).stdout) as { tags: string[] };
        assert.deepEqual([...tags.tags].sort(), ['a', 'b', 'c', 'copied']);
        const catalog = (await berth(target, ['catalog', ...target.berthFlags, target.hostPort])).stdout.trim().split('\n');
        assert.deepEqual(catalog, ['cli/dst', 'cli/src']);

        const inspect = JSON.parse((await berth(target, ['inspect', ...target.berthFlags, '--json', `${target.hostPort}/cli/dst:copied`])).stdout) as {
          digest: string;
          platforms: { platform: { architecture: string } }[];
        };
        assert.equal(inspect.digest, images.multi.index.digest);
        assert.deepEqual(inspect.platforms.map((p) => p.platform.architecture).sort(), ['amd64', 'arm64']);
        const child = JSON.parse((await berth(target, ['inspect', ...target.berthFlags, '--json', `${target.hostPort}/cli/dst@${images.multi.children.arm64.digest}`])).stdout) as {
          config: { architecture: string };
          layers: unknown[];
          totalSize: number;
        };
        assert.equal(child.config.architecture, 'arm64');
        assert.ok(child.layers.length >= 1 && child.totalSize > 0);

        await berth(target, ['delete', ...target.berthFlags, `${target.hostPort}/cli/src@${images.multi.index.digest}`]);
        const gone = await berth(target, ['inspect', ...target.berthFlags, `${target.hostPort}/cli/src:list`], { allowFailure: true });
        assert.notEqual(gone.code, 0);
        assert.match(gone.stderr, /MANIFEST_UNKNOWN/);
      }),
    );

    if (secure) {
      it(
        'without login a push is refused with the registry error and a hint; logout forgets the credentials',
        testTimeout,
        diag.explained(async (t) => {
          const target = await startTarget(t, kind, secure);
          const refused = await berth(target, ['push', ...target.berthFlags, `${images.single.layoutDir}:v1`, `${target.hostPort}/cli/nologin:v1`], { allowFailure: true });
          assert.notEqual(refused.code, 0);
          assert.match(refused.stderr, /UNAUTHORIZED/);
          assert.match(refused.stderr, new RegExp(`berth login ${target.hostPort.replace(/\./g, '\\.')}`));

          const wrong = await berth(target, ['login', target.hostPort, ...target.berthFlags, '-u', user.name, '--password-stdin'], { input: 'not-the-password\n', allowFailure: true });
          assert.notEqual(wrong.code, 0);

          const untrusted = await berth(target, ['tags', `${target.hostPort}/cli/x`], { allowFailure: true });
          assert.notEqual(untrusted.code, 0);
          assert.match(untrusted.stderr, /--ca-file/);

          await login(target);
          // skopeo reads the credentials berth saved.
          const authFile = join(target.env.DOCKER_CONFIG!, 'config.json');
          await diag.run('skopeo', ['copy', '-q', '--authfile', authFile, '--dest-cert-dir', target.skopeoDest[1]!, images.single.layout, `docker://${target.hostPort}/cli/authfile:v1`]);
          await berth(target, ['logout', target.hostPort]);
          const after = await berth(target, ['tags', ...target.berthFlags, `${target.hostPort}/cli/authfile`], { allowFailure: true });
          assert.match(after.stderr, /UNAUTHORIZED/);
        }),
      );
    }
  });
}

describe('berth copy between two registries', () => {
  it(
    'streams an index from docker-registry to Berth and back with the same digests',
    testTimeout,
    diag.explained(async (t) => {
      const reference = await startTarget(t, 'docker-registry', false);
      const ours = await startTarget(t, 'berth', false);
      await pushJson(reference, `${images.multi.layoutDir}:list`, `${reference.hostPort}/x/multi:list`);
      await berth(ours, ['copy', '--insecure', `${reference.hostPort}/x/multi:list`, `${ours.hostPort}/y/multi:list`]);
      assert.equal(await skopeoDigest(ours, `${ours.hostPort}/y/multi:list`), images.multi.index.digest);
      await berth(ours, ['copy', '--insecure', '--chunk-size', '64KiB', `${ours.hostPort}/y/multi:list`, `${reference.hostPort}/z/multi:back`]);
      assert.equal(await skopeoDigest(reference, `${reference.hostPort}/z/multi:back`), images.multi.index.digest);
    }),
  );
});

describe('berth pull output used by other tools', () => {
  const docker = dockerdForSuite(() => join(work, 'docker'), diag);

  it(
    'a --format docker-archive tarball loads into docker and runs',
    testTimeout,
    diag.explained(async (t) => {
      const target = await startTarget(t, 'berth', false);
      await pushJson(target, images.single.archive, `${target.hostPort}/cli/run:v1`);
      const archive = join(await mkdtemp(join(work, 'docker-load-')), 'image.tar');
      await berth(target, ['pull', '--insecure', '--format', 'docker-archive', `${target.hostPort}/cli/run:v1`, archive]);
      const loaded = await docker('load', '-i', archive);
      assert.match(loaded.stdout, new RegExp(`cli/run:v1`));
      const ran = await docker('run', '--rm', '--network', 'none', `cli/run:v1`);
      assert.equal(ran.stdout.trim(), helloText);
    }),
  );

  it(
    '--unpack keeps a malicious layer inside its directory',
    testTimeout,
    diag.explained(async (t) => {
      const target = await startTarget(t, 'berth', false);
      const dir = await mkdtemp(join(work, 'evil-'));
      defer(t, () => rm(dir, { recursive: true, force: true }));
      const outside = `/tmp/berth-evil-${randomBytes(6).toString('hex')}`;
      await writeTestLayout(join(dir, 'layout'), [
        [
          { name: '../../escaped-by-dots.txt', content: 'x' },
          { name: `${outside}-absolute.txt`, content: 'x' },
          { name: 'root', type: 'symlink', linkname: '/' },
          { name: `root${outside}-through-symlink.txt`, content: 'x' },
          { name: 'up', type: 'symlink', linkname: '../../../../..' },
          { name: 'up/escaped-up.txt', content: 'x' },
          { name: 'passwd', type: 'link', linkname: '../../../../../etc/passwd' },
        ],
      ], 'v1');
      await pushJson(target, join(dir, 'layout:v1'), `${target.hostPort}/cli/evil:v1`);
      const sentinel = join(dir, 'sentinel');
      await mkdir(sentinel);
      const rootfs = join(sentinel, 'rootfs');
      // A hard link to a file outside the image is refused; everything else lands inside rootfs.
      const pulled = await berth(target, ['pull', '--insecure', `${target.hostPort}/cli/evil:v1`, '--unpack', rootfs], { allowFailure: true });
      assert.notEqual(pulled.code, 0);
      assert.match(pulled.stderr, /passwd/, 'the refused hard link is named');
      assert.deepEqual(await readdir(sentinel), ['rootfs'], 'nothing beside the unpack directory');
      for (const escaped of [`${outside}-absolute.txt`, `${outside}-through-symlink.txt`, '/escaped-up.txt', join(dir, 'escaped-by-dots.txt'), join(work, 'escaped-by-dots.txt')]) {
        assert.equal(existsSync(escaped), false, `${escaped} was written outside the unpack directory`);
      }
      assert.equal(existsSync(join(rootfs, `${outside}-absolute.txt`)), true, 'an absolute name lands under the directory');
    }),
  );
});

/** Every entry under root: type, permission bits, link target or content hash. */
async function treeOf(root: string): Promise<Record<string, string>> {
  const tree: Record<string, string> = {};
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const key = `${prefix}${name}`;
      const info = await lstat(path);
      const mode = (info.mode & 0o7777).toString(8);
      if (info.isSymbolicLink()) tree[key] = `link ${await readlink(path)}`;
      else if (info.isDirectory()) {
        tree[key] = `dir ${mode}`;
        await walk(path, `${key}/`);
      } else tree[key] = `file ${mode} ${createHash('sha256').update(await readFile(path)).digest('hex')}`;
    }
  };
  await walk(root, '');
  return tree;
}
