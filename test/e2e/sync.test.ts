// End to end for `berth sync` (issue #10, mirroring), run as users run it (the compiled
// bin/berth.js): the source is the reference `docker-registry` (no auth), filled by skopeo with a
// single image, a multi-arch index and artifacts that refer to images (`subject`). Distribution
// 2.8 has no referrers API, so the artifacts are also listed under the OCI 1.1 referrers tag
// schema (`sha256-<hex>` index), as clients push them to such a registry. The destination is
// Berth with htpasswd Basic auth. skopeo is the judge of what the destination holds; the
// referrers API of Berth lists what was copied.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { SyncReport } from '../../src/sync/sync-report.js';
import { berthBin, ensureBuilt } from '../helpers/compiled-cli.js';
import { parsePrometheusText } from '../helpers/prometheus-text.js';
import { freePort, spawnRegistry, type SpawnedRegistry } from '../helpers/registry-server.js';
import { buildTestImages, type TestImages } from './support/images.js';
import { getJson, ociIndexType, ociManifestType, sha256, writeArtifactLayout, type Descriptor, type Manifest } from './support/oci.js';
import { startRegistry, type RunningRegistry } from './support/registries.js';
import { defer, Diagnostics, type RunResult } from './support/run.js';
import { waitFor } from '../helpers/wait.js';

const diag = new Diagnostics();
const testTimeout = { timeout: 240_000 };
const user = { name: 'mirror', password: 'mirror-e2e-pw' };
const basicAuth = { Authorization: `Basic ${Buffer.from(`${user.name}:${user.password}`).toString('base64')}` };
const artifactType = 'application/vnd.berth.e2e.signature';
let work: string;
let images: TestImages;

before(
  async () => {
    await ensureBuilt();
    work = await mkdtemp(join(tmpdir(), 'berth-e2e-sync-'));
    images = await buildTestImages(join(work, 'images'));
  },
  { timeout: 180_000 },
);

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function scratch(t: TestContext, label: string): Promise<string> {
  const dir = await mkdtemp(join(work, `${label}-`));
  defer(t, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The reference registry as the source, without auth. */
async function startSource(t: TestContext, dir: string): Promise<RunningRegistry> {
  const source = await startRegistry('docker-registry', join(dir, 'source-data'), dir);
  defer(t, () => source.stop());
  diag.watch(source, t);
  return source;
}

interface Mirror {
  readonly url: string;
  readonly hostPort: string;
  readonly registry: SpawnedRegistry;
}

interface MirrorOptions {
  /** Lines under `http:` (indented). */
  http?: string[];
  /** Top-level config lines (a `sync` section). */
  extra?: string[];
  env?: NodeJS.ProcessEnv;
}

/** Berth with htpasswd Basic auth, on `port` (a job may name it as its destination). */
async function startMirror(t: TestContext, dir: string, port: number, options: MirrorOptions = {}): Promise<Mirror> {
  const htpasswd = join(dir, 'htpasswd');
  await diag.run('htpasswd', ['-Bbc', htpasswd, user.name, user.password]);
  const config = [
    'version: 0.1',
    'log:',
    '  level: info',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'mirror-data')}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    ...(options.http ?? []),
    'auth:',
    '  htpasswd:',
    '    realm: berth-e2e-sync',
    `    path: ${htpasswd}`,
    ...(options.extra ?? []),
    '',
  ].join('\n');
  const registry = await spawnRegistry('berth', config, dir, port, options.env);
  defer(t, () => registry.stop());
  diag.watch({ name: `berth mirror ${registry.hostPort}`, text: registry.output }, t);
  return { url: registry.url, hostPort: registry.hostPort, registry };
}

/** A `sync` job from the source's `e2e/*` to the mirror's `<prefix>/*`, images tagged v<N> or `list` only. */
function syncJob(name: string, source: RunningRegistry, mirrorUrl: string, prefix: string, schedule?: string): string[] {
  return [
    'sync:',
    `  - name: ${name}`,
    '    source:',
    `      url: ${source.url}`,
    '    destination:',
    `      url: ${mirrorUrl}`,
    `      username: ${user.name}`,
    `      password: ${user.password}`,
    '    repositories:',
    '      - name: "e2e/*"',
    `        destination: "${prefix}/*"`,
    '        tags:',
    '          regex: "^(v[0-9]+|list)$"',
    '    referrers: true',
    ...(schedule === undefined ? [] : [`    schedule: ${schedule}`]),
  ];
}

