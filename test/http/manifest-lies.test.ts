import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { expectError, fetchBody } from '../helpers/http.js';
import {
  descriptorOf,
  digestOf,
  imageManifest,
  manifestBytes,
  mediaTypes,
  pushBlob,
  pushImage,
  pushManifest,
  putManifest,
  uniqueBytes,
  type Descriptor,
} from '../helpers/push.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

/**
 * Manifests that lie about what they reference: every lie is refused with the spec's error, and
 * a refused manifest leaves nothing behind (no revision, no tag, no blob made readable).
 */

/** An index of the given child manifests. */
function indexOf(children: Descriptor[], mediaType: string = mediaTypes.ociIndex): object {
  return { schemaVersion: 2, mediaType, manifests: children };
}

function hex(algorithm: string, content: Buffer): string {
  return createHash(algorithm).update(content).digest('hex');
}

describe('manifests that lie', { timeout: 120_000 }, () => {
  let registry: TestRegistry;
  let url: string;
  before(async () => {
    registry = await startTestRegistry();
    url = registry.url;
  });
  after(async () => await registry?.close());

  /** Asserts the manifest under `reference` is not there (the refused push stored nothing). */
  async function assertAbsent(name: string, manifest: object, tag?: string): Promise<void> {
    const digest = digestOf(manifestBytes(manifest));
    const byDigest = await fetch(`${url}/v2/${name}/manifests/${digest}`);
    assert.equal(byDigest.status, 404, `${digest} was stored`);
    await byDigest.body?.cancel();
    if (tag) await expectError(await fetch(`${url}/v2/${name}/manifests/${tag}`), 404, 'MANIFEST_UNKNOWN');
  }

  test('a descriptor whose size differs from the blob is 400 MANIFEST_INVALID, larger or smaller', async () => {
    const name = 'lies/size';
    const config = await pushBlob(url, name, JSON.stringify({ os: 'linux' }), mediaTypes.ociConfig);
    const layer = await pushBlob(url, name, uniqueBytes(100), mediaTypes.ociLayer);
    for (const size of [99, 101, 0]) {
      const manifest = imageManifest(config, [{ ...layer, size }]);
      const entry = await expectError(await putManifest(url, name, 'lying', manifest), 400, 'MANIFEST_INVALID', {
        message: new RegExp(`says ${size} bytes, but the blob has 100`),
      });
      assert.deepEqual(entry!.detail, { digest: layer.digest, size: 100 });
      await assertAbsent(name, manifest, 'lying');
    }
    const wrongConfig = imageManifest({ ...config, size: config.size + 1 }, [layer]);
    await expectError(await putManifest(url, name, 'lying', wrongConfig), 400, 'MANIFEST_INVALID');
    // A child manifest of an index, too.
    const child = await pushImage(url, name);
    const index = indexOf([{ mediaType: child.mediaType, digest: child.digest, size: child.size + 7 }]);
    await expectError(await putManifest(url, name, 'lying', index), 400, 'MANIFEST_INVALID');
    await assertAbsent(name, index, 'lying');
  });

  test('blobs that exist only in another repository are MANIFEST_BLOB_UNKNOWN and stay unreadable here', async () => {
    const config = await pushBlob(url, 'lies/owner', JSON.stringify({ os: 'linux', owner: true }), mediaTypes.ociConfig);
    const layer = await pushBlob(url, 'lies/owner', uniqueBytes(64), mediaTypes.ociLayer);
    const ownConfig = await pushBlob(url, 'lies/thief', JSON.stringify({ os: 'linux', thief: true }), mediaTypes.ociConfig);
    const manifest = imageManifest(ownConfig, [layer]);
    const entry = await expectError(await putManifest(url, 'lies/thief', 'stolen', manifest), 400, 'MANIFEST_BLOB_UNKNOWN', {
      message: /not in repository lies\/thief/,
    });
    assert.deepEqual(entry!.detail, { digest: layer.digest });
    await expectError(await putManifest(url, 'lies/thief', 'stolen', imageManifest(config, [])), 400, 'MANIFEST_BLOB_UNKNOWN');
    // The push did not link the blob: it is still not readable through this repository.
    await expectError(await fetch(`${url}/v2/lies/thief/blobs/${layer.digest}`), 404, 'BLOB_UNKNOWN');
    await assertAbsent('lies/thief', manifest, 'stolen');
    // A child manifest that exists only in another repository.
    const foreign = await pushImage(url, 'lies/owner', 'v1');
    const index = indexOf([{ mediaType: foreign.mediaType, digest: foreign.digest, size: foreign.size }]);
    await expectError(await putManifest(url, 'lies/thief', 'stolen', index), 400, 'MANIFEST_BLOB_UNKNOWN');
    await expectError(await fetch(`${url}/v2/lies/thief/manifests/${foreign.digest}`), 404, 'MANIFEST_UNKNOWN');
  });

  test('an index child must be a manifest of the repository, not a layer blob with its digest', async () => {
    const name = 'lies/child-blob';
    // The bytes of an image manifest, uploaded as a plain blob of the repository.
    const imageBytes = manifestBytes(imageManifest(descriptorOf(mediaTypes.ociConfig, '{}'), []));
    await pushBlob(url, name, imageBytes);
    await pushBlob(url, name, '{}', mediaTypes.ociConfig);
    const index = indexOf([{ mediaType: mediaTypes.ociManifest, digest: digestOf(imageBytes), size: imageBytes.length }]);
    await expectError(await putManifest(url, name, 'idx', index), 400, 'MANIFEST_BLOB_UNKNOWN');
    await assertAbsent(name, index, 'idx');
    // Pushed as a manifest, the same bytes count.
    await pushManifest(url, name, digestOf(imageBytes), imageBytes);
    await pushManifest(url, name, 'idx', index);
  });

  test('an index child whose descriptor names the wrong kind of manifest is 400 MANIFEST_INVALID', async () => {
    const name = 'lies/kind';
    const image = await pushImage(url, name);
    const inner = await pushManifest(url, name, 'inner', indexOf([{ mediaType: image.mediaType, digest: image.digest, size: image.size }]));
    const imageAsIndex = indexOf([{ mediaType: mediaTypes.ociIndex, digest: image.digest, size: image.size }]);
    await expectError(await putManifest(url, name, 'lying', imageAsIndex), 400, 'MANIFEST_INVALID', {
      message: /says application\/vnd\.oci\.image\.index\.v1\+json, but that manifest is application\/vnd\.oci\.image\.manifest\.v1\+json/,
    });
    const indexAsImage = indexOf([{ mediaType: mediaTypes.dockerManifest, digest: inner.digest, size: inner.size }]);
    await expectError(await putManifest(url, name, 'lying', indexAsImage), 400, 'MANIFEST_INVALID');
    await assertAbsent(name, indexAsImage, 'lying');
    // Docker and OCI spellings of the same kind are both taken (tools mix them), and so is a
    // nested index named as one.
    await pushManifest(url, name, 'mixed', indexOf([{ mediaType: mediaTypes.dockerManifest, digest: image.digest, size: image.size }], mediaTypes.dockerManifestList));
    await pushManifest(url, name, 'nested', indexOf([{ mediaType: mediaTypes.dockerManifestList, digest: inner.digest, size: inner.size }]));
    // Blobs carry no media type in a registry: a layer descriptor's type cannot be checked.
    const config = await pushBlob(url, name, JSON.stringify({ os: 'linux', kind: 1 }), mediaTypes.ociConfig);
    const layer = await pushBlob(url, name, uniqueBytes(32));
    await pushManifest(url, name, 'any-layer-type', imageManifest(config, [{ ...layer, mediaType: 'application/vnd.example.anything' }]));
  });

  test('an index cannot reference itself or form a cycle: children must exist before the parent', async () => {
    const name = 'lies/cycle';
    const image = await pushImage(url, name);
    const leaf = { mediaType: image.mediaType, digest: image.digest, size: image.size };
    // "Itself": the digest of the bytes it would have with a placeholder; filling it in changes them.
    const placeholder = indexOf([leaf, { mediaType: mediaTypes.ociIndex, digest: `sha256:${'0'.repeat(64)}`, size: 1 }]);
    const placeholderBytes = manifestBytes(placeholder);
    const selfish = indexOf([leaf, { mediaType: mediaTypes.ociIndex, digest: digestOf(placeholderBytes), size: placeholderBytes.length }]);
    await expectError(await putManifest(url, name, 'self', selfish), 400, 'MANIFEST_BLOB_UNKNOWN');
    await expectError(await putManifest(url, name, digestOf(placeholderBytes), placeholder), 400, 'MANIFEST_BLOB_UNKNOWN');
    // A cycle A → B → A: whichever goes first names a manifest that is not there yet.
    const b = indexOf([leaf]);
    const bBytes = manifestBytes(b);
    const a = indexOf([{ mediaType: mediaTypes.ociIndex, digest: digestOf(bBytes), size: bBytes.length }]);
    await expectError(await putManifest(url, name, 'a', a), 400, 'MANIFEST_BLOB_UNKNOWN');
    await pushManifest(url, name, 'b', b);
    await pushManifest(url, name, 'a', a);
    // The digest the cycle needs (B naming A) would change B's bytes and so its digest.
    const aBytes = manifestBytes(a);
    const bCycled = indexOf([leaf, { mediaType: mediaTypes.ociIndex, digest: digestOf(aBytes), size: aBytes.length }]);
    assert.notEqual(digestOf(manifestBytes(bCycled)), digestOf(bBytes));
    const bBack = await fetch(`${url}/v2/${name}/manifests/b`);
    assert.deepEqual(Buffer.from(await bBack.arrayBuffer()), bBytes);
  });

  test('sha512: blobs and manifests in sha512 are accepted when the content matches', async () => {
    const name = 'lies/sha512';
    const configBytes = Buffer.from(JSON.stringify({ os: 'linux', sha: 512 }));
    const layerBytes = uniqueBytes(200);
    const config = { mediaType: mediaTypes.ociConfig, digest: digestOf(configBytes, 'sha512'), size: configBytes.length };
    const layer = { mediaType: mediaTypes.ociLayer, digest: digestOf(layerBytes, 'sha512'), size: layerBytes.length };
    for (const [descriptor, bytes] of [[config, configBytes], [layer, layerBytes]] as const) {
      const answer = await fetch(`${url}/v2/${name}/blobs/uploads/?digest=${descriptor.digest}`, { method: 'POST', body: fetchBody(bytes) });
      assert.equal(answer.status, 201, await answer.text());
      assert.equal(answer.headers.get('docker-content-digest'), descriptor.digest);
    }
    const read = await fetch(`${url}/v2/${name}/blobs/${layer.digest}`);
    assert.deepEqual(Buffer.from(await read.arrayBuffer()), layerBytes);
    const manifest = imageManifest(config, [layer]);
    const bytes = manifestBytes(manifest);
    const pushed = await pushManifest(url, name, digestOf(bytes, 'sha512'), manifest);
    assert.equal(pushed.digest, `sha512:${hex('sha512', bytes)}`);
    const got = await fetch(`${url}/v2/${name}/manifests/${pushed.digest}`);
    assert.equal(got.headers.get('docker-content-digest'), pushed.digest);
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), bytes);
    // By tag the registry names the manifest by sha256, as clients expect.
    const tagged = await putManifest(url, name, 'latest', manifest);
    assert.equal(tagged.headers.get('docker-content-digest'), digestOf(bytes));
    // Content that does not match its sha512 digest.
    const wrong = await fetch(`${url}/v2/${name}/blobs/uploads/?digest=${digestOf(uniqueBytes(8), 'sha512')}`, {
      method: 'POST',
      body: fetchBody(uniqueBytes(8)),
    });
    await expectError(wrong, 400, 'DIGEST_INVALID');
    await expectError(await putManifest(url, name, digestOf(uniqueBytes(8), 'sha512'), manifest), 400, 'DIGEST_INVALID');
  });

  test('digests in algorithms other than sha256 and sha512 (sha384, md5, unknown) are DIGEST_INVALID everywhere', async () => {
    const name = 'lies/algorithms';
    const content = uniqueBytes(50);
    const others = [`sha384:${hex('sha384', content)}`, `md5:${hex('md5', content)}`, `blake9:${hex('sha256', content)}`];
    const image = await pushImage(url, name, 'base');
    const parsed = JSON.parse(image.bytes.toString()) as { config: Descriptor; layers: Descriptor[] };
    for (const digest of others) {
      await expectError(await fetch(`${url}/v2/${name}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: fetchBody(content) }), 400, 'DIGEST_INVALID');
      await expectError(await fetch(`${url}/v2/${name}/blobs/${digest}`), 400, 'DIGEST_INVALID');
      await expectError(await fetch(`${url}/v2/${name}/manifests/${digest}`), 400, 'DIGEST_INVALID');
      await expectError(await putManifest(url, name, digest, image.bytes), 400, 'DIGEST_INVALID');
      const lying = imageManifest(parsed.config, [...parsed.layers, { mediaType: mediaTypes.ociLayer, digest, size: content.length }]);
      const entry = await expectError(await putManifest(url, name, 'other', lying), 400, 'DIGEST_INVALID', { message: /is not supported/ });
      assert.deepEqual(entry!.detail, { digest, where: 'layers[1]' });
      await assertAbsent(name, lying, 'other');
    }
    const start = await fetch(`${url}/v2/${name}/blobs/uploads/?digest-algorithm=sha384`, { method: 'POST' });
    await expectError(start, 400, 'DIGEST_INVALID');
  });
});
