// Real clients over TLS with a self-signed CA: skopeo against Berth serving HTTPS itself (with
// HTTP/2 and with client certificates), and against Berth behind nginx configured with the
// README's example, extracted from README.md at test time so the documented config is the one
// that is tested.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { freePort, repoRoot, spawnRegistry, type SpawnedRegistry } from '../helpers/registry-server.js';
import { createTestCa, type CertFiles, type TestCa } from '../helpers/tls.js';
import { httpsFetch } from '../helpers/tls-client.js';
import { forgetKnownBlobs } from './support/clients.js';
import { buildTestImages, type TestImages } from './support/images.js';
import { readLayoutManifest } from './support/oci.js';
import { defer, Diagnostics, tail } from './support/run.js';

const diag = new Diagnostics();
let work: string;
let images: TestImages;
let ca: TestCa;
let serverCert: CertFiles;
/** A skopeo cert dir trusting the test CA. */
let certDir: string;

before(
  async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-e2e-tls-'));
    images = await buildTestImages(join(work, 'images'));
    ca = await createTestCa('Berth e2e CA', work);
    serverCert = await ca.serverCert();
    certDir = join(work, 'certs.d');
    await mkdir(certDir);
    await copyFile(ca.cert, join(certDir, 'ca.crt'));
  },
  { timeout: 120_000 },
);

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** Berth as its own process (bin/berth.js) with extra `http:` lines; waits until it answers over TLS. */
async function startBerth(t: TestContext, name: string, httpLines: string[], clientCert?: CertFiles): Promise<SpawnedRegistry & { port: number }> {
  const port = await freePort();
  const yaml = [
    'version: 0.1',
    'log:',
    '  level: info',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(work, name, 'storage')}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    ...httpLines.map((line) => `  ${line}`),
    '',
  ].join('\n');
  await mkdir(join(work, name), { recursive: true });
  const tls = httpLines.some((line) => line.startsWith('tls:'));
  const trust = tls ? { ca: ca.certPem, cert: clientCert?.certPem, key: clientCert?.keyPem } : undefined;
  const registry = await spawnRegistry('berth', yaml, join(work, name), port, {}, trust);
  const source = { name: `berth ${name}`, text: () => registry.output() };
  diag.watch(source, t);
  defer(t, () => registry.stop());
  return { ...registry, port };
}

/** skopeo copy of the test image to `dest` and back, checking the manifest digest. */
async function roundTrip(t: TestContext, dest: string, certDirectory: string): Promise<void> {
  const pulled = await mkdtemp(join(work, 'pulled-'));
  defer(t, () => rm(pulled, { recursive: true, force: true }));
  await forgetKnownBlobs();
  await diag.run('skopeo', ['copy', '-q', '--dest-cert-dir', certDirectory, images.single.layout, `docker://${dest}`]);
  await diag.run('skopeo', ['copy', '-q', '--src-cert-dir', certDirectory, `docker://${dest}`, `oci:${pulled}:v1`]);
  const manifest = await readLayoutManifest(pulled, 'v1');
  assert.equal(manifest.digest, images.single.manifest.digest, 'the manifest digest after the round trip');
}

describe('skopeo against Berth serving TLS', () => {
  it(
    'pushes and pulls with the CA in --dest-cert-dir, over HTTP/2',
    { timeout: 120_000 },
    diag.explained(async (t: TestContext) => {
      const berth = await startBerth(t, 'tls', ['tls:', `  certificate: ${serverCert.cert}`, `  key: ${serverCert.key}`]);
      await roundTrip(t, `${berth.hostPort}/tls/skopeo:v1`, certDir);
      assert.match(berth.output(), /"http2":true/, 'HTTP/2 was on');
    }),
  );

  it(
    'with http.tls.clientcas: refused without a client certificate, served with one',
    { timeout: 120_000 },
    diag.explained(async (t: TestContext) => {
      const client = await ca.clientCert('skopeo');
      const berth = await startBerth(
        t,
        'mtls',
        ['tls:', `  certificate: ${serverCert.cert}`, `  key: ${serverCert.key}`, '  clientcas:', `    - ${ca.cert}`],
        client,
      );
      const refused = await diag.run('skopeo', ['inspect', '--cert-dir', certDir, `docker://${berth.hostPort}/mtls/none:v1`], { allowFailure: true });
      assert.notEqual(refused.code, 0, 'skopeo without a client certificate is refused');
      // skopeo takes a client certificate from the cert dir as client.cert + client.key.
      const withClient = await mkdtemp(join(work, 'client-certs-'));
      await copyFile(ca.cert, join(withClient, 'ca.crt'));
      await copyFile(client.cert, join(withClient, 'client.cert'));
      await copyFile(client.key, join(withClient, 'client.key'));
      await roundTrip(t, `${berth.hostPort}/mtls/skopeo:v1`, withClient);
    }),
  );
});

