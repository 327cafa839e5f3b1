// End to end with real clients: skopeo, podman, buildah, containerd's ctr and docker push to and
// pull from Berth running as its own process (bin/berth.js serve) on filesystem storage.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { ctrFlags, forgetKnownBlobs, podmanRunFlags, podmanStore } from './support/clients.js';
import { dockerdForSuite, startContainerd, type Daemon } from './support/daemons.js';
import { buildTestImages, helloText, type TestImages } from './support/images.js';
import {
  dockerManifestType,
  getJson,
  headManifest,
  listTags,
  ociIndexType,
  ociManifestType,
  readDirManifest,
  readLayoutBlob,
  readLayoutManifest,
  sha256,
  writeArtifactLayout,
  type Descriptor,
} from './support/oci.js';
import { startProxy, type ProxiedRequest } from './support/proxy.js';
import { berthRequests, startRegistry, type RunningRegistry } from './support/registries.js';
import { defer, Diagnostics, type RunOptions } from './support/run.js';

const diag = new Diagnostics();
const testTimeout = { timeout: 120_000 };
let work: string;
let images: TestImages;
let berth: RunningRegistry;

before(
  async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-e2e-clients-'));
    images = await buildTestImages(join(work, 'images'));
    berth = await startRegistry('berth', join(work, 'storage'), work);
    diag.watch(berth);
  },
  { timeout: 120_000 },
);

after(
  async () => {
    await berth?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  },
  { timeout: 60_000 },
);

