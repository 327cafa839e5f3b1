import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { buffer } from 'node:stream/consumers';
import { listTree } from '../../test/helpers/files.js';
import { sha256, writeTestLayout, type TestImage } from '../../test/helpers/image-layout.js';
import type { Descriptor } from './descriptor.js';
import type { ImageSink, ImageSource } from './image-endpoint.js';
import { BlobMissingError, ContentMismatchError, ImageRefNotFoundError, InvalidImageError } from './image-errors.js';
import { OciLayoutSink, OciLayoutSource } from './oci-layout.js';

const run = promisify(execFile);

let work: string;
let image: TestImage;
let layout: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-layout-'));
  layout = join(work, 'source');
  image = await writeTestLayout(layout, [[{ name: 'a', content: 'one' }], [{ name: 'b', content: 'two' }]], 'v1');
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The copy transfer.ts does, reduced to one image manifest: blobs, then the manifest, then finish. */
async function copyImage(source: ImageSource, sink: ImageSink): Promise<Descriptor> {
  const root = await source.root();
  const bytes = await source.fetchBytes(root);
  const manifest = JSON.parse(bytes.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
  for (const blob of [manifest.config, ...manifest.layers]) {
    if (!(await sink.hasBlob(blob))) await sink.writeBlob(blob, (offset) => source.openBlob(blob, offset));
  }
  await sink.writeManifest(root, bytes);
  await sink.finish(root);
  await sink.close();
  return root;
}

describe('OciLayoutSource', () => {
  test('reads the named root, verified small objects, and blobs from an offset', async () => {
    const source = new OciLayoutSource(layout, 'v1');
    const root = await source.root();
    assert.equal(root.digest, image.manifest.digest);
    assert.deepEqual(await source.fetchBytes(image.config), image.blobs.get(image.config.digest));
    const layer = image.layers[0]!;
    assert.deepEqual(await buffer(await source.openBlob(layer, 5)), image.blobs.get(layer.digest)!.subarray(5));
    assert.equal((await new OciLayoutSource(layout).root()).digest, image.manifest.digest, 'the only entry needs no name');
  });

  test('says which names exist when the one asked for is not there', async () => {
    await assert.rejects(new OciLayoutSource(layout, 'nope').root(), (error: unknown) => {
      assert.ok(error instanceof ImageRefNotFoundError);
      assert.deepEqual(error.available, ['v1']);
      return true;
    });
  });

  test('refuses a directory that is not a layout, tampered content, and digests that are paths', async () => {
    await assert.rejects(new OciLayoutSource(work).root(), InvalidImageError);
    const copy = join(work, 'tampered');
    const tampered = await writeTestLayout(copy, [[{ name: 'a', content: 'one' }]]);
    await writeFile(join(copy, 'blobs/sha256', tampered.config.digest.slice(7)), Buffer.from('{"x":1}'.padEnd(tampered.config.size)));
    const source = new OciLayoutSource(copy);
    await assert.rejects(source.fetchBytes(tampered.config), ContentMismatchError);
    await assert.rejects(source.fetchBytes({ ...tampered.config, digest: 'sha256:../../../etc/passwd' }), InvalidImageError);
    await assert.rejects(source.openBlob({ ...tampered.config, digest: `sha256:${'0'.repeat(64)}` }), BlobMissingError);
  });
});

describe('OciLayoutSink', () => {
  test('writes a layout that reads back identically and that skopeo and umoci read', async () => {
    const target = join(work, 'copy');
    const root = await copyImage(new OciLayoutSource(layout, 'v1'), new OciLayoutSink(target, 'v1'));
    const back = new OciLayoutSource(target, 'v1');
    assert.equal((await back.root()).digest, image.manifest.digest);
    for (const [digest, bytes] of image.blobs) {
      assert.deepEqual(await buffer(await back.openBlob({ mediaType: '', digest, size: bytes.length })), bytes);
    }
    const raw = await run('/usr/bin/skopeo', ['inspect', '--raw', `oci:${target}:v1`], { encoding: 'buffer', timeout: 60_000 });
    assert.equal(sha256(raw.stdout), root.digest);
    const tags = await run('/usr/bin/umoci', ['ls', '--layout', target], { timeout: 60_000 });
    assert.deepEqual(tags.stdout.trim().split('\n'), ['v1']);
    assert.ok(!(await listTree(target)).some((path) => path.includes('.tmp-')), 'no temporary file is left');
  });

  test('keeps other entries of an existing layout and replaces the one with the same name', async () => {
    const target = join(work, 'shared');
    await copyImage(new OciLayoutSource(layout, 'v1'), new OciLayoutSink(target, 'v1'));
    await copyImage(new OciLayoutSource(layout, 'v1'), new OciLayoutSink(target, 'v2'));
    await copyImage(new OciLayoutSource(layout, 'v1'), new OciLayoutSink(target, 'v1'));
    const index = JSON.parse(await readFile(join(target, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    assert.deepEqual(
      index.manifests.map((entry) => entry.annotations?.['org.opencontainers.image.ref.name']).sort(),
      ['v1', 'v2'],
    );
    assert.equal(await new OciLayoutSink(target).hasBlob(image.layers[0]!), true);
    assert.equal(await new OciLayoutSink(target).hasBlob({ ...image.layers[0]!, size: 1 }), false, 'a wrong size is not the blob');
  });

  test('refuses a blob whose bytes do not match, leaving neither it nor a temporary file', async () => {
    const target = join(work, 'bad');
    const sink = new OciLayoutSink(target, 'x');
    const claimed: Descriptor = { mediaType: 'application/octet-stream', digest: sha256(Buffer.from('expected')), size: 8 };
    await assert.rejects(sink.writeBlob(claimed, async () => Readable.from([Buffer.from('tampered')])), ContentMismatchError);
    await assert.rejects(sink.writeManifest(claimed, Buffer.from('tampered')), ContentMismatchError);
    await sink.close();
    assert.deepEqual(await listTree(join(target, 'blobs')), ['sha256/']);
  });
});
