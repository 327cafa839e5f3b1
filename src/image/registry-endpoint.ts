import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import type { RegistryClient } from '../client/registry-client.js';
import { referenceOf, type ImageReference } from '../client/reference.js';
import type { BlobLocations } from './blob-locations.js';
import { verifyBytes } from './content-check.js';
import { isImageManifest, isIndex, type Descriptor } from './descriptor.js';
import type { ImageSink, ImageSource } from './image-endpoint.js';
import { InvalidImageError } from './image-errors.js';
import { TransferError } from './transfer.js';
import { maxSmallObjectSize } from './oci-layout.js';


/** A repository of a registry as the source of a transfer (pull, and the left side of copy). */
export class RegistrySource implements ImageSource {
  /** Manifest bytes already fetched, by digest (the root is fetched to learn its descriptor). */
  private readonly manifests = new Map<string, Buffer>();

  constructor(
    readonly client: RegistryClient,
    readonly reference: ImageReference,
    private readonly locations?: BlobLocations,
  ) {}

  async root(): Promise<Descriptor> {
    const { descriptor, bytes } = await this.client.getManifest(this.reference.repository, referenceOf(this.reference));
    this.manifests.set(descriptor.digest, bytes);
    return descriptor;
  }

  async fetchBytes(descriptor: Descriptor): Promise<Buffer> {
    const known = this.manifests.get(descriptor.digest);
    if (known) return known;
    if (isIndex(descriptor.mediaType) || isImageManifest(descriptor.mediaType)) {
      const { bytes } = await this.client.getManifest(this.reference.repository, descriptor.digest);
      return bytes;
    }
    if (descriptor.size > maxSmallObjectSize) throw new InvalidImageError(`${descriptor.digest}: ${descriptor.size} bytes is too large for a manifest or config`);
    const bytes = await buffer(await this.client.openBlob(this.reference.repository, descriptor.digest));
    verifyBytes(descriptor, bytes);
    return bytes;
  }

  async openBlob(descriptor: Descriptor, offset = 0): Promise<Readable> {
    const stream = await this.client.openBlob(this.reference.repository, descriptor.digest, { offset });
    await this.locations?.remember(this.client.registry, this.reference.repository, descriptor.digest);
    return stream;
  }

  async close(): Promise<void> {}
}

export interface RegistrySinkOptions {
  /** Upload in chunks of this many bytes (PATCH), resuming after a dropped connection; default one PUT. */
  chunkSize?: number;
  /** Repositories of the same registry to mount blobs from before uploading them. */
  mountFrom?: readonly string[];
  /** Where blobs were seen before: more repositories to mount from, and where this push puts them. */
  locations?: BlobLocations;
}

/** Mounts tried per blob before uploading it: each refused one costs a request and an upload session. */
const mountAttempts = 3;

/**
 * A repository of a registry as the destination of a transfer (push, and the right side of
 * copy). Manifests are put by digest as they come and the root is tagged at the end, so a tag
 * appears only when its whole image is there.
 */
export class RegistrySink implements ImageSink {
  private readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>();

  constructor(
    readonly client: RegistryClient,
    readonly reference: ImageReference,
    private readonly options: RegistrySinkOptions = {},
  ) {}

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    const present = (await this.client.statBlob(this.reference.repository, descriptor.digest)) !== undefined;
    if (present) await this.remember(descriptor);
    return present;
  }

  async writeBlob(descriptor: Descriptor, open: (offset: number) => Promise<Readable>, onProgress?: (written: number) => void): Promise<'written' | 'mounted'> {
    const { repository } = this.reference;
    const seen = (await this.options.locations?.repositoriesOf(this.client.registry, descriptor.digest)) ?? [];
    const candidates = [...new Set([...(this.options.mountFrom ?? []), ...seen])].filter((from) => from !== repository);
    for (const from of candidates.slice(0, mountAttempts)) {
      if (await this.client.mountBlob(repository, descriptor.digest, from)) {
        onProgress?.(descriptor.size);
        await this.remember(descriptor);
        return 'mounted';
      }
    }
    await this.client.uploadBlob(repository, descriptor, open, { chunkSize: this.options.chunkSize, onProgress });
    await this.remember(descriptor);
    return 'written';
  }

  private async remember(descriptor: Descriptor): Promise<void> {
    await this.options.locations?.remember(this.client.registry, this.reference.repository, descriptor.digest);
  }

  async writeManifest(descriptor: Descriptor, bytes: Buffer): Promise<void> {
    this.manifests.set(descriptor.digest, { bytes, mediaType: descriptor.mediaType });
    await this.client.putManifest(this.reference.repository, descriptor.digest, bytes, descriptor.mediaType);
  }

  async finish(root: Descriptor): Promise<void> {
    if (this.reference.digest) {
      if (this.reference.digest !== root.digest) throw new TransferError(`the destination names ${this.reference.digest}, but the image is ${root.digest}: push by tag, or by the image's own digest`);
      return;
    }
    const tag = referenceOf(this.reference);
    const manifest = this.manifests.get(root.digest);
    if (!manifest) throw new Error(`the root ${root.digest} was not written before it was tagged`);
    await this.client.putManifest(this.reference.repository, tag, manifest.bytes, manifest.mediaType);
  }

  async close(): Promise<void> {}
}