const skopeo = (args: string[]) => diag.run('skopeo', args, { timeoutMs: 90_000 });

/** skopeo pushes (or copies) to the source registry, keeping digests. */
async function toSource(source: RunningRegistry, from: string, ref: string, all = false): Promise<void> {
  const tls = from.startsWith('docker://') ? ['--src-tls-verify=false'] : [];
  await skopeo(['copy', '-q', '--preserve-digests', ...tls, '--dest-tls-verify=false', ...(all ? ['--all'] : []), from, `docker://${source.hostPort}/${ref}`]);
}

/**
 * An artifact that refers to `subject`, pushed by digest with skopeo (as `oras attach` pushes
 * it), then listed under the referrers tag schema: the `sha256-<hex>` tag names an index of the
 * subject's referrers, which is how a client finds them on a registry without the referrers API.
 */
async function attachToSource(source: RunningRegistry, dir: string, repository: string, subject: Descriptor, note: string): Promise<Manifest> {
  const layout = join(dir, `artifact-${subject.digest.slice(7, 19)}`);
  const artifact = await writeArtifactLayout(layout, { refName: 'note', artifactType, subject, content: note });
  await toSource(source, `oci:${layout}:note`, `${repository}@${artifact.digest}`);
  const index = {
    schemaVersion: 2,
    mediaType: ociIndexType,
    manifests: [{ mediaType: ociManifestType, digest: artifact.digest, size: artifact.bytes.length, artifactType }],
  };
  const tag = subject.digest.replace(':', '-');
  const put = await fetch(`${source.url}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'Content-Type': ociIndexType },
    body: JSON.stringify(index),
    signal: AbortSignal.timeout(15_000),
  });
  assert.equal(put.status, 201, `PUT of the referrers tag index: ${await put.text()}`);
  return artifact;
}

/** The digest of what the mirror serves for `ref`, as skopeo (with the mirror's credentials) reads it. */
async function mirrorDigest(mirror: Mirror, ref: string): Promise<string> {
  const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', `${user.name}:${user.password}`, `docker://${mirror.hostPort}/${ref}`]);
  return sha256(raw.stdout);
}

/** The digests the mirror's referrers API lists for `subject`. */
async function mirrorReferrers(mirror: Mirror, repository: string, subject: string): Promise<string[]> {
  const listed = await getJson<{ manifests: Descriptor[] }>(`${mirror.url}/v2/${repository}/referrers/${subject}`, basicAuth);
  assert.equal(listed.status, 200, listed.text);
  return (listed.body?.manifests ?? []).map((d) => d.digest).sort();
}

/** Keeps berth's saved credentials and blob-location hints inside the test's directory. */
const clientEnv = (dir: string): NodeJS.ProcessEnv => ({ DOCKER_CONFIG: join(dir, 'docker-config'), XDG_CACHE_HOME: join(dir, 'cache') });

/** `berth sync CONFIG --json`: the exit status and the report of each job. */
async function berthSync(dir: string, configFile: string): Promise<{ result: RunResult; ok: boolean; reports: SyncReport[] }> {
  const result = await diag.run(process.execPath, [berthBin, 'sync', configFile, '--json'], { timeoutMs: 180_000, allowFailure: true, env: clientEnv(dir) });
  let parsed: { ok: boolean; jobs: SyncReport[] };
  try {
    parsed = JSON.parse(result.stdout) as typeof parsed;
  } catch {
    throw new Error(`berth sync --json printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
  return { result, ok: parsed.ok, reports: parsed.jobs };
}

/** `repository:tag -> outcome` for every tag of a report, sorted. */
function outcomes(report: SyncReport): string[] {
  return report.tags.map((tag) => `${tag.destinationRepository}:${tag.tag} ${tag.outcome}`).sort();
}

describe('berth sync from docker-registry to Berth with Basic auth', () => {
  it(
    'copies images, an index and referrers with identical digests; a second run copies nothing; a new tag and its referrer come with the next run',
    testTimeout,
    diag.explained(async (t) => {
      const dir = await scratch(t, 'cli');
      const source = await startSource(t, dir);
      const mirror = await startMirror(t, dir, await freePort());
      const single = images.single.manifest;
      const amd64 = images.multi.children.amd64;
      await toSource(source, images.single.layout, 'e2e/app:v1');
      // Not copied: the job copies tags v<N> and `list` only.
      await toSource(source, images.single.layout, 'e2e/app:dev');
      await toSource(source, images.multi.layout, 'e2e/multi:list', true);
      const signature = await attachToSource(source, dir, 'e2e/app', { mediaType: single.mediaType, digest: single.digest, size: single.bytes.length }, 'signed v1');

      const configFile = join(dir, 'sync.yml');
      // The same file format as `berth serve` reads; `berth sync` needs no storage section.
      await writeFile(configFile, ['version: 0.1', ...syncJob('mirror-e2e', source, mirror.url, 'mirror')].join('\n') + '\n');
      const first = await berthSync(dir, configFile);
      assert.equal(first.result.code, 0, first.result.stderr);
      assert.equal(first.ok, true);
      assert.equal(first.reports.length, 1);
      assert.deepEqual(outcomes(first.reports[0]!), ['mirror/app:v1 copied', 'mirror/multi:list copied']);
      assert.equal(first.reports[0]!.referrersCopied, 1);

      // skopeo sees the same manifests at the mirror, byte for byte: the image, the index and each of its children.
      assert.equal(await mirrorDigest(mirror, 'mirror/app:v1'), single.digest);
      assert.equal(await mirrorDigest(mirror, 'mirror/multi:list'), images.multi.index.digest);
      for (const child of Object.values(images.multi.children)) {
        assert.equal(await mirrorDigest(mirror, `mirror/multi@${child.digest}`), child.digest);
      }
      // A whole pull of the mirrored index works (every blob of every platform is there).
      await skopeo(['copy', '-q', '--all', '--src-tls-verify=false', '--src-creds', `${user.name}:${user.password}`, `docker://${mirror.hostPort}/mirror/multi:list`, `oci:${join(dir, 'pulled')}:list`]);
      assert.deepEqual(await mirrorReferrers(mirror, 'mirror/app', single.digest), [signature.digest]);
      const tags = await getJson<{ tags: string[] }>(`${mirror.url}/v2/mirror/app/tags/list`, basicAuth);
      assert.ok(!tags.body?.tags.includes('dev'), `the filtered-out tag stayed behind: ${tags.text}`);

      const writesBefore = mirrorWrites(mirror);
      const second = await berthSync(dir, configFile);
      assert.equal(second.result.code, 0, second.result.stderr);
      assert.deepEqual(outcomes(second.reports[0]!), ['mirror/app:v1 unchanged', 'mirror/multi:list unchanged']);
      assert.equal(second.reports[0]!.copied, 0);
      assert.equal(second.reports[0]!.referrersCopied, 0);
      assert.deepEqual(mirrorWrites(mirror).slice(writesBefore.length), [], 'the second run wrote nothing to the mirror');

      // A new tag at the source (the amd64 image of the index) with a signature of its own.
      await toSource(source, `docker://${source.hostPort}/e2e/multi@${amd64.digest}`, 'e2e/app:v2');
      const signature2 = await attachToSource(source, dir, 'e2e/app', { mediaType: amd64.mediaType, digest: amd64.digest, size: amd64.size }, 'signed v2');
      const third = await berthSync(dir, configFile);
      assert.equal(third.result.code, 0, third.result.stderr);
      assert.deepEqual(outcomes(third.reports[0]!), ['mirror/app:v1 unchanged', 'mirror/app:v2 copied', 'mirror/multi:list unchanged']);
      assert.equal(third.reports[0]!.referrersCopied, 1);
      assert.equal(await mirrorDigest(mirror, 'mirror/app:v2'), amd64.digest);
      assert.deepEqual(await mirrorReferrers(mirror, 'mirror/app', amd64.digest), [signature2.digest]);
      assert.deepEqual(await mirrorReferrers(mirror, 'mirror/app', single.digest), [signature.digest]);
    }),
  );

  it(
    'berth serve runs a job with a schedule by itself, in one process of a cluster, and counts its runs in /metrics',
    testTimeout,
    diag.explained(async (t) => {
      const dir = await scratch(t, 'scheduled');
      const source = await startSource(t, dir);
      // Both repositories exist before the mirror starts: a run that lists the catalog while a
      // repository's first push is under way would find it without tags yet.
      await toSource(source, images.single.layout, 'e2e/app:v1');
      await toSource(source, images.multi.layout, 'e2e/multi:list', true);
      const [port, debugPort] = [await freePort(), await freePort()];
      // The mirror syncs into itself, through its own API and auth, every 2 s; two workers.
      const debug = ['  debug:', `    addr: 127.0.0.1:${debugPort}`, '    prometheus:', '      enabled: true'];
      const job = syncJob('mirror-scheduled', source, `http://127.0.0.1:${port}`, 'scheduled', '2s');
      const mirror = await startMirror(t, dir, port, { http: debug, extra: job, env: { ...clientEnv(dir), REGISTRY_HTTP_WORKERS: '2' } });
      const runs = () => logEntries(mirror).filter((entry) => entry.msg === 'sync run finished');
      const copiedSoFar = () => runs().reduce((sum, entry) => sum + Number(entry.copied), 0);
      await waitFor('the first scheduled run', () => runs().length >= 1, { timeoutMs: 30_000, intervalMs: 200 });
      assert.equal(await mirrorDigest(mirror, 'scheduled/app:v1'), images.single.manifest.digest);

      // A new tag at the source is mirrored without anyone running `berth sync`.
      const amd64 = images.multi.children.amd64;
      await toSource(source, `docker://${source.hostPort}/e2e/multi@${amd64.digest}`, 'e2e/app:v2');
      await waitFor('runs that copied app:v1, app:v2 and multi:list', () => copiedSoFar() >= 3, { timeoutMs: 30_000, intervalMs: 200 });
      assert.equal(await headStatus(mirror, 'scheduled/app', 'v2'), 200);
      assert.equal(await mirrorDigest(mirror, 'scheduled/app:v2'), amd64.digest);
      assert.equal(await mirrorDigest(mirror, 'scheduled/multi:list'), images.multi.index.digest);

      const scheduled = logEntries(mirror).filter((entry) => entry.msg === 'sync job scheduled');
      assert.equal(scheduled.length, 1, 'one process of the cluster schedules the job');
      const failures = logEntries(mirror).filter((entry) => entry.msg === 'sync run finished with failures' || entry.msg === 'sync run failed');
      assert.deepEqual(failures, [], 'every run went through');
      const families = parsePrometheusText(await (await fetch(`http://127.0.0.1:${debugPort}/metrics`, { signal: AbortSignal.timeout(15_000) })).text());
      const ok = families.get('berth_sync_runs_total')?.samples.find((s) => s.labels.job === 'mirror-scheduled' && s.labels.result === 'ok');
      assert.ok(ok && ok.value >= 2, `berth_sync_runs_total{result="ok"}: ${JSON.stringify(ok)}`);
      const copied = families.get('berth_sync_copied_tags_total')?.samples.find((s) => s.labels.job === 'mirror-scheduled');
      assert.ok(copied && copied.value >= 3, `berth_sync_copied_tags_total: ${JSON.stringify(copied)}`);
    }),
  );
});

/** The mirror's log lines so far (pino JSON; a line still being written is left out). */
function logEntries(mirror: Mirror): Record<string, unknown>[] {
  const entries: Record<string, unknown>[] = [];
  for (const line of mirror.registry.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      entries.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // the last line, not complete yet
    }
  }
  return entries;
}

/** The write requests (POST, PUT, PATCH, DELETE) in the mirror's access log so far. */
function mirrorWrites(mirror: Mirror): string[] {
  return logEntries(mirror)
    .filter((entry) => entry.msg === 'request' && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(String(entry.method)))
    .map((entry) => `${String(entry.method)} ${String(entry.path)}`);
}

async function headStatus(mirror: Mirror, repository: string, reference: string): Promise<number> {
  const response = await fetch(`${mirror.url}/v2/${repository}/manifests/${reference}`, {
    method: 'HEAD',
    headers: { ...basicAuth, Accept: [ociManifestType, ociIndexType].join(', ') },
    signal: AbortSignal.timeout(15_000),
  });
  return response.status;
}

