import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseDigest, type Digest } from '../protocol/digest.js';
import { ContentCheck, descriptorDigest, verifyBytes } from './content-check.js';
import { mediaTypes, type Descriptor } from './descriptor.js';
import { BlobMissingError, ImageRefNotFoundError, InvalidImageError } from './image-errors.js';
import type { ImageSink, ImageSource } from './image-endpoint.js';

/**
 * The OCI image layout (image-spec `image-layout.md`): `oci-layout` (the version marker),
 * `index.json` (the named roots) and `blobs/<alg>/<hex>` (all content, manifests included).
 */

/** The annotation that names an index.json entry (what `oci:DIR:NAME` selects in skopeo). */
export const refNameAnnotation = 'org.opencontainers.image.ref.name';
/** containerd and `docker save` (25+) also record the full image name here. */
const containerdNameAnnotation = 'io.containerd.image.name';
export const layoutVersion = '1.0.0';

/** The parsed `index.json` of a layout. */
export interface LayoutIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** Parses and checks the `oci-layout` marker; throws InvalidImageError when absent or another version. */
export function checkLayoutMarker(bytes: Buffer | undefined, where: string): void {
  if (bytes === undefined) throw new InvalidImageError(`${where} is not an OCI image layout (no oci-layout file)`);
  let version: unknown;
  try {
    version = (JSON.parse(bytes.toString('utf8')) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
  } catch (cause) {
    throw new InvalidImageError(`${where}: oci-layout is not JSON`, { cause });
  }
  if (version !== layoutVersion) {
    throw new InvalidImageError(`${where}: unsupported imageLayoutVersion ${JSON.stringify(version)} (expected ${layoutVersion})`);
  }
}

/** Parses `index.json`, checking just enough of its shape that later code can trust it. */
export function parseLayoutIndex(bytes: Buffer, where: string): LayoutIndex {
  let index: LayoutIndex;
  try {
    index = JSON.parse(bytes.toString('utf8')) as LayoutIndex;
  } catch (cause) {
    throw new InvalidImageError(`${where}: index.json is not JSON`, { cause });
  }
  if (typeof index !== 'object' || index === null || !Array.isArray(index.manifests)) {
    throw new InvalidImageError(`${where}: index.json has no manifests array`);
  }
  for (const entry of index.manifests) {
    if (typeof entry?.mediaType !== 'string' || typeof entry.size !== 'number' || !parseDigest(String(entry.digest))) {
      throw new InvalidImageError(`${where}: index.json has an invalid descriptor ${JSON.stringify(entry)}`);
    }
  }
  return index;
}

/**
 * Picks the root a user named from index.json: the entry whose ref.name (or, for `docker save`
 * tarballs, full containerd image name) equals `refName`; without a name, the only entry.
 */
export function selectRoot(index: LayoutIndex, refName: string | undefined): Descriptor {
  const names = index.manifests.map((entry) => entry.annotations?.[refNameAnnotation]).filter((name): name is string => !!name);
  if (refName === undefined) {
    if (index.manifests.length === 1) return index.manifests[0]!;
    throw new ImageRefNotFoundError(undefined, names, index.manifests.length === 0 ? 'the layout holds no image' : undefined);
  }
  // `docker save` records `docker.io/library/alpine:latest` for what users call `alpine:latest`.
  const fullNames = new Set([refName, `docker.io/${refName}`, `docker.io/library/${refName}`]);
  const found =
    index.manifests.find((entry) => entry.annotations?.[refNameAnnotation] === refName) ??
    index.manifests.find((entry) => fullNames.has(entry.annotations?.[containerdNameAnnotation] ?? ''));
  if (!found) throw new ImageRefNotFoundError(refName, names);
  return found;
}

/** The path of a blob in a layout; throws for a digest that could name anything outside `blobs/`. */
export function layoutBlobPath(descriptor: Descriptor): string {
  const digest = descriptorDigest(descriptor);
  return `blobs/${digest.algorithm}/${digest.hex}`;
}

/** Manifests and configs are small; anything bigger than this in their place is refused unread. */
export const maxSmallObjectSize = 16 * 1024 * 1024;

async function readIfPresent(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Reads an image from an OCI layout directory. */
export class OciLayoutSource implements ImageSource {
  constructor(
    private readonly dir: string,
    private readonly refName?: string,
  ) {}

  async root(): Promise<Descriptor> {
    checkLayoutMarker(await readIfPresent(join(this.dir, 'oci-layout')), this.dir);
    const indexBytes = await readIfPresent(join(this.dir, 'index.json'));
    if (!indexBytes) throw new InvalidImageError(`${this.dir} is not an OCI image layout (no index.json)`);
    return selectRoot(parseLayoutIndex(indexBytes, this.dir), this.refName);
  }

  async fetchBytes(descriptor: Descriptor): Promise<Buffer> {
    if (descriptor.size > maxSmallObjectSize) throw new InvalidImageError(`${descriptor.digest} is too large to be a manifest or config`);
    const bytes = await readIfPresent(join(this.dir, layoutBlobPath(descriptor)));
    if (!bytes) throw new BlobMissingError(descriptor.digest);
    verifyBytes(descriptor, bytes);
    return bytes;
  }

  async openBlob(descriptor: Descriptor, offset = 0): Promise<Readable> {
    const path = join(this.dir, layoutBlobPath(descriptor));
    // Opened here so that a missing blob fails this call, not the first read of the stream.
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobMissingError(descriptor.digest, { cause: error });
      throw error;
    }
    return handle.createReadStream({ start: offset, autoClose: true });
  }

  async close(): Promise<void> {}
}

/**
 * Writes images into an OCI layout directory, creating it when missing. Existing blobs and
 * index.json entries are kept, so several pulls can share one layout; finish() replaces the
 * entry that has the same ref.name. Every file appears under its final name only once complete
 * and verified (written to a temporary name in the same directory, then renamed).
 */
export class OciLayoutSink implements ImageSink {
  private readonly temps = new Set<string>();
  private prepared: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    private readonly refName?: string,
  ) {}

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    try {
      const info = await stat(join(this.dir, layoutBlobPath(descriptor)));
      return info.isFile() && info.size === descriptor.size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  async writeBlob(descriptor: Descriptor, openSource: (offset: number) => Promise<Readable>, onProgress?: (written: number) => void): Promise<'written'> {
    const digest = descriptorDigest(descriptor);
    const folder = await this.blobFolder(digest);
    const temp = this.tempName(folder);
    try {
      // A local file never drops a connection, so there is nothing to resume: one pass from 0.
      await pipeline(await openSource(0), new ContentCheck(descriptor, onProgress), createWriteStream(temp, { flags: 'wx' }));
      await rename(temp, join(folder, digest.hex));
      this.temps.delete(temp);
      return 'written';
    } finally {
      await this.discard(temp);
    }
  }

  async writeManifest(descriptor: Descriptor, bytes: Buffer): Promise<void> {
    verifyBytes(descriptor, bytes);
    const digest = parseDigest(descriptor.digest)!;
    await this.writeAtomically(await this.blobFolder(digest), digest.hex, bytes);
  }

  async finish(root: Descriptor): Promise<void> {
    await this.prepare();
    const path = join(this.dir, 'index.json');
    const index = parseLayoutIndex((await readFile(path)), this.dir);
    const entry: Descriptor = { mediaType: root.mediaType, digest: root.digest, size: root.size };
    if (root.annotations || this.refName !== undefined) {
      entry.annotations = { ...root.annotations };
      if (this.refName !== undefined) entry.annotations[refNameAnnotation] = this.refName;
    }
    index.manifests = index.manifests.filter((existing) =>
      this.refName === undefined
        ? existing.digest !== root.digest || existing.annotations?.[refNameAnnotation] !== undefined
        : existing.annotations?.[refNameAnnotation] !== this.refName,
    );
    index.manifests.push(entry);
    await this.writeAtomically(this.dir, 'index.json', Buffer.from(JSON.stringify(index, null, 2) + '\n'));
  }

  async close(): Promise<void> {
    await Promise.all([...this.temps].map((temp) => this.discard(temp)));
  }

  /** Creates the layout skeleton once; an existing layout must have the version we write. */
  private prepare(): Promise<void> {
    this.prepared ??= (async () => {
      await mkdir(join(this.dir, 'blobs'), { recursive: true });
      const marker = await readIfPresent(join(this.dir, 'oci-layout'));
      if (marker) checkLayoutMarker(marker, this.dir);
      else await this.writeAtomically(this.dir, 'oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: layoutVersion })));
      const index = await readIfPresent(join(this.dir, 'index.json'));
      if (index) parseLayoutIndex(index, this.dir);
      else {
        const empty: LayoutIndex = { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [] };
        await this.writeAtomically(this.dir, 'index.json', Buffer.from(JSON.stringify(empty, null, 2) + '\n'));
      }
    })();
    return this.prepared;
  }

  private async blobFolder(digest: Digest): Promise<string> {
    await this.prepare();
    const folder = join(this.dir, 'blobs', digest.algorithm);
    await mkdir(folder, { recursive: true });
    return folder;
  }

  /** Temporary names start with a dot so that nothing reading `blobs/<alg>/` takes them for a digest. */
  private tempName(folder: string): string {
    const temp = join(folder, `.tmp-${randomUUID()}`);
    this.temps.add(temp);
    return temp;
  }

  private async writeAtomically(folder: string, name: string, bytes: Buffer): Promise<void> {
    const temp = this.tempName(folder);
    try {
      await writeFile(temp, bytes, { flag: 'wx' });
      await rename(temp, join(folder, name));
      this.temps.delete(temp);
    } finally {
      await this.discard(temp);
    }
  }

  private async discard(temp: string): Promise<void> {
    if (!this.temps.has(temp)) return;
    this.temps.delete(temp);
    await rm(temp, { force: true });
  }
}
