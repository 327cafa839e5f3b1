import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { digestBytes, type Digest } from '../../protocol/digest.js';
import { mediaTypes } from '../../protocol/media-types.js';
import { Registry } from '../../registry/registry.js';
import { MemoryDriver } from '../../storage/memory-driver.js';
import { paths } from '../../storage/paths.js';
import { maxConfigBytes } from './image-config.js';
import { ManifestSummaries } from './manifest-summary.js';

const repo = 'team/app';
const ociConfig = 'application/vnd.oci.image.config.v1+json';
const ociLayer = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** A registry in memory, and helpers that store blobs and manifests in `repo` as a push would. */
function memoryRegistry(driver = new MemoryDriver()) {
  const registry = new Registry(driver, { deleteEnabled: true });
  const blob = async (mediaType: string, bytes: Buffer) => {
    const digest = digestBytes(bytes);
    await registry.blobs.putBytes(digest, bytes);
    await registry.blobs.link(repo, digest);
    return { mediaType, digest: digest.text, size: bytes.length };
  };
  const manifest = async (body: object, tag?: string) => {
    const bytes = Buffer.from(JSON.stringify(body));
    const { digest } = await registry.manifests.put(repo, tag ? { tag } : { digest: digestBytes(bytes) }, bytes);
    return { digest, bytes, descriptor: { mediaType: (body as { mediaType: string }).mediaType, digest: digest.text, size: bytes.length } };
  };
  const image = async (config: object, layerSizes: number[], extra: object = {}) => {
    const configDescriptor = await blob(ociConfig, Buffer.from(JSON.stringify(config)));
    const layers = await Promise.all(layerSizes.map((size, i) => blob(ociLayer, Buffer.alloc(size, `${i}${JSON.stringify(config)}`))));
    const stored = await manifest({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: configDescriptor, layers, ...extra });
    return { ...stored, config: configDescriptor, total: stored.bytes.length + configDescriptor.size + layerSizes.reduce((a, b) => a + b, 0) };
  };
  return { registry, blob, manifest, image };
}

/** A memory driver that counts content reads by path. */
class CountingDriver extends MemoryDriver {
  readonly reads = new Map<string, number>();

  override async getContent(path: string): Promise<Buffer> {
    this.reads.set(path, (this.reads.get(path) ?? 0) + 1);
    return await super.getContent(path);
  }
}

const index = (children: object[], extra: object = {}) => ({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: children, ...extra });