/** A fresh directory for one test, removed when the test ends (pass or fail). */
async function scratch(t: TestContext, label: string): Promise<string> {
  const dir = await mkdtemp(join(work, `${label}-`));
  defer(t, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

const sh = (file: string, args: string[], options?: RunOptions) => diag.run(file, args, options);
const ref = (repoAndTag: string) => `${berth.hostPort}/${repoAndTag}`;

/** The blob upload requests a client sent (through a recording proxy). */
const uploadRequests = (requests: readonly ProxiedRequest[]) => requests.filter((r) => r.url.includes('/blobs/uploads/'));
const uploadTrace = (requests: readonly ProxiedRequest[]) =>
  uploadRequests(requests)
    .map((r) => `${r.method} ${r.url} length=${r.contentLength} te=${r.transferEncoding} -> ${r.status}`)
    .join('\n');

/** skopeo copy into Berth after making it forget where blobs are (so it really uploads). */
async function push(source: string, repoAndTag: string, options: { all?: boolean; digestFile?: string } = {}) {
  await forgetKnownBlobs();
  await sh('skopeo', [
    'copy',
    '-q',
    ...(options.all ? ['--all'] : []),
    ...(options.digestFile ? ['--digestfile', options.digestFile] : []),
    '--dest-tls-verify=false',
    source,
    `docker://${ref(repoAndTag)}`,
  ]);
}

async function registryDigest(name: string, reference: string): Promise<string | undefined> {
  const head = await headManifest(berth.url, name, reference);
  assert.equal(head.status, 200, `HEAD /v2/${name}/manifests/${reference}`);
  return head.digest;
}

describe('skopeo', () => {
  it(
    'copies an OCI image into Berth and back into an OCI layout unchanged',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const dir = await scratch(t, 'skopeo-single');
      const expected = images.single.manifest;
      await push(images.single.layout, 't/skopeo:v1', { digestFile: join(dir, 'pushed.digest') });
      assert.equal((await readFile(join(dir, 'pushed.digest'), 'utf8')).trim(), expected.digest, 'digest skopeo reports for the push');
      const head = await headManifest(berth.url, 't/skopeo', 'v1');
      assert.deepEqual(head, { status: 200, digest: expected.digest, mediaType: ociManifestType });

      await sh('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref('t/skopeo:v1')}`, `oci:${dir}/pulled:v1`]);
      const pulled = await readLayoutManifest(join(dir, 'pulled'), 'v1');
      assert.equal(pulled.digest, expected.digest, 'manifest digest after the round trip');
      assert.ok(pulled.bytes.equals(expected.bytes), 'manifest bytes after the round trip');
      const layer = await readLayoutBlob(join(dir, 'pulled'), images.single.layer.digest);
      assert.equal(sha256(layer), images.single.layer.digest);
    }),
  );

  it(
    'copies a multi-arch index with --all and pulls both platforms back',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const dir = await scratch(t, 'skopeo-multi');
      const { index, children } = images.multi;
      await push(images.multi.layout, 't/multi:list', { all: true });
      assert.deepEqual(await headManifest(berth.url, 't/multi', 'list'), { status: 200, digest: index.digest, mediaType: ociIndexType });
      for (const child of Object.values(children)) {
        assert.equal(await registryDigest('t/multi', child.digest), child.digest, `child manifest ${child.digest}`);
      }

      await sh('skopeo', ['copy', '-q', '--all', '--src-tls-verify=false', `docker://${ref('t/multi:list')}`, `oci:${dir}/pulled:list`]);
      const pulled = await readLayoutManifest(join(dir, 'pulled'), 'list');
      assert.equal(pulled.digest, index.digest, 'index digest after the round trip');
      const platforms = pulled.json.manifests!.map((d) => `${d.platform?.os}/${d.platform?.architecture}=${d.digest}`).sort();
      assert.deepEqual(platforms, [`linux/amd64=${children.amd64.digest}`, `linux/arm64=${children.arm64.digest}`]);
      for (const child of Object.values(children)) {
        const bytes = await readLayoutBlob(join(dir, 'pulled'), child.digest);
        assert.equal(sha256(bytes), child.digest, `pulled ${child.platform?.architecture} manifest`);
      }
    }),
  );

  it(
    'pushes from a docker-archive tarball (Docker schema 2)',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const dir = await scratch(t, 'skopeo-archive');
      await push(`docker-archive:${images.single.archive}`, 't/skopeo:fromtar', { digestFile: join(dir, 'pushed.digest') });
      const pushed = (await readFile(join(dir, 'pushed.digest'), 'utf8')).trim();
      assert.deepEqual(await headManifest(berth.url, 't/skopeo', 'fromtar'), { status: 200, digest: pushed, mediaType: dockerManifestType });
      // The dir: transport stores what the registry served, byte for byte.
      await sh('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref('t/skopeo:fromtar')}`, `dir:${dir}/pulled`]);
      assert.equal((await readDirManifest(join(dir, 'pulled'))).digest, pushed);
    }),
  );

  it(
    'inspects, lists tags and deletes',
    testTimeout,
    diag.explained(async () => {
      await push(images.single.layout, 't/skopeo-meta:v1');
      await push(`docker-archive:${images.single.archive}`, 't/skopeo-meta:fromtar');
      const inspected = JSON.parse(
        (await sh('skopeo', ['inspect', '--tls-verify=false', `docker://${ref('t/skopeo-meta:v1')}`])).stdout,
      ) as { Architecture: string; Os: string; Digest: string };
      assert.equal(inspected.Architecture, 'amd64');
      assert.equal(inspected.Os, 'linux');
      assert.equal(inspected.Digest, images.single.manifest.digest);

      const tags = async () => {
        const listed = await sh('skopeo', ['list-tags', '--tls-verify=false', `docker://${ref('t/skopeo-meta')}`]);
        return (JSON.parse(listed.stdout) as { Tags: string[] }).Tags.slice().sort();
      };
      assert.deepEqual(await tags(), ['fromtar', 'v1']);

      // skopeo delete resolves the tag and deletes the manifest by digest.
      const deleted = await registryDigest('t/skopeo-meta', 'fromtar');
      await sh('skopeo', ['delete', '--tls-verify=false', `docker://${ref('t/skopeo-meta:fromtar')}`]);
      assert.deepEqual(await tags(), ['v1']);
      const gone = await sh('skopeo', ['inspect', '--tls-verify=false', `docker://${ref('t/skopeo-meta:fromtar')}`], { allowFailure: true });
      assert.notEqual(gone.code, 0, 'inspect of the deleted tag must fail');
      assert.match(gone.stderr, /manifest unknown/i);
      assert.equal((await headManifest(berth.url, 't/skopeo-meta', deleted!)).status, 404, 'the deleted revision');
      assert.equal(await registryDigest('t/skopeo-meta', 'v1'), images.single.manifest.digest, 'the other tag survives');
    }),
  );
});

