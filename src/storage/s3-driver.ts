import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
  type ListObjectsV2CommandOutput,
  type ObjectCannedACL,
  type PutObjectCommandInput,
  type ServerSideEncryption,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { PassThrough, Readable, Writable } from 'node:stream';
import {
  byCodePoint,
  checkPath,
  InvalidOffsetError,
  PathNotFoundError,
  type FileInfo,
  type FileWriter,
  type ReadOptions,
  type StorageDriver,
  type WriteOptions,
} from './driver.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** S3's smallest part: every part of a multipart upload but the last must be at least this big. */
const minPartSize = 5 * MiB;
/** S3's largest part, and the largest object a single CopyObject may copy. */
const maxPartSize = 5 * GiB;
const maxParts = 10_000;
/** DeleteObjects takes at most this many keys. */
const deleteBatch = 1000;
/** How long a presigned redirect URL stays valid (as Distribution). */
const redirectExpirySeconds = 20 * 60;

/**
 * Separates a file's key from the keys of its segments. Path components use only
 * [A-Za-z0-9._-] (see driver.ts), so no path can name a key containing it.
 */
const segmentMark = '@';
/** Segment keys carry their start offset, zero-padded so that they sort in file order. */
const offsetDigits = 15;

/** Options of the S3 driver, as Distribution's `storage.s3` keys name them. */
export interface S3DriverOptions {
  bucket: string;
  region: string;
  /** With secretKey: static credentials. Without: the SDK's chain (AWS_* variables, profiles, instance roles). */
  accessKey?: string;
  secretKey?: string;
  /** A store other than AWS (`http://127.0.0.1:7480`); without a scheme, `secure` picks one. */
  regionEndpoint?: string;
  forcePathStyle?: boolean;
  /** HTTPS when the endpoint names no scheme (default true). */
  secure?: boolean;
  /** Do not verify the store's TLS certificate. */
  skipVerify?: boolean;
  /** Signature version 4 (default true). Version 2 is not available in the AWS SDK for JavaScript. */
  v4auth?: boolean;
  /** Part size of the multipart uploads a writer makes (default 10 MiB, at least 5 MiB). */
  chunkSize?: number;
  /** Part size when a large object is copied part by part (default 32 MiB). */
  multipartCopyChunkSize?: number;
  /** Parts copied at once (default 100). */
  multipartCopyMaxConcurrency?: number;
  /** Objects above this size are copied part by part rather than with one CopyObject (default 32 MiB). */
  multipartCopyThresholdSize?: number;
  /** A key prefix for everything the driver stores. */
  rootDirectory?: string;
  /** Server-side encryption: SSE-KMS with keyId, SSE-S3 (AES256) without. */
  encrypt?: boolean;
  keyId?: string;
  /** Storage class of new objects (default STANDARD; NONE sends none, for stores that refuse the header). */
  storageClass?: string;
  /** A canned ACL for new objects; none is sent unless set (the bucket's default applies). */
  objectAcl?: string;
  userAgent?: string;
  accelerate?: boolean;
  useDualStack?: boolean;
  useFipsEndpoint?: boolean;
}

/** One stored object that makes up part of a file. */
interface Piece {
  readonly key: string;
  /** Where the piece's bytes start in the file. */
  readonly offset: number;
  readonly size: number;
  readonly modTime: Date;
}

/** What is stored for a path: the pieces of a file, and whether there are keys below it. */
interface Layout {
  /** The file in order: the plain object (if any) then the appended segments. Empty: no file. */
  readonly pieces: readonly Piece[];
  /** Every key of the file, including segments left over by a race (deleted with the file). */
  readonly keys: readonly string[];
  readonly size: number;
  readonly modTime: Date;
  readonly isFile: boolean;
  readonly isDirectory: boolean;
}

/** A part of a multipart upload assembled by `move`. */
type PartPlan =
  | { kind: 'copy'; key: string; start: number; end: number }
  | { kind: 'upload'; ranges: { key: string; start: number; end: number }[]; size: number };

