// Several Berth processes on one storage, as replicas behind a load balancer and as
// `serve --workers`: what one process writes, the others serve; uploads continue anywhere;
// concurrent writers of one tag or one blob leave one good result. Runs over the filesystem
// always, and over S3 when BERTH_TEST_S3_* say there is a bucket (then it must work).
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fetchBody } from '../helpers/http.js';
import { digestOf, imageManifest, mediaTypes, pushBlob, pushImage, putManifest, uniqueBytes } from '../helpers/push.js';
import { freePort, spawnRegistry, type SpawnedRegistry } from '../helpers/registry-server.js';
import { run } from './support/run.js';

let work: string;
const running: SpawnedRegistry[] = [];
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-scale-'));
});
after(async () => {
  for (const registry of running) await registry.stop();
  await rm(work, { recursive: true, force: true });
});

interface Backend {
  name: string;
  /** The `storage:` section (indented lines) for a fresh, empty store. */
  storage(id: string): string;
  /** The filesystem root, to look at the files themselves. */
  root?(id: string): string;
}

const s3Variables = ['BERTH_TEST_S3_ENDPOINT', 'BERTH_TEST_S3_BUCKET', 'BERTH_TEST_S3_ACCESS_KEY', 'BERTH_TEST_S3_SECRET_KEY'];
const backends: Backend[] = [
  {
    name: 'filesystem',
    storage: (id) => `  filesystem:\n    rootdirectory: ${join(work, id, 'data')}\n`,
    root: (id) => join(work, id, 'data'),
  },
];
if (s3Variables.some((name) => process.env[name])) {
  backends.push({
    name: 's3',
    storage: (id) => {
      const missing = s3Variables.filter((name) => !process.env[name]);
      assert.deepEqual(missing, [], `some BERTH_TEST_S3_* variables are set but not ${missing.join(', ')}`);
      const env = (name: string) => JSON.stringify(process.env[name]);
      return [
        '  s3:',
        `    regionendpoint: ${env('BERTH_TEST_S3_ENDPOINT')}`,
        `    bucket: ${env('BERTH_TEST_S3_BUCKET')}`,
        `    accesskey: ${env('BERTH_TEST_S3_ACCESS_KEY')}`,
        `    secretkey: ${env('BERTH_TEST_S3_SECRET_KEY')}`,
        '    region: us-east-1',
        '    forcepathstyle: true',
        '    secure: false',
        `    rootdirectory: /berth-scale-out-${id}`,
        '',
      ].join('\n');
    },
  });
}

/** A Berth process on the backend's store `id` (deletes enabled, no access log). */
async function berth(backend: Backend, id: string, options: { args?: string[]; extra?: string } = {}): Promise<SpawnedRegistry> {
  const dir = join(work, id);
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    backend.storage(id) + '  delete:\n    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    options.extra ?? '',
  ].join('\n');
  const registry = await spawnRegistry('berth', config, dir, port, {}, undefined, options.args);
  running.push(registry);
  return registry;
}

async function bytesOf(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}

/** The path and query of an upload Location, to send the next request of the upload to any replica. */
function uploadPath(response: Response): string {
  const location = response.headers.get('location');
  assert.ok(location, `no Location in the ${response.status} answer`);
  const url = new URL(location, 'http://placeholder');
  return url.pathname + url.search;
}

/** Every file below dir, relative. */
async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));
}

