import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { digestBytes, newHash } from '../protocol/digest.js';
import { mediaTypes, type Descriptor } from './descriptor.js';
import { BlobMissingError, ImageRefNotFoundError, InvalidImageError } from './image-errors.js';
import type { ImageSource } from './image-endpoint.js';
import { verifyBytes } from './content-check.js';
import { checkLayoutMarker, layoutBlobPath, maxSmallObjectSize, parseLayoutIndex, selectRoot } from './oci-layout.js';
import { TarIndex, detectCompression, type TarEntry } from './tar-index.js';

/**
 * Images in a tarball, read in place through a tar index (nothing is extracted):
 * - an OCI layout tarball (`index.json` + `oci-layout` at the top; `docker save` from Docker 25
 *   on writes one too, next to its legacy `manifest.json`), read like a layout directory;
 * - a legacy `docker save` tarball (`manifest.json`: `[{Config, RepoTags, Layers}]`), for which a
 *   Docker schema 2 manifest is made up, since the archive holds none.
 *
 * A gzip-compressed tarball is refused with UnsupportedFormatError rather than decompressed to a
 * temporary file: the user can `gunzip` it once, while decompressing on every push would cost
 * the disk space and time this format is read in place to avoid.
 */

/** `docker save`'s manifest.json: one entry per image in the archive. */
interface LegacyManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/**
 * Media type of the uncompressed layers of a legacy archive. Docker's own name for an
 * uncompressed layer is used (not the OCI one) because the made-up manifest is a Docker schema 2
 * manifest, whose layers Docker names; the reference registry (docker-registry), Berth and skopeo
 * accept it (checked in layout-archive.test.ts by pushing through skopeo into docker-registry).
 */
export const dockerLayerTar = 'application/vnd.docker.image.rootfs.diff.tar';

/**
 * Opens the tarball at `path` as an image source. `refName` picks an image: for an OCI layout,
 * an index.json entry's ref.name (or full image name); for a legacy archive, one of the RepoTags,
 * as written (`repo:tag`) or as the tag alone. Without it: the only image, or for a legacy
 * archive the first.
 */
export async function openArchive(path: string, refName?: string): Promise<ImageSource> {
  const tar = await TarIndex.open(path);
  if (tar.get('index.json') && tar.get('oci-layout')) return new ArchiveLayoutSource(tar, refName);
  if (tar.get('manifest.json')) return LegacyArchiveSource.create(tar, refName);
  throw new InvalidImageError(`${path} is neither an OCI layout tarball nor a docker save tarball`);
}

async function readEntry(tar: TarIndex, entry: TarEntry): Promise<Buffer> {
  if (entry.size > maxSmallObjectSize) throw new InvalidImageError(`${entry.name} is too large to be a manifest or config`);
  return await buffer(tar.openEntry(entry));
}

/** Blobs read in place from entries of an uncompressed tarball; subclasses say which entry holds which blob. */
abstract class TarBlobSource implements ImageSource {
  constructor(protected readonly tar: TarIndex) {}

  abstract root(): Promise<Descriptor>;

  /** The entry holding the blob; BlobMissingError when there is none. */
  protected abstract blob(descriptor: Descriptor): TarEntry;

  async fetchBytes(descriptor: Descriptor): Promise<Buffer> {
    const bytes = await readEntry(this.tar, this.blob(descriptor));
    verifyBytes(descriptor, bytes);
    return bytes;
  }

  async openBlob(descriptor: Descriptor, offset = 0): Promise<Readable> {
    return this.tar.openEntry(this.blob(descriptor), offset);
  }

  async close(): Promise<void> {}
}

/** An OCI layout packed in a tarball. */
class ArchiveLayoutSource extends TarBlobSource {
  constructor(
    tar: TarIndex,
    private readonly refName: string | undefined,
  ) {
    super(tar);
  }

  async root(): Promise<Descriptor> {
    const marker = this.tar.resolve('oci-layout');
    checkLayoutMarker(marker && (await readEntry(this.tar, marker)), this.tar.path);
    const index = this.tar.resolve('index.json');
    if (!index) throw new InvalidImageError(`${this.tar.path}: index.json is not a file`);
    return selectRoot(parseLayoutIndex(await readEntry(this.tar, index), this.tar.path), this.refName);
  }

  protected blob(descriptor: Descriptor): TarEntry {
    const entry = this.tar.resolve(layoutBlobPath(descriptor));
    if (!entry || entry.type !== 'file') throw new BlobMissingError(descriptor.digest);
    return entry;
  }
}

/** A legacy `docker save` archive, seen through a synthesized Docker schema 2 manifest. */
class LegacyArchiveSource extends TarBlobSource {
  private constructor(
    tar: TarIndex,
    private readonly manifest: { descriptor: Descriptor; bytes: Buffer },
    /** Config and layers by digest. */
    private readonly blobs: Map<string, TarEntry>,
  ) {
    super(tar);
  }