/**
 * Stores files in an S3 bucket (AWS, Ceph RADOS Gateway, MinIO, ...), one driver path to one
 * key below `rootdirectory`, so the bucket holds the same tree as Distribution's s3 driver.
 *
 * S3 has no append and cannot read the parts of an unfinished multipart upload, yet the writer
 * contract wants each finished append readable by every process at once (an upload goes on
 * in whichever replica its next chunk reaches, and that replica re-reads the stored bytes).
 * So each writer stores what it receives as one complete object, a segment, at
 * `<key>@<start offset>`; `<key>` itself, when present, is the start of the file. stat, reader,
 * getContent and list present the object and its segments as one file, and `move` (how a
 * finished upload enters the blob store) assembles them server-side into one plain object:
 *
 * - one piece: CopyObject, or a multipart copy (UploadPartCopy by ranges) above
 *   `multipartcopythresholdsize`;
 * - several: one multipart upload whose parts copy each segment server-side. S3 wants every
 *   part but the last to be at least 5 MiB, so runs of small segments are read back and
 *   uploaded as one part, topped up from the start of the next large segment when they stay
 *   under 5 MiB. What goes through Berth is bounded: the small segments themselves plus less
 *   than 10 MiB per large segment that follows a small run. Large segments are never read.
 *
 * Segments appear only for writer data (uploads under `_uploads`); putContent and move write
 * plain objects, so blobs, links and manifests are single keys that any tool (or
 * Distribution) reads as is, and that `redirectURL` can presign.
 *
 * Directories do not exist on S3: a directory is there while some key lies below it.
 */
export class S3Driver implements StorageDriver {
  readonly name = 's3';
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly chunkSize: number;
  private readonly copyChunkSize: number;
  private readonly copyConcurrency: number;
  private readonly copyThreshold: number;
  private readonly objectParams: Pick<
    PutObjectCommandInput,
    'ContentType' | 'StorageClass' | 'ServerSideEncryption' | 'SSEKMSKeyId' | 'ACL'
  >;
  /** Segments being stored by writers whose stream is ending, by file key: calls on the file wait for them. */
  private readonly flushing = new Map<string, Set<Promise<void>>>();

