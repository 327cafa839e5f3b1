import { randomUUID, type Hash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { digestOf, newHash, type Digest, type DigestAlgorithm } from '../protocol/digest.js';
import { RegistryError } from '../protocol/errors.js';
import { isNotFound, type StorageDriver } from '../storage/driver.js';
import { paths } from '../storage/paths.js';
import type { BlobDescriptor, BlobStore } from './blob-store.js';
import { BoundedCache } from './bounded-cache.js';
import { KeyedMutex } from './keyed-mutex.js';
import { detachable } from './detachable-source.js';
import { deleteIfPresent } from './links.js';

/** Upload ids are UUIDs we made; anything else is unknown (and never reaches a path). */
const uploadIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isValidUploadId(id: string): boolean {
  return uploadIdPattern.test(id);
}

/** A chunk's place in the blob as the client states it (`Content-Range: start-end`, inclusive). */
export interface ChunkRange {
  start: number;
  end: number;
}

export interface ChunkOptions {
  range?: ChunkRange;
  /** The chunk's length when the client declared it (Content-Length), to refuse an oversize chunk before reading it. */
  length?: number;
  signal?: AbortSignal;
}

/** The running digest of an upload, valid for the first `offset` bytes of its data file. */
interface HashState {
  algorithm: DigestAlgorithm;
  hash: Hash;
  offset: number;
}

/**
 * Running digests kept at once. An upload whose chunks move to another replica leaves its entry
 * here for good, so the oldest are dropped; a dropped digest is recomputed from storage.
 */
const hashStatesKept = 4096;

/**
 * Blob upload sessions. The session and its bytes live in storage (`_uploads/<id>`), so a
 * session survives a restart and can go on in another process. The running digest is kept in
 * memory as a fast path; when it is missing or stale (another process appended, or a chunk was
 * interrupted half way) the digest is computed again from the stored bytes.
 *
 * Across processes nothing is locked (within one process a session's requests run one at a
 * time). The spec has a client send one chunk after the other, each after the answer to the
 * previous one, so a session is only ever written by one request at a time, wherever each lands.
 * What holds even for a client that breaks this: the in-memory digest is used only when the
 * stored size is exactly what this process hashed (checked after each chunk), so a chunk that
 * another process appended meanwhile forces a recomputation from the stored bytes; and content
 * only becomes a blob when the digest of the stored bytes matches. Chunks sent at the same time
 * can interleave in the stored bytes; the closing PUT then fails with DIGEST_INVALID. A chunk
 * still being written on one replica while the closing PUT completes the session on another is
 * not detected on every driver: that client gets its own upload wrong, which the digest check
 * of every pulling client reports.
 */
export class UploadSessions {
  private readonly hashes = new BoundedCache<HashState>(hashStatesKept);
  private readonly mutex = new KeyedMutex();

  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
    /** `limits.uploadsize`: the most bytes one upload may hold; 0 for no limit. */
    private readonly maxBytes = 0,
  ) {}

  async start(name: string, algorithm: DigestAlgorithm = 'sha256'): Promise<string> {
    const id = randomUUID();
    try {
      await this.driver.putContent(paths.uploadStartedAt(name, id), Buffer.from(new Date().toISOString()));
      await this.driver.putContent(paths.uploadData(name, id), new Uint8Array());
    } catch (error) {
      // No client knows this id: a half-made session (storage full, an I/O error) would only wait for the purger.
      await this.discard(name, id).catch(() => undefined);
      throw error;
    }
    this.hashes.set(key(name, id), { algorithm, hash: newHash(algorithm), offset: 0 });
    return id;
  }

  /** Bytes received so far. BLOB_UPLOAD_UNKNOWN when there is no such session. */
  async offset(name: string, id: string): Promise<number> {
    return await this.size(name, id);
  }

  /** Appends a chunk and returns the new offset. Out-of-order chunks get 416 and change nothing. */
  async append(name: string, id: string, source: Readable, options: ChunkOptions = {}): Promise<number> {
    return await this.mutex.run(key(name, id), () => this.appendLocked(name, id, source, options));
  }

  /**
   * Ends the session: appends the final chunk if any, checks the digest of the whole content,
   * then moves it into the blob store and links it into the repository. On a digest mismatch
   * the session is discarded and nothing is stored.
   */
  async complete(
    name: string,
    id: string,
    expected: Digest,
    finalChunk?: { source: Readable; options: ChunkOptions },
  ): Promise<BlobDescriptor> {
    return await this.mutex.run(key(name, id), async () => {
      const size = finalChunk
        ? await this.appendLocked(name, id, finalChunk.source, finalChunk.options)
        : await this.size(name, id);
      const state = await this.hashState(name, id, size, expected.algorithm);
      const actual = digestOf(state.hash.copy(), expected.algorithm);
      if (actual.text !== expected.text) {
        await this.discard(name, id);
        throw new RegistryError('DIGEST_INVALID', {
          message: `upload content has digest ${actual.text}, not ${expected.text}`,
          detail: { expected: expected.text, actual: actual.text },
        });
      }
      await this.blobs.ingest(paths.uploadData(name, id), expected, size);
      try {
        await this.blobs.link(name, expected);
      } finally {
        // The data has moved into the blob store: the session cannot go on, whatever the link did.
        await this.discard(name, id);
      }
      return { digest: expected, size };
    });
  }

  async cancel(name: string, id: string): Promise<void> {
    await this.mutex.run(key(name, id), async () => {
      await this.size(name, id);
      await this.discard(name, id);
    });
  }

  private async appendLocked(name: string, id: string, source: Readable, options: ChunkOptions): Promise<number> {
    const before = await this.size(name, id);
    const { range } = options;
    if (range && range.start !== before) {
      source.resume(); // drain what the client sends; the answer does not depend on it
      throw new RegistryError('BLOB_UPLOAD_INVALID', {
        status: 416,
        message: `chunk starts at ${range.start}, but the upload has ${before} bytes: send the chunk starting at ${before}`,
        detail: { offset: before },
      });
    }
    if (this.maxBytes > 0 && before + (options.length ?? 0) > this.maxBytes) {
      source.resume(); // the client still sends its chunk: read and drop it, so the answer reaches it
      await this.discard(name, id);
      throw this.tooLarge(before + options.length!);
    }
    const state = await this.hashState(name, id, before);
    const writer = await this.driver.writer(paths.uploadData(name, id), { append: true });
    let hashed = 0;
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        state.hash.update(chunk);
        hashed += chunk.length;
        callback(null, chunk);
      },
    });
    // When storage fails part way, the client must still get the error answer (see detachable).
    const body = detachable(source);
    const input = this.maxBytes > 0 ? upTo(body.stream, this.maxBytes - before, () => this.tooLarge()) : body.stream;
    try {
      await pipeline(input, hashing, writer.stream, { signal: options.signal });
    } catch (error) {
      body.release();
      // What reached the file is unknown to the hash now: recompute from storage next time.
      this.hashes.delete(key(name, id));
      if (error instanceof UploadTooLargeError) await this.discard(name, id);
      throw error;
    }
    const after = await this.size(name, id);
    // Anything but our bytes right after `before` (another process appended at the same time)
    // means the running digest is not the digest of the stored bytes: recompute it next time.
    if (after === before + hashed) state.offset = after;
    else this.hashes.delete(key(name, id));
    return after;
  }

  /** The running digest for the first `size` bytes, recomputed from storage when needed. */
  private async hashState(
    name: string,
    id: string,
    size: number,
    algorithm?: DigestAlgorithm,
  ): Promise<HashState> {
    const current = this.hashes.get(key(name, id));
    if (current && current.offset === size && (!algorithm || current.algorithm === algorithm)) return current;
    const chosen = algorithm ?? current?.algorithm ?? 'sha256';
    const hash = newHash(chosen);
    if (size > 0) {
      const reader = await this.driver.reader(paths.uploadData(name, id), { offset: 0, end: size - 1 });
      for await (const chunk of reader) hash.update(chunk as Buffer);
    }
    const state = { algorithm: chosen, hash, offset: size };
    this.hashes.set(key(name, id), state);
    return state;
  }

  private async size(name: string, id: string): Promise<number> {
    try {
      return (await this.driver.stat(paths.uploadData(name, id))).size;
    } catch (error) {
      if (isNotFound(error)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', { detail: { uuid: id }, cause: error });
      throw error;
    }
  }

  /** 413 for an upload past `limits.uploadsize`; the session is gone by the time it is thrown. */
  private tooLarge(size?: number): UploadTooLargeError {
    const what = size === undefined ? 'the upload grew' : `the upload would hold ${size} bytes,`;
    return new UploadTooLargeError(`${what} past the limit of ${this.maxBytes} bytes (limits.uploadsize); the upload session is removed`, {
      limit: this.maxBytes,
    });
  }

  private async discard(name: string, id: string): Promise<void> {
    this.hashes.delete(key(name, id));
    await deleteIfPresent(this.driver, paths.upload(name, id));
  }
}

/** BLOB_UPLOAD_INVALID with 413: the upload passed `limits.uploadsize`. */
class UploadTooLargeError extends RegistryError {
  constructor(message: string, detail: { limit: number }) {
    super('BLOB_UPLOAD_INVALID', { status: 413, message, detail });
  }
}

/**
 * The source's bytes while they total at most `room`, then the error. Counted as the bytes
 * stream, for bodies without a Content-Length. The source is the detachable copy of the request
 * (see detachable-source.ts), so failing here leaves the request to `release()`, which drains it
 * and lets the 413 reach the client.
 */
async function* upTo(source: Readable, room: number, tooLarge: () => Error): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    seen += chunk.length;
    if (seen > room) throw tooLarge();
    yield chunk;
  }
}

function key(name: string, id: string): string {
  return `${name}\u0000${id}`;
}