  static async create(tar: TarIndex, refName: string | undefined): Promise<LegacyArchiveSource> {
    const image = pickImage(await readLegacyManifest(tar), refName, tar.path);
    const configEntry = tar.resolve(image.Config);
    if (!configEntry || configEntry.type !== 'file') throw new InvalidImageError(`${tar.path}: config ${image.Config} is missing`);
    const configBytes = await readEntry(tar, configEntry);
    const blobs = new Map<string, TarEntry>();
    const config: Descriptor = { mediaType: mediaTypes.dockerConfig, digest: digestBytes(configBytes).text, size: configBytes.length };
    blobs.set(config.digest, configEntry);
    const layers: Descriptor[] = [];
    for (const name of image.Layers) {
      const entry = tar.resolve(name);
      if (!entry || entry.type !== 'file') throw new InvalidImageError(`${tar.path}: layer ${name} is missing`);
      const layer = await describeLayer(tar, entry);
      blobs.set(layer.digest, entry);
      layers.push(layer);
    }
    const manifest = { schemaVersion: 2, mediaType: mediaTypes.dockerManifest, config, layers };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const descriptor: Descriptor = { mediaType: mediaTypes.dockerManifest, digest: digestBytes(bytes).text, size: bytes.length };
    return new LegacyArchiveSource(tar, { descriptor, bytes }, blobs);
  }

  async root(): Promise<Descriptor> {
    return this.manifest.descriptor;
  }

  /** The manifest is made up in memory; everything else is in the archive. */
  override async fetchBytes(descriptor: Descriptor): Promise<Buffer> {
    if (descriptor.digest === this.manifest.descriptor.digest) return this.manifest.bytes;
    return super.fetchBytes(descriptor);
  }

  protected blob(descriptor: Descriptor): TarEntry {
    const entry = this.blobs.get(descriptor.digest);
    if (!entry) throw new BlobMissingError(descriptor.digest);
    return entry;
  }
}

async function readLegacyManifest(tar: TarIndex): Promise<LegacyManifestEntry[]> {
  const entry = tar.resolve('manifest.json');
  if (!entry) throw new InvalidImageError(`${tar.path}: manifest.json is not a file`);
  let parsed: unknown;
  try {
    parsed = JSON.parse((await readEntry(tar, entry)).toString('utf8'));
  } catch (cause) {
    throw new InvalidImageError(`${tar.path}: manifest.json is not JSON`, { cause });
  }
  const valid =
    Array.isArray(parsed) &&
    parsed.every(
      (image: LegacyManifestEntry) =>
        typeof image?.Config === 'string' && Array.isArray(image.Layers) && image.Layers.every((layer) => typeof layer === 'string'),
    );
  if (!valid) throw new InvalidImageError(`${tar.path}: manifest.json does not list images as docker save writes them`);
  return parsed as LegacyManifestEntry[];
}

/** The tag part of `repo:tag` (a colon before the last slash belongs to a registry port). */
function tagOf(repoTag: string): string {
  const colon = repoTag.lastIndexOf(':');
  return colon > repoTag.lastIndexOf('/') ? repoTag.slice(colon + 1) : '';
}

function pickImage(images: LegacyManifestEntry[], refName: string | undefined, where: string): LegacyManifestEntry {
  const tags = images.flatMap((image) => image.RepoTags ?? []);
  if (images.length === 0) throw new ImageRefNotFoundError(refName, [], `${where} holds no image`);
  if (refName === undefined) return images[0]!;
  const found =
    images.find((image) => image.RepoTags?.includes(refName)) ?? images.find((image) => image.RepoTags?.some((tag) => tagOf(tag) === refName));
  if (!found) throw new ImageRefNotFoundError(refName, tags);
  return found;
}

/**
 * A layer's descriptor, hashing the entry once as it streams. Layers of `docker save` are
 * uncompressed tars; one that is compressed after all (some tools write those) keeps its bytes
 * and gets the matching media type, since the digest must be of the bytes as stored.
 */
async function describeLayer(tar: TarIndex, entry: TarEntry): Promise<Descriptor> {
  const hash = newHash('sha256');
  let head: Buffer | undefined;
  const stream = tar.openEntry(entry);
  stream.on('data', (chunk: Buffer) => {
    head ??= chunk.subarray(0, 8);
    hash.update(chunk);
  });
  await once(stream, 'end');
  const digest = `sha256:${hash.digest('hex')}`;
  const compression = head && detectCompression(head);
  const mediaType = compression === 'gzip' ? mediaTypes.dockerLayerGzip : compression === 'zstd' ? mediaTypes.ociLayerZstd : dockerLayerTar;
  return { mediaType, digest, size: entry.size };
}