for (const backend of backends) {
  describe(`two berth processes on one ${backend.name} store`, () => {
    let a: SpawnedRegistry;
    let b: SpawnedRegistry;
    const id = `pair-${backend.name}-${randomUUID().slice(0, 8)}`;
    before(async () => {
      a = await berth(backend, id);
      b = await berth(backend, id);
    });

    test('an image pushed through one is pulled through the other (skopeo)', async () => {
      const layout = join(work, id, 'layout');
      const pulled = join(work, id, 'pulled');
      const layer = randomBytes(200_000);
      const manifest = await writeImageLayout(layout, layer);
      const tls = ['--src-tls-verify=false', '--dest-tls-verify=false'];
      await run('skopeo', ['copy', '-q', '--preserve-digests', ...tls, `oci:${layout}:v1`, `docker://${a.hostPort}/scale/app:v1`], { timeoutMs: 60_000 });
      await run('skopeo', ['copy', '-q', '--preserve-digests', ...tls, `docker://${b.hostPort}/scale/app:v1`, `oci:${pulled}:v1`], { timeoutMs: 60_000 });
      const index = JSON.parse(await readFile(join(pulled, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      assert.equal(index.manifests[0]!.digest, manifest);
      const layerCopy = await readFile(join(pulled, 'blobs/sha256', digestOf(layer).slice('sha256:'.length)));
      assert.ok(layerCopy.equals(layer), 'the layer pulled through the other process has the pushed bytes');
    });

    test('a chunked upload started on one continues and completes on the other', async () => {
      const name = 'scale/chunked';
      const content = randomBytes(300_000);
      const chunks = [content.subarray(0, 100_000), content.subarray(100_000, 250_000), content.subarray(250_000)];
      const started = await fetch(`${a.url}/v2/${name}/blobs/uploads/`, { method: 'POST' });
      assert.equal(started.status, 202);
      let path = uploadPath(started);
      let offset = 0;
      for (const [i, chunk] of chunks.entries()) {
        const via = i % 2 === 0 ? a : b; // A, B, A
        const response = await fetch(`${via.url}${path}`, {
          method: 'PATCH',
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + chunk.length - 1}` },
          body: fetchBody(chunk),
        });
        assert.equal(response.status, 202, await response.text());
        offset += chunk.length;
        assert.equal(response.headers.get('range'), `0-${offset - 1}`);
        path = uploadPath(response);
      }
      const status = await fetch(`${b.url}${path}`);
      assert.equal(status.status, 204);
      assert.equal(status.headers.get('range'), `0-${content.length - 1}`);
      const url = new URL(path, b.url);
      url.searchParams.set('digest', digestOf(content));
      const completed = await fetch(url, { method: 'PUT' });
      assert.equal(completed.status, 201, await completed.text());
      for (const via of [a, b]) {
        const response = await fetch(`${via.url}/v2/${name}/blobs/${digestOf(content)}`);
        assert.equal(response.status, 200);
        assert.ok((await bytesOf(response)).equals(content));
      }
    });

    test('concurrent pushes of one tag through both: all 201, one winner seen alike by both', async () => {
      const name = 'scale/race';
      const config = await pushBlob(a.url, name, JSON.stringify({ architecture: 'amd64', os: 'linux' }), mediaTypes.ociConfig);
      const layers = await Promise.all(Array.from({ length: 8 }, (_, i) => pushBlob(i % 2 ? a.url : b.url, name, uniqueBytes(5000), mediaTypes.ociLayer)));
      const manifests = layers.map((layer) => Buffer.from(JSON.stringify(imageManifest(config, [layer]))));
      const digests = manifests.map((bytes) => digestOf(bytes));
      for (let round = 0; round < 3; round++) {
        const answers = await Promise.all(manifests.map((bytes, i) => putManifest(i % 2 ? a.url : b.url, name, 'latest', bytes)));
        for (const answer of answers) assert.equal(answer.status, 201, await answer.text());
        const seen = await Promise.all(
          [a, b].map(async (via) => {
            const response = await fetch(`${via.url}/v2/${name}/manifests/latest`, { headers: { Accept: mediaTypes.ociManifest } });
            assert.equal(response.status, 200);
            const bytes = await bytesOf(response);
            assert.equal(response.headers.get('docker-content-digest'), digestOf(bytes), 'the bytes served are those of the digest');
            return digestOf(bytes);
          }),
        );
        assert.equal(seen[0], seen[1], 'both processes resolve the tag alike');
        assert.ok(digests.includes(seen[0]!), 'the tag names one of the pushed manifests');
      }
      for (const [i, digest] of digests.entries()) {
        const response = await fetch(`${(i % 2 ? b : a).url}/v2/${name}/manifests/${digest}`, { headers: { Accept: mediaTypes.ociManifest } });
        assert.equal(response.status, 200);
        assert.ok((await bytesOf(response)).equals(manifests[i]!));
      }
      await assertNoStrayFiles(backend, id);
    });

    test('concurrent uploads of one blob through both end with one good blob', async () => {
      const name = 'scale/same-blob';
      const content = randomBytes(1_000_000);
      const digest = digestOf(content);
      const answers = await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const via = i % 2 ? a : b;
          const started = await fetch(`${via.url}/v2/${name}/blobs/uploads/`, { method: 'POST' });
          assert.equal(started.status, 202);
          const url = new URL(uploadPath(started), (i % 3 ? a : b).url);
          url.searchParams.set('digest', digest);
          return await fetch(url, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: fetchBody(content) });
        }),
      );
      for (const answer of answers) {
        assert.equal(answer.status, 201, await answer.text());
        assert.equal(answer.headers.get('docker-content-digest'), digest);
      }
      for (const via of [a, b]) {
        const response = await fetch(`${via.url}/v2/${name}/blobs/${digest}`);
        assert.equal(response.status, 200);
        const bytes = await bytesOf(response);
        assert.equal(digestOf(bytes), digest);
      }
      await assertNoStrayFiles(backend, id);
    });
  });

  describe(`one berth serve --workers 2 on ${backend.name}, hammered`, () => {
    test('many pushes and pulls at once, every digest checked', async () => {
      const id = `workers-${backend.name}-${randomUUID().slice(0, 8)}`;
      const registry = await berth(backend, id, { args: ['--workers', '2'] });
      const pushed = await Promise.all(
        Array.from({ length: 24 }, async (_, i) => {
          const layer = uniqueBytes(20_000 + i * 1000);
          const manifest = await pushImage(registry.url, `hammer/repo-${i % 4}`, `t${i}`, { layers: [layer] });
          return { i, layer, manifest };
        }),
      );
      const rounds = await Promise.all(
        pushed.flatMap(({ i, layer, manifest }) =>
          [0, 1, 2].map(async () => {
            const m = await fetch(`${registry.url}/v2/hammer/repo-${i % 4}/manifests/t${i}`, { headers: { Accept: mediaTypes.ociManifest } });
            assert.equal(m.status, 200);
            assert.equal(digestOf(await bytesOf(m)), manifest.digest);
            const blob = await fetch(`${registry.url}/v2/hammer/repo-${i % 4}/blobs/${digestOf(layer)}`);
            assert.equal(blob.status, 200);
            assert.equal(digestOf(await bytesOf(blob)), digestOf(layer));
            return true;
          }),
        ),
      );
      assert.equal(rounds.length, 72);
      for (let r = 0; r < 4; r++) {
        const tags = (await (await fetch(`${registry.url}/v2/hammer/repo-${r}/tags/list`)).json()) as { tags: string[] };
        assert.equal(tags.tags.length, 6);
      }
      await registry.stop();
      assert.equal(registry.process.exitCode, 0, registry.output());
    });
  });
}

describe('two berth processes sharing a redis blob descriptor cache', () => {
  test('a blob link deleted through one is 404 at once through the other', async () => {
    const addr = process.env.BERTH_TEST_REDIS_ADDR;
    assert.ok(addr, 'BERTH_TEST_REDIS_ADDR is not set: this test needs a redis-server (npm test starts one with scripts/services/redis-up.sh)');
    const backend = backends[0]!;
    const id = `redis-${randomUUID().slice(0, 8)}`;
    const extra = `redis:\n  addr: ${addr}\n`;
    const cached = `  cache:\n    blobdescriptor: redis\n`;
    const withCache: Backend = { name: backend.name, storage: (store) => backend.storage(store) + cached };
    const a = await berth(withCache, id, { extra });
    const b = await berth(withCache, id, { extra });
    const content = uniqueBytes(4000);
    const blob = await pushBlob(a.url, 'cached/app', content);
    for (const via of [a, b]) assert.equal((await fetch(`${via.url}/v2/cached/app/blobs/${blob.digest}`, { method: 'HEAD' })).status, 200);
    assert.equal((await fetch(`${a.url}/v2/cached/app/blobs/${blob.digest}`, { method: 'DELETE' })).status, 202);
    assert.equal((await fetch(`${b.url}/v2/cached/app/blobs/${blob.digest}`, { method: 'HEAD' })).status, 404);
    assert.equal((await fetch(`${b.url}/v2/cached/app/blobs/${blob.digest}`)).status, 404);
    assert.ok(!/unreachable/.test(a.output() + b.output()), a.output() + b.output());
  });
});

/** No temporary or half-written file is left in the store, and no upload session. */
async function assertNoStrayFiles(backend: Backend, id: string): Promise<void> {
  if (!backend.root) return; // an object store has no temporary files to leave
  const files = await filesBelow(backend.root(id));
  assert.deepEqual(files.filter((file) => file.split('/').some((part) => part.startsWith('.tmp-'))), []);
  assert.deepEqual(files.filter((file) => file.includes('/_uploads/')), []);
}

/** An OCI layout with one image (an empty config, one layer of the given bytes) tagged v1; returns the manifest digest. */
async function writeImageLayout(dir: string, layer: Buffer): Promise<string> {
  await mkdir(join(dir, 'blobs/sha256'), { recursive: true });
  const put = async (bytes: Buffer) => {
    const digest = digestOf(bytes);
    await writeFile(join(dir, 'blobs/sha256', digest.slice('sha256:'.length)), bytes);
    return { digest, size: bytes.length };
  };
  const config = { mediaType: mediaTypes.ociConfig, ...(await put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(layer)] } })))) };
  const layerDescriptor = { mediaType: 'application/vnd.oci.image.layer.v1.tar', ...(await put(layer)) };
  const manifest = Buffer.from(JSON.stringify(imageManifest(config, [layerDescriptor])));
  const { digest, size } = await put(manifest);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const ref = { 'org.opencontainers.image.ref.name': 'v1' };
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: mediaTypes.ociManifest, digest, size, annotations: ref }] }));
  return digest;
}