  constructor(options: S3DriverOptions) {
    if (options.v4auth === false) {
      throw new Error('storage.s3.v4auth: false (signature version 2) is not supported; every current S3 store accepts version 4');
    }
    this.bucket = options.bucket;
    const root = (options.rootDirectory ?? '').replace(/^\/+|\/+$/g, '');
    this.prefix = root === '' ? '' : `${root}/`;
    this.chunkSize = Math.min(Math.max(options.chunkSize ?? 10 * MiB, minPartSize), maxPartSize);
    this.copyChunkSize = Math.min(Math.max(options.multipartCopyChunkSize ?? 32 * MiB, minPartSize), maxPartSize - minPartSize);
    this.copyConcurrency = Math.max(options.multipartCopyMaxConcurrency ?? 100, 1);
    this.copyThreshold = Math.min(Math.max(options.multipartCopyThresholdSize ?? 32 * MiB, 0), maxPartSize);

    const storageClass = (options.storageClass ?? 'STANDARD').toUpperCase();
    this.objectParams = {
      ContentType: 'application/octet-stream',
      ...(storageClass === 'NONE' ? {} : { StorageClass: storageClass as StorageClass }),
      ...(options.encrypt
        ? {
            ServerSideEncryption: (options.keyId ? 'aws:kms' : 'AES256') as ServerSideEncryption,
            ...(options.keyId ? { SSEKMSKeyId: options.keyId } : {}),
          }
        : {}),
      ...(options.objectAcl ? { ACL: options.objectAcl as ObjectCannedACL } : {}),
    };

    let endpoint = options.regionEndpoint;
    if (endpoint && !/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) {
      endpoint = `${options.secure === false ? 'http' : 'https'}://${endpoint}`;
    }
    const agentOptions = { keepAlive: true, maxSockets: 256 };
    this.client = new S3Client({
      region: options.region,
      endpoint,
      forcePathStyle: options.forcePathStyle ?? false,
      credentials:
        options.accessKey && options.secretKey
          ? { accessKeyId: options.accessKey, secretAccessKey: options.secretKey }
          : undefined,
      useAccelerateEndpoint: options.accelerate,
      useDualstackEndpoint: options.useDualStack,
      useFipsEndpoint: options.useFipsEndpoint,
      customUserAgent: options.userAgent,
      // Checksums only where S3 demands them: S3-compatible stores do not all know the newer ones.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        httpAgent: new HttpAgent(agentOptions),
        httpsAgent: new HttpsAgent({ ...agentOptions, rejectUnauthorized: !options.skipVerify }),
      },
    });
  }

  /** Closes the client's idle connections. */
  destroy(): void {
    this.client.destroy();
  }

  async getContent(path: string): Promise<Buffer> {
    const key = this.key(path);
    await this.settled(key);
    // The listing and the plain object in parallel: a small file costs one round trip.
    const [layout, plain] = await Promise.all([this.layout(key), this.getObject(key).catch(ifMissing(undefined))]);
    if (plain && layout.pieces.every((piece) => piece.key === key)) return plain;
    if (!layout.isFile) throw new PathNotFoundError(path);
    const parts: Buffer[] = [];
    for (const piece of layout.pieces) {
      if (piece.size > 0) parts.push(await this.getObject(piece.key).catch(ifMissing(() => raceLost(path))));
    }
    return Buffer.concat(parts);
  }

  async putContent(path: string, content: Uint8Array): Promise<void> {
    const key = this.key(path);
    await this.settled(key);
    // A PutObject replaces the object atomically; segments of an earlier writer go afterwards.
    const [, segments] = await Promise.all([
      this.client.send(
        new PutObjectCommand({
          ...this.objectParams,
          Bucket: this.bucket,
          Key: key,
          Body: content,
          ContentLength: content.byteLength,
        }),
      ),
      this.segmentKeys(key),
    ]);
    await this.deleteKeys(segments);
  }

  async reader(path: string, options: ReadOptions = {}): Promise<Readable> {
    const key = this.key(path);
    await this.settled(key);
    const layout = await this.layout(key);
    if (!layout.isFile) throw new PathNotFoundError(path);
    const offset = options.offset ?? 0;
    if (offset > layout.size) throw new InvalidOffsetError(path, offset);
    const end = Math.min(options.end ?? layout.size - 1, layout.size - 1);
    if (offset > end) return Readable.from([]);

    const ranges = layout.pieces
      .filter((piece) => piece.size > 0 && piece.offset <= end && piece.offset + piece.size > offset)
      .map((piece) => ({
        key: piece.key,
        start: Math.max(offset - piece.offset, 0),
        end: Math.min(end - piece.offset, piece.size - 1),
      }));
    // The first GET is made here, so that a file deleted meanwhile is an error of this call.
    const first = await this.getRange(ranges[0]!.key, ranges[0]!.start, ranges[0]!.end).catch(
      ifMissing(() => raceLost(path)),
    );
    if (ranges.length === 1) return first;
    const rest = ranges.slice(1);
    const getRange = this.getRange.bind(this);
    async function* concatenated(): AsyncGenerator<Buffer> {
      yield* first as AsyncIterable<Buffer>;
      for (const range of rest) {
        const body = await getRange(range.key, range.start, range.end).catch(ifMissing(() => raceLost(path)));
        yield* body as AsyncIterable<Buffer>;
      }
    }
    return Readable.from(concatenated(), { objectMode: false });
  }

  async writer(path: string, options: WriteOptions = {}): Promise<FileWriter> {
    const key = this.key(path);
    await this.settled(key);
    let initial = 0;
    if (options.append) {
      const layout = await this.layout(key);
      if (layout.isFile) initial = layout.size;
    } else {
      // The file starts empty: an empty object, and no segment of an earlier writer.
      const [, segments] = await Promise.all([this.putEmpty(key), this.segmentKeys(key)]);
      await this.deleteKeys(segments);
    }
    return new SegmentWriter(this, key, initial);
  }

  async stat(path: string): Promise<FileInfo> {
    const key = this.key(path);
    await this.settled(key);
    const layout = await this.layout(key);
    if (layout.isFile) return { size: layout.size, modTime: layout.modTime, isDirectory: false };
    if (layout.isDirectory) return { size: 0, modTime: new Date(0), isDirectory: true };
    throw new PathNotFoundError(path);
  }

  async list(path: string): Promise<string[]> {
    const prefix = `${this.key(path)}/`;
    const names = new Set<string>();
    let token: string | undefined;
    do {
      const page = await this.listPage(prefix, token, '/');
      for (const object of page.Contents ?? []) names.add(childName(object.Key!.slice(prefix.length)));
      for (const common of page.CommonPrefixes ?? []) names.add(common.Prefix!.slice(prefix.length, -1));
      names.delete(''); // a "directory marker" object some tools write
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    if (names.size === 0) throw new PathNotFoundError(path);
    return [...names].sort(byCodePoint);
  }

  async move(from: string, to: string): Promise<void> {
    const source = this.key(from);
    const target = this.key(to);
    await Promise.all([this.settled(source), this.settled(target)]);
    const [layout, oldSegments] = await Promise.all([this.layout(source), this.segmentKeys(target)]);
    if (!layout.isFile) throw new PathNotFoundError(from);
    if (source === target) return;
    await this.assemble(layout, target);
    await this.deleteKeys([...oldSegments, ...layout.keys]);
  }

  async delete(path: string): Promise<void> {
    const key = this.key(path);
    await this.settled(key);
    const [layout, below] = await Promise.all([this.layout(key), this.keysUnder(`${key}/`)]);
    if (!layout.isFile && below.length === 0) throw new PathNotFoundError(path);
    await this.deleteKeys([...layout.keys, ...below]);
  }

  /**
   * A presigned GET of the path's object. Blobs are plain objects (uploads are assembled when
   * they are moved into place), so the URL serves the whole file; a file that is still in
   * segments (an upload in progress) is not one to redirect to.
   */
  async redirectURL(path: string): Promise<string | undefined> {
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) });
    return await getSignedUrl(this.client, command, { expiresIn: redirectExpirySeconds });
  }

  // --- keys and listings ---

  private key(path: string): string {
    checkPath(path);
    return this.prefix + path.slice(1);
  }

  /** @internal The key of the segment that starts at offset. */
  segmentKey(key: string, offset: number): string {
    return `${key}${segmentMark}${String(offset).padStart(offsetDigits, '0')}`;
  }

  /**
   * The file and directory at key, from one listing of `key` with `/` as delimiter: the plain
   * object, its segments, and `key/` as a common prefix when something lies below. Siblings
   * sharing the prefix (`key2`, `key.old`) come along and are ignored; paging stops once the
   * listing has passed the segment keys.
   */
  private async layout(key: string): Promise<Layout> {
    let plain: Piece | undefined;
    const segments: Piece[] = [];
    let isDirectory = false;
    const segmentPrefix = key + segmentMark;
    const beyond = key + String.fromCharCode(segmentMark.charCodeAt(0) + 1);
    let token: string | undefined;
    do {
      const page = await this.listPage(key, token, '/');
      let last = '';
      for (const object of page.Contents ?? []) {
        const name = object.Key!;
        last = name > last ? name : last;
        const piece = { key: name, size: object.Size ?? 0, modTime: object.LastModified ?? new Date(0) };
        if (name === key) plain = { ...piece, offset: 0 };
        else if (name.startsWith(segmentPrefix)) {
          const offset = Number(name.slice(segmentPrefix.length));
          if (Number.isSafeInteger(offset)) segments.push({ ...piece, offset });
        }
      }
      for (const common of page.CommonPrefixes ?? []) {
        const name = common.Prefix!;
        last = name > last ? name : last;
        if (name === `${key}/`) isDirectory = true;
      }
      token = page.IsTruncated && last < beyond ? page.NextContinuationToken : undefined;
    } while (token);

    // Segments in offset order, each starting where the file so far ends. One that does not
    // (left over by two writers racing on one path) is not part of the file.
    segments.sort((a, b) => a.offset - b.offset);
    const pieces: Piece[] = plain ? [plain] : [];
    let size = plain?.size ?? 0;
    for (const segment of segments) {
      if (segment.offset !== size) continue;
      pieces.push(segment);
      size += segment.size;
    }
    const keys = [...(plain ? [plain.key] : []), ...segments.map((segment) => segment.key)];
    const modTime = pieces.reduce((latest, piece) => (piece.modTime > latest ? piece.modTime : latest), new Date(0));
    return { pieces, keys, size, modTime, isFile: pieces.length > 0, isDirectory };
  }

  private async listPage(prefix: string, token: string | undefined, delimiter?: string): Promise<ListObjectsV2CommandOutput> {
    return await this.client.send(
      new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: delimiter, ContinuationToken: token }),
    );
  }

  /** Every key below a prefix. */
  private async keysUnder(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.listPage(prefix, token);
      for (const object of page.Contents ?? []) keys.push(object.Key!);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  private async segmentKeys(key: string): Promise<string[]> {
    return await this.keysUnder(key + segmentMark);
  }

  private async deleteKeys(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    if (keys.length === 1) {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: keys[0] }));
      return;
    }
    const batches: string[][] = [];
    for (let at = 0; at < keys.length; at += deleteBatch) batches.push(keys.slice(at, at + deleteBatch));
    await forEachLimited(batches, 4, async (batch) => {
      const result = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = (result.Errors ?? []).filter((error) => error.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        throw new Error(`s3: could not delete ${failed.length} objects, first ${failed[0]!.Key}: ${failed[0]!.Code} ${failed[0]!.Message}`);
      }
    });
  }

  // --- object I/O ---

  private async getObject(key: string): Promise<Buffer> {
    const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return Buffer.from(await response.Body!.transformToByteArray());
  }

  private async getRange(key: string, start: number, end: number): Promise<Readable> {
    const response = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${end}` }),
    );
    return response.Body as Readable;
  }

  private async putEmpty(key: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ ...this.objectParams, Bucket: this.bucket, Key: key, Body: new Uint8Array(), ContentLength: 0 }),
    );
  }

  /** @internal A streaming upload of one segment (multipart above chunksize), for SegmentWriter. */
  startUpload(key: string, body: Readable): Upload {
    return new Upload({
      client: this.client,
      params: { ...this.objectParams, Bucket: this.bucket, Key: key, Body: body },
      partSize: this.chunkSize,
      // Memory per writer is about (queueSize + 1) * chunksize.
      queueSize: 2,
      leavePartsOnError: false,
    });
  }

  /** @internal Calls on `key` wait for this segment to be stored (or to fail). */
  trackFlush(key: string, flush: Promise<void>): void {
    let set = this.flushing.get(key);
    if (!set) this.flushing.set(key, (set = new Set()));
    const settled = flush.catch(() => undefined);
    set.add(settled);
    void settled.then(() => {
      set.delete(settled);
      if (set.size === 0 && this.flushing.get(key) === set) this.flushing.delete(key);
    });
  }

  /**
   * Waits for this process's writers of the file whose stream is ending: an interrupted stream
   * still stores what it received, and the next call on the file must see those bytes.
   */
  private async settled(key: string): Promise<void> {
    const set = this.flushing.get(key);
    if (set) await Promise.all(set);
  }

  /** @internal Deletes the file at key, plain object and segments. */
  async deleteFile(key: string): Promise<void> {
    await this.settled(key);
    await this.deleteKeys([key, ...(await this.segmentKeys(key))]);
  }

  // --- move: assembling a file into one plain object ---

  private async assemble(layout: Layout, target: string): Promise<void> {
    const pieces = layout.pieces.filter((piece) => piece.size > 0);
    if (pieces.length === 0) {
      await this.putEmpty(target);
      return;
    }
    if (pieces.length === 1) {
      const [piece] = pieces as [Piece];
      if ((piece.size <= this.copyThreshold || piece.size < minPartSize) && piece.size <= maxPartSize) {
        await this.client.send(
          new CopyObjectCommand({
            ...this.objectParams,
            Bucket: this.bucket,
            Key: target,
            CopySource: this.copySource(piece.key),
            MetadataDirective: 'REPLACE',
          }),
        );
        return;
      }
    }
    await this.multipartAssemble(planParts(pieces, this.copyChunkSize), target);
  }

  private async multipartAssemble(plan: readonly PartPlan[], target: string): Promise<void> {
    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({ ...this.objectParams, Bucket: this.bucket, Key: target }),
    );
    const etags: string[] = [];
    try {
      await forEachLimited(
        plan.map((part, index) => ({ part, number: index + 1 })),
        this.copyConcurrency,
        async ({ part, number }) => {
          const base = { Bucket: this.bucket, Key: target, UploadId, PartNumber: number };
          if (part.kind === 'copy') {
            const result = await this.client.send(
              new UploadPartCopyCommand({
                ...base,
                CopySource: this.copySource(part.key),
                CopySourceRange: `bytes=${part.start}-${part.end}`,
              }),
            );
            etags[number - 1] = result.CopyPartResult!.ETag!;
          } else {
            // A run of small segments, at most 10 MiB: read back and sent as one part.
            const chunks: Buffer[] = [];
            for (const range of part.ranges) {
              for await (const chunk of await this.getRange(range.key, range.start, range.end)) chunks.push(chunk as Buffer);
            }
            const body = Buffer.concat(chunks, part.size);
            const result = await this.client.send(new UploadPartCommand({ ...base, Body: body, ContentLength: body.length }));
            etags[number - 1] = result.ETag!;
          }
        },
      );
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: target,
          UploadId,
          MultipartUpload: { Parts: etags.map((ETag, index) => ({ ETag, PartNumber: index + 1 })) },
        }),
      );
    } catch (error) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: target, UploadId }))
        .catch(() => undefined);
      throw error;
    }
  }

  private copySource(key: string): string {
    return `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }
}

