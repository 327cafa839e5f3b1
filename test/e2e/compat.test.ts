// Storage compatibility with the reference registry (Debian `docker-registry`, CNCF Distribution
// 2.8.2): what one registry writes to a filesystem storage directory, the other serves, with the
// same manifest digests. Both run as separate processes on the same directory, one at a time.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { forgetKnownBlobs, podmanRunFlags, podmanStore } from './support/clients.js';
import { buildTestImages, helloText, type TestImages } from './support/images.js';
import {
  dirHasBlob,
  getJson,
  headManifest,
  listTags,
  ociManifestType,
  readDirManifest,
  writeArtifactLayout,
  type Descriptor,
} from './support/oci.js';
import { berthRequests, startRegistry, type RegistryKind, type RunningRegistry } from './support/registries.js';
import { defer, Diagnostics } from './support/run.js';

const diag = new Diagnostics();
const testTimeout = { timeout: 120_000 };
let work: string;
let images: TestImages;

before(
  async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-e2e-compat-'));
    images = await buildTestImages(join(work, 'images'));
  },
  { timeout: 120_000 },
);

after(
  async () => {
    if (work) await rm(work, { recursive: true, force: true });
  },
  { timeout: 60_000 },
);

async function scratch(t: TestContext, label: string): Promise<string> {
  const dir = await mkdtemp(join(work, `${label}-`));
  defer(t, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts a registry on the directory for the rest of the test; its log goes into failure messages. */
async function serve(t: TestContext, kind: RegistryKind, storageDir: string, workDir: string): Promise<RunningRegistry> {
  const registry = await startRegistry(kind, storageDir, workDir);
  diag.watch(registry, t);
  defer(t, () => registry.stop());
  return registry;
}

/** One image moved between the registries: where it comes from and where it goes. */
interface Case {
  readonly label: string;
  readonly repo: string;
  readonly tag: string;
  readonly source: string;
  readonly all: boolean;
  /**
   * Pushed last, with skopeo's blob cache left as the earlier pushes made it, so skopeo mounts
   * the blobs from compat/single (`POST ?mount=&from=`) instead of uploading them.
   */
  readonly mount?: boolean;
}

const cases = (): Case[] => [
  { label: 'single', repo: 'compat/single', tag: 'v1', source: images.single.layout, all: false },
  { label: 'index', repo: 'compat/multi', tag: 'list', source: images.multi.layout, all: true },
  { label: 'archive', repo: 'compat/archive', tag: 'v1', source: `docker-archive:${images.single.archive}`, all: false },
  { label: 'mounted', repo: 'compat/mounted', tag: 'v1', source: images.single.layout, all: false, mount: true },
];
const repositories = ['compat/archive', 'compat/mounted', 'compat/multi', 'compat/single'];

/** Pushes every case with skopeo (really uploading) and returns the digest skopeo wrote for each. */
async function pushAll(registry: RunningRegistry, dir: string): Promise<Map<string, string>> {
  const pushed = new Map<string, string>();
  for (const c of cases()) {
    if (!c.mount) await forgetKnownBlobs();
    const digestFile = join(dir, `${c.label}.pushed`);
    await diag.run('skopeo', [
      'copy',
      '-q',
      ...(c.all ? ['--all'] : []),
      '--digestfile',
      digestFile,
      '--dest-tls-verify=false',
      c.source,
      `docker://${registry.hostPort}/${c.repo}:${c.tag}`,
    ]);
    pushed.set(c.label, (await readFile(digestFile, 'utf8')).trim());
  }
  assert.equal(pushed.get('single'), images.single.manifest.digest);
  assert.equal(pushed.get('index'), images.multi.index.digest);
  assert.equal(pushed.get('mounted'), images.single.manifest.digest);
  return pushed;
}

/**
 * Pulls every case back with skopeo into `dir:` copies (which keep the manifests as served and
 * verify every blob's digest on the way) and checks digests, tags and, for the index, both
 * platforms' manifests and blobs.
 */
async function pullAllAndCompare(registry: RunningRegistry, dir: string, pushed: Map<string, string>): Promise<void> {
  for (const c of cases()) {
    const expected = pushed.get(c.label)!;
    const head = await headManifest(registry.url, c.repo, c.tag);
    assert.equal(head.status, 200, `${registry.kind}: HEAD ${c.repo}:${c.tag}`);
    assert.equal(head.digest, expected, `${registry.kind}: Docker-Content-Digest of ${c.repo}:${c.tag}`);
    assert.deepEqual(await listTags(registry.url, c.repo), { status: 200, tags: [c.tag] }, `${registry.kind}: tags of ${c.repo}`);

    const target = join(dir, `${registry.kind}-${c.label}`);
    await diag.run('skopeo', [
      'copy',
      '-q',
      ...(c.all ? ['--all'] : []),
      '--src-tls-verify=false',
      `docker://${registry.hostPort}/${c.repo}:${c.tag}`,
      `dir:${target}`,
    ]);
    const manifest = await readDirManifest(target);
    assert.equal(manifest.digest, expected, `${registry.kind}: manifest digest of ${c.repo}:${c.tag} as pulled`);
    const instances = c.all ? manifest.json.manifests! : [];
    if (c.all) {
      assert.deepEqual(
        instances.map((d) => d.digest).sort(),
        Object.values(images.multi.children).map((d) => d.digest).sort(),
        `${registry.kind}: platforms of ${c.repo}:${c.tag}`,
      );
    }
    for (const instance of instances) {
      const child = await readDirManifest(target, instance.digest);
      assert.equal(child.digest, instance.digest, `${registry.kind}: ${instance.platform?.architecture} manifest as pulled`);
      for (const blob of [child.json.config!, ...child.json.layers!]) {
        assert.ok(dirHasBlob(target, blob.digest), `${registry.kind}: ${instance.platform?.architecture} blob ${blob.digest} pulled`);
      }
    }
  }
}

async function catalog(registry: RunningRegistry): Promise<string[]> {
  const answer = await getJson<{ repositories: string[] }>(`${registry.url}/v2/_catalog`);
  assert.equal(answer.status, 200, answer.text);
  return answer.body!.repositories;
}

describe('storage shared with docker-registry (Distribution 2.8.2)', () => {
  it(
    'docker-registry serves what Berth stored',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const dir = await scratch(t, 'berth-to-reference');
      const storage = join(dir, 'storage');
      const berth = await serve(t, 'berth', storage, dir);
      const pushed = await pushAll(berth, dir);
      const mounts = berthRequests(berth).filter(
        (r) => r.method === 'POST' && r.path.startsWith('/v2/compat/mounted/blobs/uploads/?') && r.path.includes('mount='),
      );
      assert.ok(mounts.length >= 1 && mounts.every((r) => r.status === 201), 'skopeo mounted the layer of compat/mounted from elsewhere');
      await berth.stop();

      const reference = await serve(t, 'docker-registry', storage, dir);
      await pullAllAndCompare(reference, dir, pushed);
      assert.deepEqual(await catalog(reference), repositories);
    }),
  );

  it(
    'Berth serves what docker-registry stored, referrers included',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const dir = await scratch(t, 'reference-to-berth');
      const storage = join(dir, 'storage');
      const reference = await serve(t, 'docker-registry', storage, dir);
      const pushed = await pushAll(reference, dir);
      // An artifact whose subject is the single image. Distribution 2.8.2 stores it (it keeps
      // unknown fields) but has no referrers API (404); Berth answers from the stored manifests.
      const subject = images.single.manifest;
      const artifactType = 'application/vnd.berth.e2e.note';
      const artifact = await writeArtifactLayout(join(dir, 'artifact'), {
        refName: 'note',
        artifactType,
        subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.length },
        content: 'stored by the reference registry',
      });
      await forgetKnownBlobs();
      await diag.run('skopeo', [
        'copy',
        '-q',
        '--dest-tls-verify=false',
        `oci:${join(dir, 'artifact')}:note`,
        `docker://${reference.hostPort}/compat/single@${artifact.digest}`,
      ]);
      const referenceReferrers = await getJson(`${reference.url}/v2/compat/single/referrers/${subject.digest}`);
      assert.equal(referenceReferrers.status, 404, 'Distribution 2.8.2 has no referrers API');
      await reference.stop();

      const berth = await serve(t, 'berth', storage, dir);
      await pullAllAndCompare(berth, dir, pushed);
      assert.deepEqual(await catalog(berth), repositories);
      const referrers = await getJson<{ manifests: Descriptor[] }>(`${berth.url}/v2/compat/single/referrers/${subject.digest}`);
      assert.equal(referrers.status, 200, referrers.text);
      assert.deepEqual(
        referrers.body?.manifests.map(({ mediaType, digest, size, artifactType: type }) => ({ mediaType, digest, size, artifactType: type })),
        [{ mediaType: ociManifestType, digest: artifact.digest, size: artifact.bytes.length, artifactType }],
      );

      // Another client on what docker-registry wrote: podman pulls through Berth and runs it.
      const store = await podmanStore(join(dir, 'podman'));
      defer(t, () => store.remove());
      const podman = (...args: string[]) => diag.run('podman', [...store.flags, ...args], { timeoutMs: 90_000 });
      const image = `${berth.hostPort}/compat/single:v1`;
      await podman('pull', '-q', '--tls-verify=false', image);
      assert.equal((await podman('image', 'inspect', '--format', '{{.Digest}}', image)).stdout.trim(), pushed.get('single'));
      assert.equal((await podman('run', ...podmanRunFlags, image)).stdout.trim(), helloText);
    }),
  );

  it(
    'tags deleted through Berth are gone for docker-registry too',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const dir = await scratch(t, 'delete');
      const storage = join(dir, 'storage');
      const berth = await serve(t, 'berth', storage, dir);
      const push = async (source: string, tag: string) => {
        await forgetKnownBlobs();
        await diag.run('skopeo', ['copy', '-q', '--dest-tls-verify=false', source, `docker://${berth.hostPort}/compat/del:${tag}`]);
      };
      await push(images.single.layout, 'keep');
      await push(images.single.layout, 'untagged');
      await push(`docker-archive:${images.single.archive}`, 'bydigest');
      const archiveDigest = (await headManifest(berth.url, 'compat/del', 'bydigest')).digest!;
      const keepDigest = images.single.manifest.digest;

      // A tag alone (OCI v1.1 DELETE by tag): the manifest stays, under `keep`.
      const untag = await fetch(`${berth.url}/v2/compat/del/manifests/untagged`, { method: 'DELETE', signal: AbortSignal.timeout(15_000) });
      assert.equal(untag.status, 202);
      // skopeo delete resolves the tag and deletes the manifest by digest (with every tag on it).
      await diag.run('skopeo', ['delete', '--tls-verify=false', `docker://${berth.hostPort}/compat/del:bydigest`]);
      assert.deepEqual(await listTags(berth.url, 'compat/del'), { status: 200, tags: ['keep'] });
      await berth.stop();

      const reference = await serve(t, 'docker-registry', storage, dir);
      assert.deepEqual(await listTags(reference.url, 'compat/del'), { status: 200, tags: ['keep'] });
      assert.equal((await headManifest(reference.url, 'compat/del', 'untagged')).status, 404, 'the untagged tag');
      assert.equal((await headManifest(reference.url, 'compat/del', 'bydigest')).status, 404, 'the tag of the deleted manifest');
      assert.equal((await headManifest(reference.url, 'compat/del', archiveDigest)).status, 404, 'the deleted manifest');
      assert.equal((await headManifest(reference.url, 'compat/del', 'keep')).digest, keepDigest);
      const gone = await diag.run('skopeo', ['inspect', '--tls-verify=false', `docker://${reference.hostPort}/compat/del:untagged`], {
        allowFailure: true,
      });
      assert.notEqual(gone.code, 0);
      assert.match(gone.stderr, /manifest unknown/i);
      await diag.run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${reference.hostPort}/compat/del:keep`, `dir:${dir}/kept`]);
      assert.equal((await readDirManifest(join(dir, 'kept'))).digest, keepDigest);

      // The reference registry itself cannot delete a tag alone: it takes only digests there.
      const refUntag = await fetch(`${reference.url}/v2/compat/del/manifests/keep`, {
        method: 'DELETE',
        signal: AbortSignal.timeout(15_000),
      });
      assert.equal(refUntag.status, 400, 'Distribution 2.8.2 answers DELETE by tag with 400 DIGEST_INVALID');
    }),
  );
});
