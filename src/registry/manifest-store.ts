import { digestBytes, parseDigest, type Digest } from '../protocol/digest.js';
import { RegistryError } from '../protocol/errors.js';
import { isValidTag } from '../protocol/names.js';
import type { StorageDriver } from '../storage/driver.js';
import { imageMediaTypes, indexMediaTypes } from '../protocol/media-types.js';
import { paths } from '../storage/paths.js';
import { forNewReference, type BlobStore } from './blob-store.js';
import { BoundedCache } from './bounded-cache.js';
import { defaultLimits } from './limits.js';
import { deleteIfPresent, listOrEmpty, readLink, writeLink } from './links.js';
import { parseManifest, storedMediaType, type Descriptor, type ParsedManifest } from './manifest-parser.js';
import { repositoryExists } from './repository.js';
import type { TagStore } from './tag-store.js';

/** A manifest reference from a URL: a tag or a digest (already checked against the grammar). */
export type Reference = { readonly tag: string } | { readonly digest: Digest };


export interface StoredManifest {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly bytes: Buffer;
}

export interface PutResult {
  readonly digest: Digest;
  /** The manifest's media type, as stored (for events). */
  readonly mediaType: string;
  readonly subject?: Digest;
}

export interface PutOptions {
  /**
   * Skip the check that everything the manifest references is in the repository. Only for a
   * manifest whose digest was verified against a registry that holds it all: the pull-through
   * cache stores upstream manifests at once and fetches their blobs when clients ask for them.
   */
  readonly referencesElsewhere?: boolean;
}

/** Parses a URL reference segment: a digest when it has the digest grammar, else a tag. */
export function parseReference(text: string): Reference | undefined {
  if (text.includes(':')) {
    const digest = parseDigest(text);
    return digest && { digest };
  }
  return isValidTag(text) ? { tag: text } : undefined;
}

/**
 * What the cache of manifest bytes may hold. 16 MiB keeps about 16,000 typical manifests (1 KiB),
 * more than the hot set of a CI registry, and a small share of the 256 MiB all of Berth may use
 * (issue #6); it was 64 MiB, which a 10-minute soak never filled, so memory grew all along.
 */
const manifestCacheBytes = 16 * 1024 * 1024;
/** The cost of one entry beside its bytes (map entry, key string, Buffer object), rounded up. */
const cacheEntryOverhead = 256;

/**
 * A copy of `bytes` in an allocation of its own. Small Buffers are slices of Node's shared 8 KiB
 * pool (Buffer.concat, fs reads), and a cached slice keeps its whole slab alive: a heap snapshot
 * of a soak showed about 2.8 KiB held per cached manifest of under 1 KiB.
 */
function ownCopy(bytes: Buffer): Buffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}

/**
 * Manifests of a repository. The bytes are stored exactly as pushed, as a blob under their
 * digest; the repository sees them through `_manifests/revisions` links, and tags point at
 * revisions. Manifest bytes are immutable under their digest, so they are cached by digest;
 * the revision link is still checked on every read, so a delete is seen at once.
 */
