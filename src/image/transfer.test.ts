import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { mediaTypes, type Descriptor } from './descriptor.js';
import type { ImageSink, ImageSource } from './image-endpoint.js';
import { transfer, TransferError } from './transfer.js';

function describeBytes(mediaType: string, bytes: Buffer, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length, ...extra };
}

/** An in-memory store that is both ends: what a source holds, and what a sink received in order. */
class MemoryEnd implements ImageSource, ImageSink {
  readonly content = new Map<string, Buffer>();
  readonly events: string[] = [];
  rootDescriptor?: Descriptor;

  add(mediaType: string, bytes: Buffer | object, extra: Partial<Descriptor> = {}): Descriptor {
    const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(JSON.stringify(bytes));
    const descriptor = describeBytes(mediaType, data, extra);
    this.content.set(descriptor.digest, data);
    return descriptor;
  }

  async root(): Promise<Descriptor> {
    return this.rootDescriptor!;
  }
  async fetchBytes(descriptor: Descriptor): Promise<Buffer> {
    return this.content.get(descriptor.digest)!;
  }
  async openBlob(descriptor: Descriptor, offset = 0): Promise<Readable> {
    return Readable.from([this.content.get(descriptor.digest)!.subarray(offset)]);
  }
  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    return this.content.has(descriptor.digest);
  }
  async writeBlob(descriptor: Descriptor, open: (offset: number) => Promise<Readable>): Promise<'written'> {
    this.content.set(descriptor.digest, await buffer(await open(0)));
    this.events.push(`blob ${descriptor.digest}`);
    return 'written';
  }
  async writeManifest(descriptor: Descriptor, bytes: Buffer): Promise<void> {
    this.content.set(descriptor.digest, bytes);
    this.events.push(`manifest ${descriptor.digest}`);
  }
  async finish(root: Descriptor): Promise<void> {
    this.events.push(`finish ${root.digest}`);
  }
  async close(): Promise<void> {}
}

/** A two-platform index whose images share a base layer. */
function twoPlatformIndex(source: MemoryEnd) {
  const base = source.add(mediaTypes.ociLayerGzip, Buffer.from('shared base layer'));
  const images = (['amd64', 'arm64'] as const).map((architecture) => {
    const config = source.add(mediaTypes.ociConfig, { architecture, os: 'linux' });
    const own = source.add(mediaTypes.ociLayerGzip, Buffer.from(`layer of ${architecture}`));
    const manifest = source.add(mediaTypes.ociManifest, { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config, layers: [base, own] }, {
      platform: { os: 'linux', architecture },
    });
    return { config, own, manifest };
  });
  const index = source.add(mediaTypes.ociIndex, { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: images.map((i) => i.manifest) });
  source.rootDescriptor = index;
  return { base, images, index };
}

describe('transfer', () => {
  it('moves a whole index: each blob once, every manifest after its content, the root named last', async () => {
    const source = new MemoryEnd();
    const { base, images, index } = twoPlatformIndex(source);
    const sink = new MemoryEnd();
    const result = await transfer(source, sink);
    assert.equal(result.root.digest, index.digest);
    assert.equal(result.copiedBlobs, 5, 'two configs, two own layers, the shared base once');
    assert.equal(result.manifests, 3);
    assert.equal(sink.events.filter((e) => e === `blob ${base.digest}`).length, 1);
    const at = (event: string) => sink.events.indexOf(event);
    for (const image of images) {
      assert.ok(at(`blob ${image.own.digest}`) < at(`manifest ${image.manifest.digest}`));
      assert.ok(at(`blob ${image.config.digest}`) < at(`manifest ${image.manifest.digest}`));
      assert.ok(at(`manifest ${image.manifest.digest}`) < at(`manifest ${index.digest}`));
    }
    assert.equal(sink.events.at(-1), `finish ${index.digest}`);
  });

  it('picks one platform, skips blobs the destination has, and names the platforms it lacks', async () => {
    const source = new MemoryEnd();
    const { base, images } = twoPlatformIndex(source);
    const sink = new MemoryEnd();
    sink.content.set(base.digest, source.content.get(base.digest)!);
    const result = await transfer(source, sink, { platform: { os: 'linux', architecture: 'arm64' } });
    assert.equal(result.root.digest, images[1]!.manifest.digest);
    assert.equal(result.existingBlobs, 1);
    assert.equal(result.copiedBlobs, 2);
    await assert.rejects(transfer(source, new MemoryEnd(), { platform: { os: 'linux', architecture: 's390x' } }), (error: unknown) => {
      assert.ok(error instanceof TransferError);
      assert.match(error.message, /linux\/amd64, linux\/arm64/);
      return true;
    });
  });

  it('refuses content it cannot walk', async () => {
    const source = new MemoryEnd();
    source.rootDescriptor = source.add('application/vnd.example.unknown', Buffer.from('opaque'));
    await assert.rejects(transfer(source, new MemoryEnd()), TransferError);
  });
});
