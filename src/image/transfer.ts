import type { Descriptor, Platform } from './descriptor.js';
import { isImageManifest, isIndex } from './descriptor.js';
import type { ImageSink, ImageSource } from './image-endpoint.js';
import { formatPlatform, matchPlatform } from './platform.js';

/**
 * The one graph walk behind push, pull and copy: from the root the source names, through an
 * index's manifests, to each image's config and layers. Blobs go first and in parallel; a
 * manifest is written only after everything it refers to, so the destination never holds a
 * manifest whose content is missing, whatever point an interruption stops at.
 */

/** What the walk tells its caller as it goes (progress display, --json summary). */
export interface TransferEvents {
  /** A blob is about to be written (it was not in the destination). */
  blobStarted?(descriptor: Descriptor): void;
  /** Bytes of a blob the destination has acknowledged so far. */
  blobProgress?(descriptor: Descriptor, written: number): void;
  /** A blob is in place: copied, or found already there. */
  blobDone?(descriptor: Descriptor, outcome: BlobOutcome): void;
  manifestDone?(descriptor: Descriptor): void;
}

/** `exists`: the destination had it; `mounted`: it took it from another repository; `copied`: its bytes were sent. */
export type BlobOutcome = 'exists' | 'mounted' | 'copied';

export interface TransferOptions {
  /**
   * Which part of an index to move: one platform's image (the index itself is then left out
   * and the image becomes the root), or `all` for the whole index. Default `all`.
   */
  platform?: Platform | 'all';
  /** Blobs written at once (default 4). */
  concurrency?: number;
  events?: TransferEvents;
}

export interface TransferResult {
  /** The root as written to the destination (the chosen platform's manifest when one was picked). */
  root: Descriptor;
  /** Blobs whose bytes were sent, and how many bytes. */
  copiedBlobs: number;
  copiedBytes: number;
  /** Blobs the destination already had. */
  existingBlobs: number;
  /** Blobs the destination mounted from another of its repositories. */
  mountedBlobs: number;
  manifests: number;
}

/** Thrown when the source's content cannot be moved as asked (no such platform, unknown media type). */
export class TransferError extends Error {
  override readonly name = 'TransferError';
}

/** Layers that a registry must not be asked to store (Windows foreign layers). */
const nonDistributable = /\.nondistributable\.|\.foreign\./;

interface ImageManifest {
  config: Descriptor;
  layers: Descriptor[];
}

interface ImageIndex {
  manifests: Descriptor[];
}

/** Moves the image (or index) the source names into the sink, then names it there. */
export async function transfer(source: ImageSource, sink: ImageSink, options: TransferOptions = {}): Promise<TransferResult> {
  const walk = new Walk(source, sink, options);
  let root = await source.root();
  if (isIndex(root.mediaType) && options.platform !== undefined && options.platform !== 'all') {
    root = await walk.pickPlatform(root, options.platform);
  }
  await walk.manifest(root);
  await sink.finish(root);
  return { root, ...walk.counts };
}

/** The state of one transfer: counts, and blobs already handled (layers shared between images). */
class Walk {
  readonly counts = { copiedBlobs: 0, copiedBytes: 0, existingBlobs: 0, mountedBlobs: 0, manifests: 0 };
  private readonly blobs = new Map<string, Promise<void>>();
  private readonly limit: Limiter;

  constructor(
    private readonly source: ImageSource,
    private readonly sink: ImageSink,
    private readonly options: TransferOptions,
  ) {
    this.limit = new Limiter(options.concurrency ?? 4);
  }

  async pickPlatform(index: Descriptor, wanted: Platform): Promise<Descriptor> {
    const parsed = parseJson<ImageIndex>(await this.source.fetchBytes(index), index);
    const chosen = matchPlatform(parsed.manifests ?? [], wanted);
    if (!chosen) {
      const offered = (parsed.manifests ?? [])
        .map((m) => (m.platform ? formatPlatform(m.platform) : undefined))
        .filter((text): text is string => text !== undefined);
      throw new TransferError(`no image for platform ${formatPlatform(wanted)} in the index (it has: ${offered.join(', ') || 'none'}); use --platform or --all-platforms`);
    }
    return chosen;
  }

  /** Moves a manifest and everything under it, then the manifest itself. */
  async manifest(descriptor: Descriptor): Promise<void> {
    const bytes = await this.source.fetchBytes(descriptor);
    if (isIndex(descriptor.mediaType)) {
      const index = parseJson<ImageIndex>(bytes, descriptor);
      // Children one after another: each already runs its blobs in parallel, and a registry
      // sees the shared layers of sibling platforms once.
      for (const child of index.manifests ?? []) await this.manifest(child);
    } else if (isImageManifest(descriptor.mediaType) || looksLikeImageManifest(bytes)) {
      const image = parseJson<ImageManifest>(bytes, descriptor);
      if (!image.config || !Array.isArray(image.layers)) throw new TransferError(`manifest ${descriptor.digest} has no config or layers`);
      const blobs = [image.config, ...image.layers].filter((blob) => !(nonDistributable.test(blob.mediaType) && blob.urls?.length));
      await Promise.all(blobs.map((blob) => this.blob(blob)));
    } else {
      throw new TransferError(`${descriptor.digest}: cannot copy content of media type ${descriptor.mediaType}`);
    }
    await this.sink.writeManifest(descriptor, bytes);
    this.counts.manifests++;
    this.options.events?.manifestDone?.(descriptor);
  }

  /** Moves one blob once, however many manifests list it. */
  blob(descriptor: Descriptor): Promise<void> {
    let done = this.blobs.get(descriptor.digest);
    if (!done) {
      done = this.limit.run(() => this.copyBlob(descriptor));
      this.blobs.set(descriptor.digest, done);
    }
    return done;
  }

  private async copyBlob(descriptor: Descriptor): Promise<void> {
    const events = this.options.events;
    if (await this.sink.hasBlob(descriptor)) {
      this.counts.existingBlobs++;
      events?.blobDone?.(descriptor, 'exists');
      return;
    }
    events?.blobStarted?.(descriptor);
    const how = await this.sink.writeBlob(
      descriptor,
      (offset) => this.source.openBlob(descriptor, offset),
      events?.blobProgress ? (written) => events.blobProgress!(descriptor, written) : undefined,
    );
    if (how === 'mounted') {
      this.counts.mountedBlobs++;
    } else {
      this.counts.copiedBlobs++;
      this.counts.copiedBytes += descriptor.size;
    }
    events?.blobDone?.(descriptor, how === 'mounted' ? 'mounted' : 'copied');
  }
}

/** Runs at most `limit` tasks at once, the rest in the order they came. */
class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

/** Schema-less manifests (no mediaType field and a generic Content-Type) are recognised by shape. */
function looksLikeImageManifest(bytes: Buffer): boolean {
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as Partial<ImageManifest>;
    return typeof parsed.config === 'object' && Array.isArray(parsed.layers);
  } catch {
    return false;
  }
}

function parseJson<T>(bytes: Buffer, descriptor: Descriptor): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (error) {
    throw new TransferError(`${descriptor.digest} (${descriptor.mediaType}) is not valid JSON`, { cause: error });
  }
}