export class ManifestStore {
  private readonly bytesCache = new BoundedCache<Buffer>(manifestCacheBytes, (bytes) => bytes.length + cacheEntryOverhead, 'manifests');

  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
    private readonly tags: TagStore,
    /** Told after a revision is written: the repository holds content (the catalog index lists it). */
    private readonly onRepositoryContent: (name: string) => void = () => {},
    /** `limits.manifestdepth`, checked on every push. */
    private readonly maxDepth: number = defaultLimits.manifestDepth,
  ) {}

  async put(name: string, reference: Reference, bytes: Buffer, contentType?: string, options: PutOptions = {}): Promise<PutResult> {
    const manifest = parseManifest(bytes, contentType, { maxDepth: this.maxDepth });
    const algorithm = 'digest' in reference ? reference.digest.algorithm : 'sha256';
    const digest = digestBytes(bytes, algorithm);
    if ('digest' in reference && reference.digest.text !== digest.text) {
      throw new RegistryError('DIGEST_INVALID', {
        message: `manifest has digest ${digest.text}, not ${reference.digest.text} as in the URL`,
        detail: { expected: reference.digest.text, actual: digest.text },
      });
    }
    if (!options.referencesElsewhere) await this.checkReferences(name, manifest);
    await this.blobs.putBytes(digest, bytes);
    const revision = paths.revisionLink(name, digest);
    const hadRevision = (await readLink(this.driver, revision))?.text === digest.text;
    await writeLink(this.driver, revision, digest);
    // Online garbage collection may have marked a referenced blob after the check above. It
    // re-reads the revisions written since its mark began before it deletes anything, so a mark
    // made after this second check sees our revision and is dropped; a mark made before it is
    // seen here, and the push is undone and fails cleanly (the client pushes the blob again).
    // Nothing is tagged before this check, so the revision is all there is to undo.
    try {
      if (!options.referencesElsewhere) await this.checkReferences(name, manifest);
      await this.blobs.putBytes(digest, bytes);
    } catch (error) {
      // A revision that was there before this push belongs to an earlier one: it stays.
      if (!hadRevision) await deleteIfPresent(this.driver, paths.revisionLinkDirectory(name, digest));
      throw error;
    }
    this.onRepositoryContent(name);
    if ('tag' in reference) await this.tags.set(name, reference.tag, digest);
    this.bytesCache.set(digest.text, ownCopy(bytes));
    return { digest, mediaType: manifest.mediaType, subject: manifest.subject?.digest };
  }

  /** MANIFEST_UNKNOWN (or NAME_UNKNOWN for a repository that does not exist) when absent. */
  async get(name: string, reference: Reference): Promise<StoredManifest> {
    const digest = await this.resolve(name, reference);
    const bytes = await this.read(digest);
    return { digest, mediaType: storedMediaType(bytes), bytes };
  }

  /** The digest a reference names, if the repository holds that revision. */
  async resolve(name: string, reference: Reference): Promise<Digest> {
    const digest = 'digest' in reference ? reference.digest : await this.tags.resolve(name, reference.tag);
    if (digest && (await readLink(this.driver, paths.revisionLink(name, digest)))?.text === digest.text) return digest;
    if (!(await repositoryExists(this.driver, name))) {
      throw new RegistryError('NAME_UNKNOWN', { detail: { name } });
    }
    throw new RegistryError('MANIFEST_UNKNOWN', {
      detail: 'tag' in reference ? { tag: reference.tag } : { digest: reference.digest.text },
    });
  }

  /**
   * By tag: removes only the tag. By digest: removes the revision and every tag that points at
   * it (the bytes stay until garbage collection).
   */
  async delete(name: string, reference: Reference): Promise<void> {
    if ('tag' in reference) {
      if (await this.tags.remove(name, reference.tag)) return;
      throw new RegistryError('MANIFEST_UNKNOWN', { detail: { tag: reference.tag } });
    }
    const digest = await this.resolve(name, reference);
    for (const tag of await this.tags.pointingAt(name, digest)) await this.tags.remove(name, tag);
    await deleteIfPresent(this.driver, paths.revisionLinkDirectory(name, digest));
  }

  /** Digests of every manifest revision of the repository. */
  async revisions(name: string): Promise<Digest[]> {
    const found: Digest[] = [];
    for (const algorithm of ['sha256', 'sha512']) {
      for (const hex of await listOrEmpty(this.driver, paths.revisionsOf(name, algorithm))) {
        const digest = parseDigest(`${algorithm}:${hex}`);
        if (digest) found.push(digest);
      }
    }
    return found;
  }

  /** Manifest bytes by digest, from the cache or the blob store. */
  async read(digest: Digest): Promise<Buffer> {
    const cached = this.bytesCache.get(digest.text);
    if (cached) return cached;
    const bytes = await this.blobs.getBytes(digest);
    this.bytesCache.set(digest.text, ownCopy(bytes));
    return bytes;
  }

  /**
   * Every blob and child manifest the manifest names must be in the repository, at the stated
   * size, with its content in storage (not just in the descriptor cache) and not marked for
   * deletion by garbage collection. A child of an index must be a manifest revision of the
   * repository (a layer of the same digest is not one), of the kind its descriptor says.
   *
   * Cycles cannot form: a child must be stored before an index can name it, and an index cannot
   * name its own digest (that would need a hash of its own bytes inside those bytes).
   */
  private async checkReferences(name: string, manifest: ParsedManifest): Promise<void> {
    const required = [...manifest.blobs, ...manifest.children];
    const found = await Promise.all(
      required.map((descriptor) =>
        this.blobs.statInRepository(name, descriptor.digest, forNewReference).catch((error: unknown) => {
          if (error instanceof RegistryError && error.code === 'BLOB_UNKNOWN') return undefined;
          throw error;
        }),
      ),
    );
    required.forEach((descriptor, i) => {
      const blob = found[i];
      if (!blob) throw blobUnknown(name, descriptor);
      if (blob.size !== descriptor.size) {
        throw new RegistryError('MANIFEST_INVALID', {
          message: `descriptor of ${descriptor.digest.text} says ${descriptor.size} bytes, but the blob has ${blob.size}`,
          detail: { digest: descriptor.digest.text, size: blob.size },
        });
      }
    });
    await Promise.all(manifest.children.map((child) => this.checkChild(name, child)));
  }

  /**
   * A child of an index is a revision of the repository, and an index where its descriptor says
   * index, an image manifest where it says image manifest. Docker and OCI spellings of the same
   * kind are both accepted (tools mix them), and a descriptor media type that names neither
   * kind is not checked.
   */
  private async checkChild(name: string, child: Descriptor): Promise<void> {
    if ((await readLink(this.driver, paths.revisionLink(name, child.digest)))?.text !== child.digest.text) {
      throw blobUnknown(name, child);
    }
    const said = manifestKind(child.mediaType);
    if (said === undefined) return;
    const stored = storedMediaType(await this.read(child.digest));
    const actual = manifestKind(stored);
    if (actual !== undefined && actual !== said) {
      throw new RegistryError('MANIFEST_INVALID', {
        message: `descriptor of ${child.digest.text} says ${child.mediaType}, but that manifest is ${stored}`,
        detail: { digest: child.digest.text, mediaType: stored },
      });
    }
  }
}

function blobUnknown(name: string, descriptor: Descriptor): RegistryError {
  return new RegistryError('MANIFEST_BLOB_UNKNOWN', {
    message: `manifest references ${descriptor.digest.text}, which is not in repository ${name}`,
    detail: { digest: descriptor.digest.text },
  });
}

/** `index` or `image` for the manifest media types, undefined for anything else. */
function manifestKind(mediaType: string): 'index' | 'image' | undefined {
  if (indexMediaTypes.has(mediaType)) return 'index';
  if (imageMediaTypes.has(mediaType)) return 'image';
  return undefined;
}
