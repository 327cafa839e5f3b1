import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { EventFacts, EventPublisher } from '../../src/events/event.js';
import type { SyncJobConfig } from '../../src/config/sections/sync.js';
import { runSyncJob, type SyncReport } from '../../src/sync/sync-job.js';
import { fallbackTagOf } from '../../src/sync/referrers.js';
import { RegistryClient } from '../../src/client/registry-client.js';
import { startRegistry, type RunningRegistry } from '../e2e/support/registries.js';
import { bufferSource, pushImage as pushClientImage, sha256 } from '../helpers/client-content.js';
import { emptyContent, mediaTypes, pushImage, pushManifest, type Descriptor, type PushedManifest } from '../helpers/push.js';
import { repoRoot, startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

/**
 * `berth sync` between two Berth registries in this process: which repositories and tags it
 * takes, multi-arch indexes and referrers, and that it is incremental (a second run writes
 * nothing to the destination: its push and mount events are counted).
 */

const signatureType = 'application/vnd.example.signature.v1';
const sbomType = 'application/vnd.example.sbom.v1';

/** Records the destination's writes: every manifest or blob stored, mounted or deleted. */
class WriteRecorder implements EventPublisher {
  readonly writes: EventFacts[] = [];

  publish(facts: EventFacts): void {
    if (facts.action !== 'pull') this.writes.push(facts);
  }
}

function descriptorOf(pushed: PushedManifest): Descriptor {
  return { mediaType: pushed.mediaType, digest: pushed.digest, size: pushed.size };
}

/** Pushes an artifact (empty config, one small layer) whose subject is `subject`. */
async function pushReferrer(base: string, repository: string, subject: PushedManifest, artifactType: string): Promise<PushedManifest> {
  return await pushImage(base, repository, undefined, {
    artifactType,
    config: { mediaType: mediaTypes.ociEmpty, content: emptyContent },
    subject: descriptorOf(subject),
  });
}

async function json<T>(url: string): Promise<T> {
  const response = await fetch(url, { headers: { accept: [mediaTypes.ociIndex, mediaTypes.ociManifest].join(', ') } });
  assert.equal(response.status, 200, `${url}: ${await response.clone().text()}`);
  return (await response.json()) as T;
}

async function tagsOf(registry: { url: string }, repository: string): Promise<string[]> {
  return ((await json<{ tags: string[] | null }>(`${registry.url}/v2/${repository}/tags/list`)).tags ?? []).sort();
}

async function digestAt(registry: { url: string }, repository: string, reference: string): Promise<string | undefined> {
  const response = await fetch(`${registry.url}/v2/${repository}/manifests/${reference}`, {
    method: 'HEAD',
    headers: { accept: [mediaTypes.ociIndex, mediaTypes.ociManifest].join(', ') },
  });
  return response.status === 200 ? (response.headers.get('docker-content-digest') ?? undefined) : undefined;
}

async function referrerDigests(registry: TestRegistry, repository: string, subject: string): Promise<string[]> {
  const index = await json<{ manifests: Descriptor[] }>(`${registry.url}/v2/${repository}/referrers/${subject}`);
  return index.manifests.map((entry) => entry.digest).sort();
}

function outcomes(report: SyncReport): string[] {
  return report.tags.map((tag) => `${tag.destinationRepository}:${tag.tag} ${tag.outcome}`).sort();
}

describe('berth sync between two registries', { timeout: 120_000 }, () => {
  let source: TestRegistry;
  let destination: TestRegistry;
  const recorder = new WriteRecorder();
  let cacheHome: string;
  const savedCacheHome = process.env.XDG_CACHE_HOME;
  let job: SyncJobConfig;

  const content: Record<string, PushedManifest> = {};

  before(async () => {
    // The blob-location hints a sync keeps go to a directory of this test, not the user's cache.
    cacheHome = await mkdtemp(join(tmpdir(), 'berth-sync-cache-'));
    process.env.XDG_CACHE_HOME = cacheHome;
    source = await startTestRegistry();
    destination = await startTestRegistry({ events: recorder });
    const base = source.url;

    // team/app: v1 (signed), v2, and tags the regex leaves out.
    content.appV1 = await pushImage(base, 'team/app', 'v1');
    content.appV2 = await pushImage(base, 'team/app', 'v2');
    await pushImage(base, 'team/app', 'latest');
    await pushImage(base, 'team/app', 'dev-7');
    content.appV1Signature = await pushReferrer(base, 'team/app', content.appV1, signatureType);

    // team/multi: a two-platform index, with an SBOM on one platform's image.
    const amd64 = await pushImage(base, 'team/multi');
    const arm64 = await pushImage(base, 'team/multi');
    content.amd64 = amd64;
    content.arm64 = arm64;
    content.multi = await pushManifest(base, 'team/multi', 'v1.0', {
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      manifests: [
        { ...descriptorOf(amd64), platform: { os: 'linux', architecture: 'amd64' } },
        { ...descriptorOf(arm64), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    });
    content.arm64Sbom = await pushReferrer(base, 'team/multi', arm64, sbomType);

    // lib/tool: semantic versions, some inside the range.
    for (const tag of ['1.1.0', '1.2.0', 'v1.5.3', '2.0.0', '1.9', 'latest']) content[`tool-${tag}`] = await pushImage(base, 'lib/tool', tag);

    // Repositories no rule takes.
    await pushImage(base, 'other/app', 'v1');
    await pushImage(base, 'team/app/nested', 'v1');

    job = {
      name: 'mirror-test',
      source: { url: source.url, insecure: false },
      destination: { url: destination.url, insecure: false },
      repositories: [
        { name: 'team/*', destination: 'mirror/team/*', tags: { regex: '^v[0-9]' } },
        { name: 'lib/tool', tags: { semver: '>=1.2 <2' } },
      ],
      referrers: true,
    };
  });

  after(async () => {
    await source?.close();
    await destination?.close();
    if (savedCacheHome === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = savedCacheHome;
    await rm(cacheHome, { recursive: true, force: true });
  });

  test('the first run copies the matching repositories and tags only, renamed, with indexes and referrers', async () => {
    const report = await runSyncJob(job);
    assert.deepEqual(report.errors, []);
    assert.deepEqual(outcomes(report), [
      'lib/tool:1.2.0 copied',
      'lib/tool:v1.5.3 copied',
      'mirror/team/app:v1 copied',
      'mirror/team/app:v2 copied',
      'mirror/team/multi:v1.0 copied',
    ]);
    assert.equal(report.ok, true);
    assert.equal(report.copied, 5);
    assert.equal(report.referrersCopied, 2);
    assert.ok(recorder.writes.some((write) => write.action === 'push'), 'the destination reports its writes (else the next test would prove nothing)');

    const catalog = (await json<{ repositories: string[] }>(`${destination.url}/v2/_catalog`)).repositories.sort();
    assert.deepEqual(catalog, ['lib/tool', 'mirror/team/app', 'mirror/team/multi']);
    assert.deepEqual(await tagsOf(destination, 'mirror/team/app'), ['v1', 'v2']);
    assert.deepEqual(await tagsOf(destination, 'lib/tool'), ['1.2.0', 'v1.5.3']);
    assert.equal(await digestAt(destination, 'mirror/team/app', 'v1'), content.appV1!.digest);
    assert.equal(await digestAt(destination, 'lib/tool', 'v1.5.3'), content['tool-v1.5.3']!.digest);

    // The index, byte for byte (same digest), and each platform's image with its blobs.
    assert.equal(await digestAt(destination, 'mirror/team/multi', 'v1.0'), content.multi!.digest);
    for (const child of [content.amd64!, content.arm64!]) {
      const image = await json<{ config: Descriptor; layers: Descriptor[] }>(`${destination.url}/v2/mirror/team/multi/manifests/${child.digest}`);
      for (const blob of [image.config, ...image.layers]) {
        const response = await fetch(`${destination.url}/v2/mirror/team/multi/blobs/${blob.digest}`, { method: 'HEAD' });
        assert.equal(response.status, 200, `blob ${blob.digest} of ${child.digest}`);
      }
    }

    // Referrers are found where clients look for them: the referrers API of the destination.
    assert.deepEqual(await referrerDigests(destination, 'mirror/team/app', content.appV1!.digest), [content.appV1Signature!.digest]);
    assert.deepEqual(await referrerDigests(destination, 'mirror/team/multi', content.arm64!.digest), [content.arm64Sbom!.digest]);
    assert.deepEqual(await referrerDigests(destination, 'mirror/team/app', content.appV2!.digest), []);
  });

  test('a second run copies nothing and writes nothing to the destination', async () => {
    const writesBefore = recorder.writes.length;
    const report = await runSyncJob(job);
    assert.equal(report.ok, true);
    assert.equal(report.copied, 0);
    assert.equal(report.unchanged, 5);
    assert.equal(report.referrersCopied, 0);
    assert.deepEqual(
      recorder.writes.slice(writesBefore).map((w) => `${w.action} ${w.target.repository} ${w.target.digest}`),
      [],
      'no manifest or blob was written, mounted or deleted',
    );
  });

  test('a new tag is copied with its referrers on the next run, and a moved tag is updated', async () => {
    const v3 = await pushImage(source.url, 'team/app', 'v3');
    const v3Signature = await pushReferrer(source.url, 'team/app', v3, signatureType);
    const movedV2 = await pushImage(source.url, 'team/app', 'v2');
    // A new referrer of an image the destination already has.
    const appV1Sbom = await pushReferrer(source.url, 'team/app', content.appV1!, sbomType);

    const report = await runSyncJob(job);
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.tags.filter((tag) => tag.outcome !== 'unchanged').map((tag) => `${tag.destinationRepository}:${tag.tag} ${tag.outcome} ${tag.digest}`).sort(),
      [`mirror/team/app:v2 copied ${movedV2.digest}`, `mirror/team/app:v3 copied ${v3.digest}`],
    );
    assert.equal(report.unchanged, 4);
    assert.equal(report.tags.find((tag) => tag.tag === 'v1')?.referrersCopied, 1, 'the new SBOM of the unchanged v1');
    assert.equal(report.tags.find((tag) => tag.tag === 'v3')?.referrersCopied, 1);

    assert.equal(await digestAt(destination, 'mirror/team/app', 'v2'), movedV2.digest);
    assert.equal(await digestAt(destination, 'mirror/team/app', 'v3'), v3.digest);
    assert.deepEqual(await referrerDigests(destination, 'mirror/team/app', v3.digest), [v3Signature.digest]);
    assert.deepEqual(await referrerDigests(destination, 'mirror/team/app', content.appV1!.digest), [appV1Sbom.digest, content.appV1Signature!.digest].sort());
  });

  test('a tag that fails is reported, the others are copied, and `berth sync` exits with status 1', async () => {
    await pushImage(source.url, 'broken/app', 'v1');
    const broken = await pushImage(source.url, 'broken/app', 'v0');
    await pushImage(source.url, 'broken/app', 'v2');
    // The source lost v0's layer: its manifest is there, its content cannot be read.
    const image = await json<{ layers: Descriptor[] }>(`${source.url}/v2/broken/app/manifests/${broken.digest}`);
    const [algorithm, hex] = image.layers[0]!.digest.split(':');
    await rm(join(source.root, 'docker/registry/v2/blobs', algorithm!, hex!.slice(0, 2), hex!), { recursive: true, force: true });

    const { code, stdout, stderr } = await berthSync(['--from', `${source.url}/broken/app`, '--to', `${destination.url}/copy/broken`, '--json']);
    assert.equal(code, 1, `exit status (stderr: ${stderr})`);
    const output = JSON.parse(stdout) as { ok: boolean; jobs: SyncReport[] };
    assert.equal(output.ok, false);
    const [report] = output.jobs;
    assert.deepEqual(outcomes(report!), ['copy/broken:v0 failed', 'copy/broken:v1 copied', 'copy/broken:v2 copied']);
    assert.match(report!.tags.find((tag) => tag.tag === 'v0')!.error!, /.+/);
    assert.deepEqual(await tagsOf(destination, 'copy/broken'), ['v1', 'v2']);

    // Run again from the command line: the copied tags are unchanged, the broken one still fails.
    const again = await berthSync(['--from', `${source.url}/broken/app`, '--to', `${destination.url}/copy/broken`]);
    assert.equal(again.code, 1);
    assert.match(again.stdout, /FAILED +broken\/app:v0 -> copy\/broken:v0/);
    assert.match(again.stdout, /0 copied, 2 unchanged, 1 failed/);
  });

  test('`berth sync CONFIG --job NAME` runs only the jobs named, from the config file', async () => {
    const file = join(cacheHome, 'sync.yml');
    const jobYaml = (name: string, to: string) =>
      [`  - name: ${name}`, `    source: {url: "${source.url}"}`, `    destination: {url: "${destination.url}"}`, '    repositories:', `      - {name: lib/tool, destination: ${to}, tags: {regex: '^1\\.2\\.'}}`].join('\n');
    await writeFile(file, ['version: 0.1', 'storage:', '  inmemory:', 'sync:', jobYaml('first', 'by-job/first'), jobYaml('second', 'by-job/second'), ''].join('\n'));
    const { code, stdout, stderr } = await berthSync([file, '--job', 'second', '--json']);
    assert.equal(code, 0, stderr);
    const output = JSON.parse(stdout) as { ok: boolean; jobs: SyncReport[] };
    assert.deepEqual(
      output.jobs.map((report) => `${report.job}: ${outcomes(report).join(', ')}`),
      ['second: by-job/second:1.2.0 copied'],
    );
    assert.deepEqual(await tagsOf(destination, 'by-job/second'), ['1.2.0']);
    assert.equal(await digestAt(destination, 'by-job/first', '1.2.0'), undefined);

    const unknown = await berthSync([file, '--job', 'third']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no job named third .*it has: first, second/);
  });

  test('a run whose signal has fired stops before copying anything and says so', async () => {
    const writesBefore = recorder.writes.length;
    const report = await runSyncJob({ ...job, repositories: [{ name: 'lib/tool', destination: 'stopped/tool' }] }, { signal: AbortSignal.abort() });
    assert.equal(report.aborted, true);
    assert.equal(report.ok, false);
    assert.deepEqual(report.tags, []);
    assert.equal(recorder.writes.length, writesBefore);
  });
});

describe('berth sync to a registry without the referrers API (docker-registry 2.8)', { timeout: 120_000 }, () => {
  let source: TestRegistry;
  let destination: RunningRegistry;
  let workDir: string;
  const savedCacheHome = process.env.XDG_CACHE_HOME;

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'berth-sync-reference-'));
    process.env.XDG_CACHE_HOME = join(workDir, 'cache');
    source = await startTestRegistry();
    destination = await startRegistry('docker-registry', join(workDir, 'data'), workDir);
  });

  after(async () => {
    await source?.close();
    await destination?.stop();
    if (savedCacheHome === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = savedCacheHome;
    await rm(workDir, { recursive: true, force: true });
  });

  /** Requests that change something, from the reference registry's access log. */
  function writeRequests(): string[] {
    return destination
      .text()
      .split('\n')
      .filter((line) => /"(PUT|POST|PATCH|DELETE) \/v2\//.test(line));
  }

  test('referrers are listed under the referrers tag schema there, and a second run writes nothing', async () => {
    const image = await pushImage(source.url, 'team/app', 'v1');
    const signature = await pushReferrer(source.url, 'team/app', image, signatureType);
    const job: SyncJobConfig = {
      name: 'to-reference',
      source: { url: source.url, insecure: false },
      destination: { url: destination.url, insecure: false },
      repositories: [{ name: 'team/app' }],
      referrers: true,
    };

    const first = await runSyncJob(job);
    assert.deepEqual(first.errors, []);
    assert.deepEqual(outcomes(first), ['team/app:v1 copied']);
    assert.equal(first.referrersCopied, 1);
    assert.equal(await digestAt(destination, 'team/app', 'v1'), image.digest);
    assert.equal(await digestAt(destination, 'team/app', signature.digest), signature.digest);
    // The index a client reads on a registry without the API: the subject's referrers tag.
    const index = await json<{ manifests: Descriptor[] }>(`${destination.url}/v2/team/app/manifests/${fallbackTagOf(image.digest)}`);
    assert.deepEqual(
      index.manifests.map((entry) => entry.digest),
      [signature.digest],
    );

    const writesBefore = writeRequests().length;
    assert.ok(writesBefore > 0, 'the access log shows the first run\'s writes');
    const second = await runSyncJob(job);
    assert.equal(second.ok, true);
    assert.deepEqual(outcomes(second), ['team/app:v1 unchanged'], 'the referrers tag at the destination is not taken for an image tag');
    assert.equal(second.referrersCopied, 0);
    assert.deepEqual(writeRequests().slice(writesBefore), []);
  });

  test('from docker-registry: a repository the catalog lists before its first manifest has no tags yet, not a failure', async () => {
    // registry:2 lists a repository once a blob is in, and answers 404 to its tag list until a manifest is.
    const reference = new RegistryClient(new URL(destination.url).host, { insecure: true });
    const layer = Buffer.from('a layer whose manifest is still to come');
    await reference.uploadBlob('half/pushed', { digest: sha256(layer), size: layer.length }, bufferSource(layer));
    await pushClientImage(reference, 'half/done', 'v1');
    await reference.close();
    const fromReference = (name: string): SyncJobConfig => ({
      name: 'from-reference',
      source: { url: destination.url, insecure: false },
      destination: { url: source.url, insecure: false },
      repositories: [{ name }],
      referrers: false,
    });
    const listed = await runSyncJob(fromReference('half/*'));
    assert.deepEqual(listed.errors, []);
    assert.equal(listed.ok, true);
    assert.deepEqual(outcomes(listed), ['half/done:v1 copied']);
    // Named by the job itself, a repository without tags is still reported: a typo must not pass quietly.
    const named = await runSyncJob(fromReference('half/pushed'));
    assert.equal(named.ok, false);
    assert.equal(named.errors.length, 1);
  });
});

/** `berth sync ARGS` from the TypeScript sources (no build needed), as a separate process. */
async function berthSync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return await new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'sync', ...args],
      { cwd: repoRoot, timeout: 60_000, env: { ...process.env } },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}
