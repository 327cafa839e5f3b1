import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { buffer } from 'node:stream/consumers';
import { startRegistry } from '../../test/e2e/support/registries.js';
import { sha256, writeTestLayout, type TestImage } from '../../test/helpers/image-layout.js';
import { fetchBody } from '../../test/helpers/http.js';
import { pushManifest, startUpload, withDigest } from '../../test/helpers/push.js';
import { mediaTypes, type Descriptor } from './descriptor.js';
import { ImageRefNotFoundError, UnsupportedFormatError } from './image-errors.js';
import { dockerLayerTar, openArchive } from './layout-archive.js';

const run = promisify(execFile);

let work: string;
let layout: string;
let image: TestImage;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-archive-'));
  layout = join(work, 'layout');
  image = await writeTestLayout(layout, [[{ name: 'a', content: 'one' }], [{ name: 'b/c', content: 'two' }]], 'v1');
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('openArchive', () => {
  test('reads an OCI layout tarball in place', async () => {
    const archive = join(work, 'layout.tar');
    await run('tar', ['-C', layout, '-cf', archive, '.'], { timeout: 30_000 });
    const source = await openArchive(archive, 'v1');
    const root = await source.root();
    assert.equal(root.digest, image.manifest.digest);
    assert.deepEqual(await source.fetchBytes(root), image.blobs.get(root.digest));
    const layer = image.layers[1]!;
    assert.deepEqual(await buffer(await source.openBlob(layer, 10)), image.blobs.get(layer.digest)!.subarray(10));
    await assert.rejects((await openArchive(archive, 'v2')).root(), ImageRefNotFoundError);
  });

  test('reads a docker save (25+) tarball as the OCI layout it holds, by tag or image name', async () => {
    const dir = join(work, 'docker25');
    await run('cp', ['-r', layout, dir]);
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    index.manifests[0]!.annotations = { 'io.containerd.image.name': 'docker.io/library/app:v1', 'org.opencontainers.image.ref.name': 'v1' };
    await writeFile(join(dir, 'index.json'), JSON.stringify(index));
    await writeFile(join(dir, 'manifest.json'), JSON.stringify([{ Config: 'blobs/sha256/x', RepoTags: ['app:v1'], Layers: [] }]));
    const archive = join(work, 'docker25.tar');
    await run('tar', ['-C', dir, '-cf', archive, '.'], { timeout: 30_000 });
    for (const name of ['v1', 'app:v1', 'docker.io/library/app:v1']) {
      assert.equal((await (await openArchive(archive, name)).root()).digest, image.manifest.digest, name);
    }
  });

  test('refuses a gzip-compressed tarball with a clear error', async () => {
    const archive = join(work, 'layout.tar.gz');
    await run('tar', ['-C', layout, '-czf', archive, '.'], { timeout: 30_000 });
    await assert.rejects(openArchive(archive), UnsupportedFormatError);
  });

  test('makes a Docker manifest for a docker save archive, with the uncompressed layers', async () => {
    const archive = join(work, 'docker.tar');
    await run('/usr/bin/skopeo', ['copy', '-q', `oci:${layout}:v1`, `docker-archive:${archive}:example.com:5000/app:v1`], { timeout: 60_000 });
    for (const name of [undefined, 'v1', 'example.com:5000/app:v1']) {
      const source = await openArchive(archive, name);
      const root = await source.root();
      assert.equal(root.mediaType, mediaTypes.dockerManifest);
      const manifest = JSON.parse((await source.fetchBytes(root)).toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
      assert.equal(sha256(await source.fetchBytes(root)), root.digest);
      assert.equal(manifest.config.mediaType, mediaTypes.dockerConfig);
      const config = JSON.parse((await source.fetchBytes(manifest.config)).toString('utf8')) as { rootfs: { diff_ids: string[] } };
      assert.deepEqual(
        manifest.layers.map((layer) => layer.mediaType),
        image.layers.map(() => dockerLayerTar),
      );
      // Each layer is the uncompressed tar of the original, so its digest is the config's diff_id.
      const expected = image.layers.map((layer) => gunzipSync(image.blobs.get(layer.digest)!));
      assert.deepEqual(manifest.layers.map((layer) => layer.digest), config.rootfs.diff_ids);
      for (const [i, layer] of manifest.layers.entries()) {
        assert.deepEqual(await buffer(await source.openBlob(layer)), expected[i]);
      }
    }
    await assert.rejects(openArchive(archive, 'v2'), ImageRefNotFoundError);
  });

  test('the made-up manifest is accepted by the reference registry and skopeo reads it back', { timeout: 120_000 }, async () => {
    const archive = join(work, 'docker-push.tar');
    await run('/usr/bin/skopeo', ['copy', '-q', `oci:${layout}:v1`, `docker-archive:${archive}:app:v1`], { timeout: 60_000 });
    const source = await openArchive(archive);
    const root = await source.root();
    const bytes = await source.fetchBytes(root);
    const manifest = JSON.parse(bytes.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
    const registry = await startRegistry('docker-registry', join(work, 'storage'), work);
    try {
      for (const blob of [manifest.config, ...manifest.layers]) {
        // Test images are tiny, so buffering them here is fine. The reference registry has no
        // single-POST upload, hence POST then PUT.
        const location = await startUpload(registry.url, 'app');
        const response = await fetch(withDigest(location, blob.digest), { method: 'PUT', body: fetchBody(await buffer(await source.openBlob(blob))) });
        assert.equal(response.status, 201, await response.text());
      }
      await pushManifest(registry.url, 'app', 'v1', bytes);
      const pulled = join(work, 'pulled');
      await run('/usr/bin/skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${registry.hostPort}/app:v1`, `oci:${pulled}:v1`], { timeout: 60_000 });
      const raw = await run('/usr/bin/skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.hostPort}/app:v1`], { encoding: 'buffer', timeout: 60_000 });
      assert.deepEqual(raw.stdout, bytes);
    } finally {
      await registry.stop();
    }
  });
});