describe('podman', () => {
  it(
    'pushes, pulls and runs an image, and pulls the amd64 image of an index',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const dir = await scratch(t, 'podman');
      const store = await podmanStore(dir);
      defer(t, () => store.remove());
      const podman = (...args: string[]) => sh('podman', [...store.flags, ...args], { timeoutMs: 90_000 });
      await podman('load', '-q', '-i', images.single.archive);
      const local = `docker.io/${images.single.archiveName}`;
      await forgetKnownBlobs();
      await podman('push', '-q', '--tls-verify=false', '--digestfile', join(dir, 'pushed.digest'), local, ref('t/podman:v1'));
      const pushed = (await readFile(join(dir, 'pushed.digest'), 'utf8')).trim();
      assert.equal(await registryDigest('t/podman', 'v1'), pushed);

      await podman('rmi', '-a', '-f');
      await podman('pull', '-q', '--tls-verify=false', ref('t/podman:v1'));
      assert.equal((await podman('image', 'inspect', '--format', '{{.Digest}}', ref('t/podman:v1'))).stdout.trim(), pushed);
      const ran = await podman('run', ...podmanRunFlags, ref('t/podman:v1'));
      assert.equal(ran.stdout.trim(), helloText);

      await push(images.multi.layout, 't/podman-multi:list', { all: true });
      await podman('pull', '-q', '--tls-verify=false', ref('t/podman-multi:list'));
      const arch = await podman('image', 'inspect', '--format', '{{.Architecture}}', ref('t/podman-multi:list'));
      assert.equal(arch.stdout.trim(), 'amd64');
      const cat = await podman('run', ...podmanRunFlags, ref('t/podman-multi:list'));
      assert.equal(cat.stdout.trim(), 'amd64');
    }),
  );
});

describe('buildah', () => {
  it(
    'pushes an image and a manifest list',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const dir = await scratch(t, 'buildah');
      const buildah = (...args: string[]) => sh('buildah', [...images.buildah, ...args]);
      await forgetKnownBlobs();
      const imageDigestFile = join(dir, 'image.digest');
      await buildah('push', '-q', '--tls-verify=false', '--digestfile', imageDigestFile, images.single.localName, ref('t/buildah:v1'));
      const pushed = (await readFile(imageDigestFile, 'utf8')).trim();
      assert.equal(await registryDigest('t/buildah', 'v1'), pushed);

      const listDigestFile = join(dir, 'list.digest');
      const listRef = `docker://${ref('t/buildah-multi:list')}`;
      await buildah('manifest', 'push', '-q', '--all', '--tls-verify=false', '--digestfile', listDigestFile, images.multi.localName, listRef);
      const list = (await readFile(listDigestFile, 'utf8')).trim();
      const head = await headManifest(berth.url, 't/buildah-multi', 'list');
      assert.equal(head.digest, list);
      const inspected = await sh('skopeo', ['inspect', '--raw', '--tls-verify=false', listRef]);
      const raw = JSON.parse(inspected.stdout) as { manifests: Descriptor[] };
      assert.deepEqual(raw.manifests.map((d) => d.platform?.architecture).sort(), ['amd64', 'arm64']);
      for (const child of raw.manifests) assert.equal(await registryDigest('t/buildah-multi', child.digest), child.digest);
    }),
  );
});