/**
 * The parts of a multipart upload that assembles the pieces, in order. Pieces of 5 MiB and more
 * are copied server-side (split into `copyChunk` ranges); runs of smaller pieces are uploaded,
 * grouped until they reach 5 MiB. A run still under 5 MiB when a large piece follows takes the
 * bytes it lacks from the start of that piece, or the whole piece when what would remain of it
 * would be under 5 MiB itself (so at most 10 MiB of it). Only the last part may be small.
 */
export function planParts(pieces: readonly { key: string; size: number }[], copyChunk: number): PartPlan[] {
  const parts: PartPlan[] = [];
  let run: { key: string; start: number; end: number }[] = [];
  let runSize = 0;
  const flushRun = () => {
    if (runSize > 0) parts.push({ kind: 'upload', ranges: run, size: runSize });
    run = [];
    runSize = 0;
  };
  const addToRun = (key: string, start: number, end: number) => {
    run.push({ key, start, end });
    runSize += end - start + 1;
  };
  for (const piece of pieces) {
    if (piece.size === 0) continue;
    if (piece.size < minPartSize) {
      addToRun(piece.key, 0, piece.size - 1);
      if (runSize >= minPartSize) flushRun();
      continue;
    }
    let start = 0;
    if (runSize > 0) {
      const lacking = minPartSize - runSize;
      if (piece.size - lacking >= minPartSize) {
        addToRun(piece.key, 0, lacking - 1);
        flushRun();
        start = lacking;
      } else {
        addToRun(piece.key, 0, piece.size - 1);
        flushRun();
        continue;
      }
    }
    const length = piece.size - start;
    // Never more than S3's 10,000 parts, whatever the configured chunk.
    const chunk = Math.max(copyChunk, Math.ceil(length / (maxParts / 2)));
    for (let at = start; at < piece.size; at += chunk) {
      const rest = piece.size - (at + chunk);
      // A last range under 5 MiB joins the one before it.
      const end = rest > 0 && rest < minPartSize ? piece.size - 1 : Math.min(at + chunk, piece.size) - 1;
      parts.push({ kind: 'copy', key: piece.key, start: at, end });
      if (end === piece.size - 1) break;
    }
  }
  flushRun();
  if (parts.length > maxParts) throw new Error(`s3: a file of ${parts.length} parts cannot be assembled (at most ${maxParts})`);
  return parts;
}