/** The nginx server block of README.md (the one ```nginx fence). */
async function readmeNginxExample(): Promise<string> {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/^```nginx\n([\s\S]*?)^```$/gm)];
  assert.equal(blocks.length, 1, 'README.md has exactly one nginx example');
  return blocks[0]![1]!;
}

function substitute(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `the README nginx example no longer contains ${JSON.stringify(from)}; update this test`);
  return text.replaceAll(from, to);
}

describe('Berth behind nginx (the README example)', () => {
  it(
    'terminates TLS, streams uploads, and Location headers name the proxy',
    { timeout: 120_000 },
    diag.explained(async (t: TestContext) => {
      const berth = await startBerth(t, 'behind-nginx', []);
      const dir = join(work, 'nginx');
      for (const sub of ['logs', 'tmp']) await mkdir(join(dir, sub), { recursive: true });
      const port = await freePort();
      let server = await readmeNginxExample();
      server = substitute(server, 'listen 443 ssl http2;', `listen 127.0.0.1:${port} ssl http2;`);
      server = substitute(server, 'server 127.0.0.1:5000;', `server ${berth.hostPort};`);
      server = substitute(server, '/etc/nginx/certs/registry.crt', serverCert.cert);
      server = substitute(server, '/etc/nginx/certs/registry.key', serverCert.key);
      const conf = join(dir, 'nginx.conf');
      await writeFile(
        conf,
        [
          'daemon off;',
          'master_process off;',
          `pid ${join(dir, 'nginx.pid')};`,
          `error_log ${join(dir, 'logs/error.log')} info;`,
          'events { worker_connections 64; }',
          'http {',
          `  access_log ${join(dir, 'logs/access.log')};`,
          ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(dir, 'tmp', kind)};`),
          server,
          '}',
          '',
        ].join('\n'),
      );
      const nginx = spawn('nginx', ['-p', dir, '-c', conf, '-e', join(dir, 'logs/error.log')], { stdio: ['ignore', 'pipe', 'pipe'] });
      let nginxOutput = '';
      nginx.stdout.on('data', (chunk: Buffer) => (nginxOutput += chunk.toString()));
      nginx.stderr.on('data', (chunk: Buffer) => (nginxOutput += chunk.toString()));
      const nginxLog = () => `${nginxOutput}${tail(String(readFileSyncSafe(join(dir, 'logs/error.log'))))}`;
      diag.watch({ name: 'nginx', text: nginxLog }, t);
      defer(t, async () => {
        if (nginx.exitCode !== null || nginx.signalCode !== null) return;
        nginx.kill('SIGQUIT');
        const timer = setTimeout(() => nginx.kill('SIGKILL'), 5000);
        await once(nginx, 'exit');
        clearTimeout(timer);
      });
      const proxy = `https://127.0.0.1:${port}`;
      const deadline = Date.now() + 15_000;
      for (;;) {
        if (nginx.exitCode !== null) throw new Error(`nginx exited with ${nginx.exitCode}:\n${nginxLog()}`);
        const answer = await httpsFetch(`${proxy}/v2/`, { ca: ca.certPem }).catch(() => undefined);
        if (answer?.status === 200) break;
        if (Date.now() > deadline) throw new Error(`nginx did not answer within 15 s:\n${nginxLog()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }

      const started = await httpsFetch(`${proxy}/v2/behind/proxy/blobs/uploads/`, { method: 'POST', ca: ca.certPem });
      assert.equal(started.status, 202);
      assert.match(String(started.headers.location), new RegExp(`^https://127\\.0\\.0\\.1:${port}/v2/behind/proxy/blobs/uploads/[0-9a-f-]{36}$`));

      await roundTrip(t, `127.0.0.1:${port}/behind/proxy:v1`, certDir);
      // The uploads went through nginx to Berth, not around it.
      const berthLog = berth.output();
      assert.match(berthLog, /"method":"PATCH"|"method":"PUT"/);

      // The web UI and its JSON API come through the same server block.
      const page = await httpsFetch(`${proxy}/ui/`, { ca: ca.certPem });
      assert.equal(page.status, 200);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      const listed = await httpsFetch(`${proxy}/berth/v1/repositories`, { ca: ca.certPem });
      assert.equal(listed.status, 200);
      const names = (JSON.parse(listed.body.toString()) as { repositories: { name: string }[] }).repositories.map((r) => r.name);
      assert.ok(names.includes('behind/proxy'), `listed through nginx: ${names.join(', ')}`);
    }),
  );
});

function readFileSyncSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