describe('containerd (ctr)', () => {
  let containerd: Daemon;
  before(
    async () => {
      containerd = await startContainerd(join(work, 'containerd'));
      diag.watch(containerd);
    },
    { timeout: 60_000 },
  );
  after(
    async () => {
      if (!containerd) return;
      diag.unwatch(containerd);
      await containerd.stop();
    },
    { timeout: 30_000 },
  );

  const ctr = (...args: string[]) => sh('ctr', [...ctrFlags(containerd.socket), ...args], { timeoutMs: 90_000 });
  /** The digest ctr stored for an image reference (`ctr images ls`). */
  const ctrImageDigest = async (reference: string, client = ctr) => {
    const listing = (await client('images', 'ls')).stdout;
    const line = listing.split('\n').find((l) => l.startsWith(`${reference} `));
    assert.ok(line, `ctr images ls has no ${reference}:\n${listing}`);
    return /sha256:[0-9a-f]{64}/.exec(line)?.[0];
  };

  it(
    'pulls an image',
    testTimeout,
    diag.explained(async () => {
      await push(images.single.layout, 't/ctr-pull:v1');
      await ctr('images', 'pull', '--plain-http', ref('t/ctr-pull:v1'));
      assert.equal(await ctrImageDigest(ref('t/ctr-pull:v1')), images.single.manifest.digest);
    }),
  );

  it(
    'pulls every platform of an index (--all-platforms) and pushes it to another repository',
    testTimeout,
    diag.explained(async () => {
      await push(images.multi.layout, 't/ctr-multi:list', { all: true });
      await ctr('images', 'pull', '--plain-http', '--all-platforms', ref('t/ctr-multi:list'));
      assert.equal(await ctrImageDigest(ref('t/ctr-multi:list')), images.multi.index.digest);
      const content = (await ctr('content', 'ls', '-q')).stdout.split('\n');
      for (const child of Object.values(images.multi.children)) {
        const manifest = JSON.parse((await ctr('content', 'get', child.digest)).stdout) as { layers: Descriptor[]; config: Descriptor };
        for (const blob of [manifest.config, ...manifest.layers]) {
          assert.ok(content.includes(blob.digest), `${child.platform?.architecture} blob ${blob.digest} in containerd's content store`);
        }
      }

      // Pushing the index elsewhere: ctr mounts the blobs from t/ctr-multi (it labels pulled
      // content with its source), PUTs both child manifests by digest, then the index by tag.
      await ctr('images', 'tag', '--force', ref('t/ctr-multi:list'), ref('t/ctr-multi-copy:list'));
      await ctr('images', 'push', '--plain-http', ref('t/ctr-multi-copy:list'));
      const mounts = berthRequests(berth).filter((r) => r.method === 'POST' && r.path.startsWith('/v2/t/ctr-multi-copy/blobs/uploads/?'));
      assert.ok(
        mounts.length > 0 && mounts.every((r) => r.path.includes('mount=') && r.status === 201),
        `ctr mounted every blob: ${JSON.stringify(mounts)}`,
      );
      assert.equal(await registryDigest('t/ctr-multi-copy', 'list'), images.multi.index.digest);
      for (const child of Object.values(images.multi.children)) {
        assert.equal(await registryDigest('t/ctr-multi-copy', child.digest), child.digest);
      }
    }),
  );

  it(
    'pushes an imported image (monolithic PUT uploads)',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const dir = await scratch(t, 'ctr-push');
      // A containerd of its own: blobs pulled earlier carry a distribution-source label, and ctr
      // would mount them from that repository (POST ?mount=&from=) rather than upload them.
      const fresh = await startContainerd(join(dir, 'containerd'));
      diag.watch(fresh, t);
      defer(t, () => fresh.stop());
      const freshCtr = (...args: string[]) => sh('ctr', [...ctrFlags(fresh.socket), ...args], { timeoutMs: 90_000 });
      // Through a recording proxy, to see the upload style: POST, then one PUT with the whole blob.
      const proxy = await startProxy(berth.hostPort);
      defer(t, () => proxy.close());
      const pushRef = `${proxy.hostPort}/t/ctr:v1`;
      await freshCtr('images', 'import', images.single.archive);
      await freshCtr('images', 'tag', '--force', `docker.io/${images.single.archiveName}`, pushRef);
      await freshCtr('images', 'push', '--plain-http', pushRef);
      const trace = uploadTrace(proxy.requests);
      const uploads = uploadRequests(proxy.requests);
      assert.ok(!uploads.some((r) => r.method === 'PATCH'), `ctr sent no PATCH:\n${trace}`);
      const puts = uploads.filter((r) => r.method === 'PUT');
      assert.ok(puts.length >= 2 && puts.every((r) => Number(r.contentLength) > 0 && r.status === 201), `ctr PUT each blob whole:\n${trace}`);
      const local = await ctrImageDigest(pushRef, freshCtr);
      assert.equal(await registryDigest('t/ctr', 'v1'), local);
      // Pulling it with another client verifies every blob ctr uploaded.
      await sh('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref('t/ctr:v1')}`, `dir:${dir}/pulled`]);
      assert.equal((await readDirManifest(join(dir, 'pulled'))).digest, local);
    }),
  );

  it(
    'resumes an interrupted layer download with a Range request',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const dir = await scratch(t, 'ctr-resume');
      // A containerd of its own: its content store must not have the layer yet.
      const fresh = await startContainerd(join(dir, 'containerd'));
      diag.watch(fresh, t);
      defer(t, () => fresh.stop());
      const layer = images.single.layer;
      await push(images.single.layout, 't/ctr-resume:v1');
      const cutAt = 256 * 1024;
      const proxy = await startProxy(berth.hostPort, {
        when: (req) => req.method === 'GET' && req.url!.endsWith(`/blobs/${layer.digest}`),
        afterBytes: cutAt,
      });
      defer(t, () => proxy.close());

      const pullRef = `${proxy.hostPort}/t/ctr-resume:v1`;
      await sh('ctr', [...ctrFlags(fresh.socket), 'images', 'pull', '--plain-http', pullRef], { timeoutMs: 90_000 });
      const layerRequests = proxy.requests.filter((r) => r.method === 'GET' && r.url.endsWith(layer.digest));
      const trace = JSON.stringify(proxy.requests, null, 1);
      assert.equal(layerRequests[0]?.cut, true, `the first layer download was cut: ${trace}`);
      const resumed = layerRequests.find((r) => r.range !== undefined);
      assert.ok(resumed, `ctr resumed with a Range request: ${trace}`);
      const offset = Number(/^bytes=(\d+)-$/.exec(resumed.range!)?.[1]);
      assert.ok(offset > 0 && offset <= cutAt, `resumed from the bytes it had: ${resumed.range}`);
      assert.equal(resumed.status, 206, trace);
      assert.equal(resumed.contentRange, `bytes ${offset}-${layer.size - 1}/${layer.size}`);

      // And plainly, with curl: a Range GET of the pulled layer is a 206 with exactly those bytes.
      const body = join(dir, 'part');
      const curl = await sh('curl', ['-sS', '-o', body, '-D', '-', '-r', '1000-1999', `${berth.url}/v2/t/ctr-resume/blobs/${layer.digest}`]);
      assert.match(curl.stdout, /^HTTP\/1\.1 206 /);
      assert.match(curl.stdout, new RegExp(`^content-range: bytes 1000-1999/${layer.size}\\r?$`, 'im'));
      const whole = await readLayoutBlob(images.single.layoutDir, layer.digest);
      assert.ok((await readFile(body)).equals(whole.subarray(1000, 2000)), 'the ranged bytes');
    }),
  );
});