/**
 * A writer's stream: the bytes go through a PassThrough into one streaming upload, the
 * segment at the writer's start offset, begun at the first byte. When the stream finishes, or
 * is destroyed part way, the upload is completed with what was received, so every byte whose
 * write was acknowledged is kept; `cancel` aborts it instead and deletes the file.
 */
class SegmentWriter implements FileWriter {
  readonly stream: Writable;
  private written = 0;
  private body: PassThrough | undefined;
  private upload: Upload | undefined;
  private done: Promise<void> | undefined;
  private failure: Error | undefined;
  private waiting: ((error?: Error | null) => void) | undefined;
  private cancelled = false;

  constructor(
    private readonly driver: S3Driver,
    private readonly key: string,
    private readonly initial: number,
  ) {
    this.stream = new Writable({
      highWaterMark: MiB,
      write: (chunk: Buffer, _encoding, callback) => this.write(chunk, callback),
      final: (callback) => {
        this.finish().then(() => callback(), callback);
      },
      destroy: (error, callback) => {
        this.finish().then(
          () => callback(error),
          () => callback(error),
        );
      },
    });
  }

  get size(): number {
    return this.initial + this.written;
  }

  async commit(): Promise<void> {
    const stream = this.stream;
    if (!stream.writableFinished && !stream.destroyed) {
      await new Promise<void>((resolve, reject) => {
        stream.once('error', reject);
        stream.end(() => resolve());
      });
    }
    await this.done;
  }

