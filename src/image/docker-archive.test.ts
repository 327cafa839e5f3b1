import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { writeTestLayout, type TestImage } from '../../test/helpers/image-layout.js';
import { mediaTypes, type Descriptor } from './descriptor.js';
import { writeDockerArchive } from './docker-archive.js';
import type { ImageSource } from './image-endpoint.js';
import { ContentMismatchError } from './image-errors.js';
import { openArchive } from './layout-archive.js';
import { OciLayoutSource } from './oci-layout.js';

const run = promisify(execFile);

let work: string;
let layout: string;
let image: TestImage;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-docker-archive-'));
  layout = join(work, 'layout');
  image = await writeTestLayout(layout, [[{ name: 'a', content: 'one' }], [{ name: 'b/c', content: 'two' }]], 'v1');
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('writeDockerArchive', () => {
  test('writes a tarball that skopeo loads and that openArchive reads back', async () => {
    const archive = join(work, 'out.tar');
    const source = new OciLayoutSource(layout, 'v1');
    await writeDockerArchive(source, await source.root(), archive, 'example.com/app:v1');

    const inspected = await run('/usr/bin/skopeo', ['inspect', `docker-archive:${archive}`], { timeout: 60_000 });
    const info = JSON.parse(inspected.stdout) as { RepoTags: string[]; Layers: string[]; Architecture: string };
    assert.equal(info.Architecture, 'amd64');
    assert.equal(info.Layers.length, 2);
    const loaded = join(work, 'loaded');
    await run('/usr/bin/skopeo', ['copy', '-q', `docker-archive:${archive}`, `oci:${loaded}:v1`], { timeout: 60_000 });
    const back = new OciLayoutSource(loaded, 'v1');
    const manifest = JSON.parse((await back.fetchBytes(await back.root())).toString('utf8')) as { config: Descriptor };
    const config = JSON.parse((await back.fetchBytes(manifest.config)).toString('utf8')) as { rootfs: { diff_ids: string[] } };
    const original = JSON.parse(image.blobs.get(image.config.digest)!.toString('utf8')) as { rootfs: { diff_ids: string[] } };
    assert.deepEqual(config.rootfs.diff_ids, original.rootfs.diff_ids);

    // Layers stay as the source held them (gzip here), so the digests carry over unchanged.
    const reread = await openArchive(archive, 'v1');
    const synthesized = JSON.parse((await reread.fetchBytes(await reread.root())).toString('utf8')) as { layers: Descriptor[]; config: Descriptor };
    assert.deepEqual(
      synthesized.layers.map((layer) => [layer.digest, layer.mediaType]),
      image.layers.map((layer) => [layer.digest, mediaTypes.dockerLayerGzip]),
    );
    assert.equal(synthesized.config.digest, image.config.digest);
  });

  test('leaves no file behind when a layer is not what the manifest says', async () => {
    const dir = await mkdtemp(join(work, 'bad-'));
    const honest = new OciLayoutSource(layout, 'v1');
    const lying: ImageSource = {
      root: () => honest.root(),
      fetchBytes: (descriptor) => honest.fetchBytes(descriptor),
      openBlob: async (descriptor) => Readable.from([Buffer.alloc(descriptor.size, 1)]),
      close: async () => {},
    };
    await assert.rejects(writeDockerArchive(lying, await honest.root(), join(dir, 'out.tar')), ContentMismatchError);
    assert.deepEqual(await readdir(dir), []);
  });
});
