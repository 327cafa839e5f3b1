import type { Hash } from 'node:crypto';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { digestOf, newHash, type Digest } from '../protocol/digest.js';
import type { UploadSessions } from '../registry/uploads.js';

/** The bytes of a download as they arrive, for the client that started it. */
export interface LiveBlob {
  /** Bytes the stream will give, when the upstream said (Content-Length). */
  readonly size: number | undefined;
  /**
   * Ends only after the whole content matched the digest; on a mismatch or an upstream failure
   * it fails before its last bytes, so the client never takes a wrong or short body for a whole one.
   */
  readonly stream: Readable;
}

export interface BlobDownload {
  /** Present when the caller asked to follow the download live. */
  readonly live: LiveBlob | undefined;
  /** Settles when the content is in the blob store and linked into the repository, or failed to be. */
  readonly stored: Promise<void>;
}

/**
 * Writes an upstream blob into the cache while passing it on: the bytes go to an upload session
 * of the repository (so they land in the blob store only after the upload's own digest check,
 * and are linked into the repository as a pushed blob would be) and, with `live`, to the client
 * that asked, as they arrive. The download goes at the pace of the slower of the two; a client
 * that goes away stops counting, and the download goes on into storage for the clients waiting
 * on `stored`.
 */
export async function downloadIntoCache(
  uploads: UploadSessions,
  repository: string,
  digest: Digest,
  upstream: { body: Readable; length: number | undefined },
  live: boolean,
): Promise<BlobDownload> {
  let id: string;
  try {
    id = await uploads.start(repository, digest.algorithm);
  } catch (error) {
    upstream.body.destroy();
    throw error;
  }
  const checked = new DigestCheck(digest, upstream.length);
  const toStorage = new PassThrough();
  const toClient = live ? new HoldLastChunk() : undefined;
  upstream.body.on('error', (error) => checked.destroy(error));
  checked.on('error', (error) => {
    toStorage.destroy(error);
    toClient?.destroy(error);
  });
  upstream.body.pipe(checked);
  checked.pipe(toStorage);
  // A client that goes away closes its stream, and pipe() then stops feeding it (the rest goes to storage).
  if (toClient) checked.pipe(toClient);
  const stored = (async () => {
    try {
      await uploads.append(repository, id, toStorage);
      await uploads.complete(repository, id, digest);
    } catch (error) {
      upstream.body.destroy();
      await uploads.cancel(repository, id).catch(() => undefined);
      throw error;
    }
  })();
  return { live: toClient && { size: upstream.length, stream: toClient }, stored };
}

/** Passes bytes through, and fails at the end unless they have the digest (and the announced length). */
class DigestCheck extends Transform {
  private readonly hash: Hash;
  private length = 0;

  constructor(
    private readonly digest: Digest,
    private readonly announced: number | undefined,
  ) {
    super();
    this.hash = newHash(digest.algorithm);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.length += chunk.length;
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const actual = digestOf(this.hash, this.digest.algorithm);
    if (actual.text !== this.digest.text) done(new BlobDigestMismatchError(this.digest.text, actual.text));
    else if (this.announced !== undefined && this.announced !== this.length) done(new Error(`upstream sent ${this.length} bytes of ${this.digest.text}, announced ${this.announced}`));
    else done();
  }
}

/**
 * Keeps the latest chunk back until the next one comes, and the last one until the input ends
 * well: the input ends only after DigestCheck approved the content, so a client whose body was
 * wrong is missing its last bytes and sees a broken download, never a complete wrong one.
 */
class HoldLastChunk extends Transform {
  private held: Buffer | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const previous = this.held;
    this.held = chunk;
    done(null, previous);
  }

  override _flush(done: TransformCallback): void {
    done(null, this.held);
  }
}

/** The upstream's bytes do not have the digest they were asked for. */
export class BlobDigestMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`upstream content of ${expected} has digest ${actual}`);
    this.name = 'BlobDigestMismatchError';
  }
}