describe('docker (dockerd)', () => {
  const docker = dockerdForSuite(() => join(work, 'docker'), diag);
  const repoDigests = async (image: string) =>
    JSON.parse((await docker('image', 'inspect', '--format', '{{json .RepoDigests}}', image)).stdout) as string[];

  it(
    'pushes an image (chunked PATCH uploads)',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      // Through a recording proxy, to see the upload style: a chunked PATCH, then an empty PUT.
      const proxy = await startProxy(berth.hostPort);
      defer(t, () => proxy.close());
      const pushRef = `${proxy.hostPort}/t/docker:v1`;
      await docker('load', '-q', '-i', images.single.archive);
      await docker('tag', images.single.archiveName, pushRef);
      await docker('push', '-q', pushRef);
      const trace = uploadTrace(proxy.requests);
      const patches = uploadRequests(proxy.requests).filter((r) => r.method === 'PATCH');
      assert.ok(patches.length >= 2, `docker sent PATCHes:\n${trace}`);
      assert.ok(patches.every((r) => r.transferEncoding === 'chunked' && r.contentLength === undefined && r.status === 202), trace);
      const digest = await registryDigest('t/docker', 'v1');
      assert.deepEqual(await repoDigests(pushRef), [`${proxy.hostPort}/t/docker@${digest}`]);
      assert.equal((await headManifest(berth.url, 't/docker', 'v1')).mediaType, dockerManifestType);
    }),
  );

  it(
    'pulls and runs an image',
    testTimeout,
    diag.explained(async () => {
      await push(`docker-archive:${images.single.archive}`, 't/docker-pull:v1');
      const digest = await registryDigest('t/docker-pull', 'v1');
      await docker('pull', '-q', ref('t/docker-pull:v1'));
      assert.ok((await repoDigests(ref('t/docker-pull:v1'))).includes(`${ref('t/docker-pull')}@${digest}`));
      const ran = await docker('run', '--rm', '--network', 'none', ref('t/docker-pull:v1'));
      assert.equal(ran.stdout.trim(), helloText);
    }),
  );

  it(
    'pulls and runs the amd64 image of an index',
    testTimeout,
    diag.explained(async () => {
      await push(images.multi.layout, 't/docker-multi:list', { all: true });
      await docker('pull', '-q', ref('t/docker-multi:list'));
      assert.ok((await repoDigests(ref('t/docker-multi:list'))).includes(`${ref('t/docker-multi')}@${images.multi.index.digest}`));
      const ran = await docker('run', '--rm', '--network', 'none', ref('t/docker-multi:list'));
      assert.equal(ran.stdout.trim(), 'amd64');
    }),
  );

  it(
    'creates and pushes an index with `docker manifest` (the CLI talks to the registry itself)',
    testTimeout,
    diag.explained(async () => {
      await push(images.single.layout, 't/docker-manifest-src:v1');
      const list = ref('t/docker-manifest:list');
      await docker('manifest', 'create', '--insecure', list, ref('t/docker-manifest-src:v1'));
      const pushed = (await docker('manifest', 'push', '--insecure', '--purge', list)).stdout.trim().split('\n').at(-1)!;
      // docker CLI 28 lists an OCI image manifest in an OCI index (a Docker manifest list otherwise).
      assert.deepEqual(await headManifest(berth.url, 't/docker-manifest', 'list'), { status: 200, digest: pushed, mediaType: ociIndexType });
      // The image manifest went into the list's repository too (by digest, blobs mounted).
      assert.equal(await registryDigest('t/docker-manifest', images.single.manifest.digest), images.single.manifest.digest);
      const inspected = JSON.parse((await docker('manifest', 'inspect', '--insecure', list)).stdout) as { manifests: Descriptor[] };
      assert.deepEqual(
        inspected.manifests.map((d) => `${d.platform?.os}/${d.platform?.architecture}=${d.digest}`),
        [`linux/amd64=${images.single.manifest.digest}`],
      );
    }),
  );
});