describe('ManifestSummaries', () => {
  test('an image: manifest + config + layers, platform and created from its config', async () => {
    const { registry, image } = memoryRegistry();
    const pushed = await image({ os: 'linux', architecture: 'arm64', variant: 'v8', created: '2024-03-01T12:00:00.5Z' }, [1000, 234]);
    const summary = await new ManifestSummaries(registry).of(pushed.digest);
    assert.deepEqual(summary, {
      digest: pushed.digest.text,
      mediaType: mediaTypes.ociManifest,
      kind: 'image',
      size: pushed.total,
      platforms: ['linux/arm64/v8'],
      created: '2024-03-01T12:00:00.500Z',
    });
  });

  test('an index: its bytes plus each child total, child platforms without attestations, the newest child created', async () => {
    const { registry, image, manifest } = memoryRegistry();
    const amd = await image({ os: 'linux', architecture: 'amd64', created: '2024-01-01T00:00:00Z' }, [500]);
    const arm = await image({ os: 'linux', architecture: 'arm', variant: 'v7', created: '2024-02-01T00:00:00Z' }, [300, 20]);
    const attestation = await image({ os: 'unknown', architecture: 'unknown' }, [10]);
    const index = await manifest({
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      manifests: [
        { ...amd.descriptor, platform: { os: 'linux', architecture: 'amd64' } },
        { ...arm.descriptor, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
        { ...attestation.descriptor, platform: { os: 'unknown', architecture: 'unknown' } },
      ],
    });
    const summary = await new ManifestSummaries(registry).of(index.digest);
    assert.equal(summary?.kind, 'index');
    assert.equal(summary?.size, index.bytes.length + amd.total + arm.total + attestation.total);
    assert.deepEqual(summary?.platforms, ['linux/amd64', 'linux/arm/v7']);
    assert.equal(summary?.created, '2024-02-01T00:00:00.000Z');
  });

  test('an index child missing from storage counts its descriptor size, and the summary is computed again later', async () => {
    const { registry, image, manifest } = memoryRegistry();
    const child = await image({ os: 'linux', architecture: 'amd64' }, [4000]);
    const index = await manifest({
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      annotations: { 'org.opencontainers.image.created': '2023-05-05T05:05:05Z' },
      manifests: [{ ...child.descriptor, platform: { os: 'linux', architecture: 'amd64' } }],
    });
    // The child's bytes go (as after a garbage collection run elsewhere); a registry with fresh caches reads storage.
    await registry.driver.delete(paths.blobData(child.digest));
    const summaries = new ManifestSummaries(new Registry(registry.driver, { deleteEnabled: true }));
    const without = await summaries.of(index.digest);
    assert.equal(without?.size, index.bytes.length + child.bytes.length);
    assert.deepEqual(without?.platforms, ['linux/amd64']);
    assert.equal(without?.created, '2023-05-05T05:05:05.000Z');
    await registry.blobs.putBytes(child.digest, child.bytes);
    assert.equal((await summaries.of(index.digest))?.size, index.bytes.length + child.total, 'not kept while incomplete');
  });

  test('an artifact: artifactType, or a config that is not an image config; no platform', async () => {
    const { registry, blob, manifest, image } = memoryRegistry();
    const subject = await image({ os: 'linux', architecture: 'amd64' }, [10]);
    const payload = await blob('application/vnd.example.sbom', Buffer.from('{"sbom":true}'));
    const withType = await manifest({
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      artifactType: 'application/vnd.example.sbom',
      config: { mediaType: mediaTypes.ociEmpty, digest: (await blob(mediaTypes.ociEmpty, Buffer.from('{}'))).digest, size: 2 },
      layers: [payload],
      subject: subject.descriptor,
    });
    const oldStyle = await manifest({
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      config: await blob('application/vnd.dev.cosign.config', Buffer.from('{"os":"linux","architecture":"amd64"}')),
      layers: [payload],
    });
    const summaries = new ManifestSummaries(registry);
    const first = await summaries.of(withType.digest);
    assert.equal(first?.kind, 'artifact');
    assert.equal(first?.artifactType, 'application/vnd.example.sbom');
    assert.equal(first?.size, withType.bytes.length + 2 + payload.size);
    assert.deepEqual(first?.platforms, []);
    const second = await summaries.of(oldStyle.digest);
    assert.equal(second?.kind, 'artifact');
    assert.equal(second?.artifactType, 'application/vnd.dev.cosign.config');
    assert.deepEqual(second?.platforms, []);
  });

  test('a config over the size bound is not parsed; bytes that are no manifest are `other`; missing bytes are undefined', async () => {
    const { registry, image } = memoryRegistry();
    const big = await image({ os: 'linux', architecture: 'amd64', created: '2024-01-01T00:00:00Z', pad: 'x'.repeat(maxConfigBytes) }, [1]);
    const summaries = new ManifestSummaries(registry);
    const summary = await summaries.of(big.digest);
    assert.equal(summary?.kind, 'image');
    assert.equal(summary?.size, big.total);
    assert.deepEqual(summary?.platforms, []);
    assert.equal(summary?.created, null);

    const junk = Buffer.from('not a manifest');
    const junkDigest: Digest = digestBytes(junk);
    await registry.blobs.putBytes(junkDigest, junk);
    assert.deepEqual(await summaries.of(junkDigest), {
      digest: junkDigest.text,
      mediaType: mediaTypes.ociManifest,
      kind: 'other',
      size: junk.length,
      platforms: [],
      created: null,
    });
    assert.equal(await summaries.of(digestBytes(Buffer.from('never stored'))), undefined);
  });

  test('tags summarized at once read each shared child manifest and each config once', async () => {
    const driver = new CountingDriver();
    const { image, blob, manifest } = memoryRegistry(driver);
    const config = { os: 'linux', architecture: 'amd64', created: '2024-06-01T00:00:00Z' };
    const first = await image(config, [100]);
    // A second image with the same config: its facts come from the first read.
    const second = await manifest({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: first.config, layers: [await blob(ociLayer, Buffer.from('other'))] });
    const indexes = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => await manifest(index([first.descriptor, second.descriptor], { annotations: { n: String(i) } }))),
    );
    // Fresh caches, as after a restart: every read goes to storage.
    const summaries = new ManifestSummaries(new Registry(driver, { deleteEnabled: true }));
    driver.reads.clear();
    const results = await Promise.all(indexes.map(async (pushed) => await summaries.of(pushed.digest)));
    for (const result of results) assert.equal(result?.created, '2024-06-01T00:00:00.000Z');
    const configPath = paths.blobData(digestBytes(Buffer.from(JSON.stringify(config))));
    assert.equal(driver.reads.get(configPath), 1, 'the config is read once');
    for (const child of [first, second]) assert.equal(driver.reads.get(paths.blobData(child.digest)), 1, 'each child manifest is read once');
  });

  test('an index cut short by the nesting bound is not kept: its deep parts are summarized in full when asked directly', async () => {
    const { registry, image, manifest } = memoryRegistry();
    const leaf = await image({ os: 'linux', architecture: 'amd64' }, [700]);
    // top → 1 → 2 → 3 → 4 → 5 → leaf: the child of level 4 is past the bound.
    const chain: { digest: Digest; bytes: Buffer; descriptor: object }[] = [leaf];
    for (let level = 0; level < 6; level++) chain.unshift(await manifest(index([chain[0]!.descriptor])));
    const summaries = new ManifestSummaries(registry);
    const top = await summaries.of(chain[0]!.digest);
    const fifth = chain[5]!;
    assert.equal(top?.size, chain.slice(0, 5).reduce((sum, level) => sum + level.bytes.length, 0) + fifth.bytes.length);
    const fourth = await summaries.of(chain[4]!.digest);
    assert.equal(fourth?.size, chain[4]!.bytes.length + fifth.bytes.length + leaf.total);
  });

  test("an artifact's created is its created annotation", async () => {
    const { registry, blob, manifest } = memoryRegistry();
    const signed = await manifest({
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      artifactType: 'application/vnd.example.signature',
      config: { mediaType: mediaTypes.ociEmpty, digest: (await blob(mediaTypes.ociEmpty, Buffer.from('{}'))).digest, size: 2 },
      layers: [await blob('application/vnd.example.signature', Buffer.from('sig'))],
      annotations: { 'org.opencontainers.image.created': '2025-01-02T03:04:05Z' },
    });
    assert.equal((await new ManifestSummaries(registry).of(signed.digest))?.created, '2025-01-02T03:04:05.000Z');
  });

  test('a config nested deeper than the UI parses is not parsed (its answer could not be serialized)', async () => {
    const { registry, blob, manifest } = memoryRegistry();
    const depth = 100_000;
    const text = `{"os":"linux","architecture":"amd64","created":"2024-01-01T00:00:00Z","x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const config = await blob(ociConfig, Buffer.from(text));
    const deep = await manifest({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config, layers: [] });
    const summary = await new ManifestSummaries(registry).of(deep.digest);
    assert.deepEqual([summary?.kind, summary?.platforms, summary?.created, summary?.size], ['image', [], null, deep.bytes.length + config.size]);
  });
});