  async cancel(): Promise<void> {
    this.cancelled = true;
    if (this.upload) await this.upload.abort().catch(() => undefined);
    this.stream.destroy();
    await this.done?.catch(() => undefined);
    await this.driver.deleteFile(this.key);
  }

  private write(chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (this.failure) return callback(this.failure);
    if (chunk.length === 0) return callback();
    if (!this.body) this.begin();
    this.written += chunk.length;
    if (this.body!.write(chunk)) return callback();
    this.waiting = callback;
    this.body!.once('drain', () => {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.();
    });
  }

  private begin(): void {
    this.body = new PassThrough({ highWaterMark: MiB });
    this.upload = this.driver.startUpload(this.driver.segmentKey(this.key, this.initial), this.body);
    this.done = this.upload.done().then(
      () => undefined,
      (error: unknown) => {
        this.failure = error instanceof Error ? error : new Error(String(error));
        const waiting = this.waiting;
        this.waiting = undefined;
        waiting?.(this.failure);
        throw this.failure;
      },
    );
    this.done.catch(() => undefined);
  }

  /** Ends the segment with what was received (unless cancelled) and waits until it is stored. */
  private async finish(): Promise<void> {
    if (!this.body || !this.done) return;
    if (this.cancelled) {
      await this.upload!.abort().catch(() => undefined);
    } else if (!this.body.writableEnded) {
      this.body.end();
      this.driver.trackFlush(this.key, this.done);
    }
    await this.done;
  }
}

function childName(relative: string): string {
  const mark = relative.indexOf(segmentMark);
  return mark === -1 ? relative : relative.slice(0, mark);
}

function isMissing(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  const name = (error as { name?: string })?.name;
  return status === 404 || name === 'NoSuchKey' || name === 'NotFound';
}

/** A catch handler: a missing object gives `fallback` (or what it returns); other errors pass. */
function ifMissing<T>(fallback: T | (() => T)): (error: unknown) => T {
  return (error) => {
    if (!isMissing(error)) throw error;
    return typeof fallback === 'function' ? (fallback as () => T)() : fallback;
  };
}

/** A piece listed a moment ago is gone: the file was deleted or rewritten meanwhile. */
function raceLost(path: string): never {
  throw new PathNotFoundError(path);
}

async function forEachLimited<T>(items: readonly T[], limit: number, action: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await action(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