describe('referrers', () => {
  it(
    'lists an artifact, pushed untagged with skopeo, under the image it refers to',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const dir = await scratch(t, 'referrers');
      const subject = images.single.manifest;
      await push(images.single.layout, 't/refs:v1');
      const artifactType = 'application/vnd.berth.e2e.note';
      const artifact = await writeArtifactLayout(join(dir, 'artifact'), {
        refName: 'note',
        artifactType,
        subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.length },
        content: 'a note about the image',
      });
      // oras is not installed; skopeo copies the hand-made artifact manifest untouched, by digest
      // (no tag), as `oras attach` would push it.
      await push(`oci:${dir}/artifact:note`, `t/refs@${artifact.digest}`);
      const head = await headManifest(berth.url, 't/refs', artifact.digest);
      assert.equal(head.digest, artifact.digest, 'the artifact is stored under its own digest');

      const expected = { mediaType: ociManifestType, digest: artifact.digest, size: artifact.bytes.length, artifactType };
      const url = `${berth.url}/v2/t/refs/referrers/${subject.digest}`;
      const listed = await getJson<{ mediaType: string; manifests: Descriptor[] }>(url);
      assert.equal(listed.status, 200, listed.text);
      assert.equal(listed.headers.get('content-type'), ociIndexType);
      assert.equal(listed.body?.mediaType, ociIndexType);
      assert.deepEqual(
        listed.body?.manifests.map(({ mediaType, digest, size, artifactType: type }) => ({ mediaType, digest, size, artifactType: type })),
        [expected],
      );

      const filtered = await getJson<{ manifests: Descriptor[] }>(`${url}?artifactType=${encodeURIComponent(artifactType)}`);
      assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
      assert.deepEqual(filtered.body?.manifests.map((d) => d.digest), [artifact.digest]);
      const other = await getJson<{ manifests: Descriptor[] }>(`${url}?artifactType=application%2Fvnd.other`);
      assert.deepEqual(other.body?.manifests, []);
      assert.deepEqual(await listTags(berth.url, 't/refs'), { status: 200, tags: ['v1'] }, 'the artifact adds no tag');
    }),
  );
});
