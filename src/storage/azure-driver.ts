import { Readable, Writable } from 'node:stream';
import {
  BlobSASPermissions,
  BlobServiceClient,
  RestError,
  StorageSharedKeyCredential,
  type AppendBlobClient,
  type BlobClient,
  type ContainerClient,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import {
  byCodePoint,
  checkPath,
  InvalidOffsetError,
  PathNotFoundError,
  temporaryPrefix,
  type FileInfo,
  type FileWriter,
  type ReadOptions,
  type StorageDriver,
  type WriteOptions,
} from './driver.js';

/** The options of `storage.azure`, under Distribution's names (see config/sections/storage.ts). */
export interface AzureDriverOptions {
  container: string;
  accountName?: string;
  accountKey?: string;
  /** The DNS suffix of the service: `core.windows.net` unless another Azure cloud. */
  realm?: string;
  /** The whole service URL (emulators, private endpoints); default https://ACCOUNT.blob.REALM. */
  serviceURL?: string;
  /** An Azure Storage connection string, instead of account name and key. */
  connectionString?: string;
  rootDirectory?: string;
  /** Retries of a failed request (default 5), and the delay before the first one in ms (default 100). */
  maxRetries?: number;
  retryDelay?: number;
  /** How long a redirectURL stays valid, in ms (default 20 minutes, as Distribution). */
  redirectLifetime?: number;
}

/**
 * The largest block one Append Block call takes with the API versions Azurite implements. An append
 * blob holds at most 50,000 blocks, so a file written through `writer` holds at most
 * 50,000 appends: 195 GiB when every block is full. A block is as large as what the writer's
 * stream has buffered while the previous block was being sent (up to this size), so a client
 * sending slowly in small chunks reaches the block limit sooner; see `AppendStream`.
 */
export const appendBlockSize = 4 * 1024 * 1024;

/** At most this many blob deletions go in one Blob Batch request (the service's limit). */
const batchSize = 256;

/** How long a redirect URL (a read-only SAS) stays valid by default, as Distribution's driver. */
const defaultRedirectLifetime = 20 * 60 * 1000;

/**
 * Stores files as blobs of one Azure Blob Storage container, one driver path to one blob named
 * `<rootdirectory>/<path>` (the names Distribution's Azure driver uses, so either registry reads
 * what the other wrote). Directories are virtual: a directory exists while some blob name starts
 * with its path and a slash.
 *
 * - `putContent` is one Put Blob of a block blob: atomic, readers see the old or the new content.
 * - `writer` writes an append blob, one Append Block per batch of buffered bytes. Each block is
 *   durable and readable from any replica as soon as the service acknowledges it, so an upload
 *   can continue anywhere (the contract of `writer`). `commit()` has nothing left to do.
 * - `move` is a server-side Copy Blob (polled until done) followed by a delete of the source; the
 *   bytes never pass through Berth.
 * - `delete` of a directory lists the blobs under its prefix and deletes them in Blob Batch requests.
 * - `redirectURL` is a read-only SAS URL signed with the account key, valid for 20 minutes.
 */
export class AzureDriver implements StorageDriver {
  readonly name = 'azure';
  private readonly container: ContainerClient;
  private readonly credential: StorageSharedKeyCredential | undefined;
  private readonly prefix: string;
  private readonly redirectLifetime: number;
  private containerReady: Promise<void> | undefined;

  constructor(options: AzureDriverOptions) {
    const pipeline: StoragePipelineOptions = {
      retryOptions: { maxTries: (options.maxRetries ?? 5) + 1, retryDelayInMs: options.retryDelay ?? 100 },
    };
    let service: BlobServiceClient;
    if (options.connectionString) {
      service = BlobServiceClient.fromConnectionString(options.connectionString, pipeline);
    } else {
      if (!options.accountName) throw new Error('storage.azure: accountname is required (or connectionstring)');
      if (!options.accountKey) throw new Error('storage.azure: accountkey is required (or connectionstring)');
      const url = options.serviceURL ?? `https://${options.accountName}.blob.${options.realm ?? 'core.windows.net'}`;
      const credential = new StorageSharedKeyCredential(options.accountName, options.accountKey);
      service = new BlobServiceClient(url, credential, pipeline);
    }
    this.credential = service.credential instanceof StorageSharedKeyCredential ? service.credential : undefined;
    this.container = service.getContainerClient(options.container);
    const root = (options.rootDirectory ?? '').replace(/^\/+|\/+$/g, '');
    this.prefix = root === '' ? '' : `${root}/`;
    this.redirectLifetime = options.redirectLifetime ?? defaultRedirectLifetime;
  }

  async getContent(path: string): Promise<Buffer> {
    const client = this.blob(path);
    await this.ready();
    const response = await this.notFound(path, () => client.download(0));
    const chunks: Buffer[] = [];
    for await (const chunk of response.readableStreamBody!) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async putContent(path: string, content: Uint8Array): Promise<void> {
    const client = this.blob(path).getBlockBlobClient();
    await this.ready();
    // Put Blob copies the bytes out before it resolves, and replaces the blob (of any type) atomically.
    await client.upload(Buffer.from(content.buffer, content.byteOffset, content.byteLength), content.byteLength);
  }

  async reader(path: string, options: ReadOptions = {}): Promise<Readable> {
    const client = this.blob(path);
    await this.ready();
    const { contentLength: size = 0 } = await this.notFound(path, () => client.getProperties());
    const offset = options.offset ?? 0;
    if (offset > size) throw new InvalidOffsetError(path, offset);
    const stop = options.end === undefined ? size : Math.min(options.end + 1, size);
    if (stop <= offset) return Readable.from([]);
    // Appends only ever add bytes after `size`, so this range stays valid while an upload grows.
    const response = await this.notFound(path, () => client.download(offset, stop - offset, { maxRetryRequests: 5 }));
    return response.readableStreamBody as Readable;
  }

  async writer(path: string, options: WriteOptions = {}): Promise<FileWriter> {
    const client = this.blob(path).getAppendBlobClient();
    await this.ready();
    const initial = options.append ? await this.openForAppend(path, client) : await recreate(client);
    const stream = new AppendStream(client, initial);
    return {
      stream,
      get size() {
        return stream.size;
      },
      commit: async () => {
        await finished(stream);
      },
      cancel: async () => {
        stream.destroy();
        await ignoreNotFound(() => client.delete());
      },
    };
  }

  async stat(path: string): Promise<FileInfo> {
    const client = this.blob(path);
    await this.ready();
    try {
      const properties = await client.getProperties();
      return { size: properties.contentLength ?? 0, modTime: properties.lastModified ?? new Date(0), isDirectory: false };
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
    const page = await this.container
      .listBlobsFlat({ prefix: `${client.name}/` })
      .byPage({ maxPageSize: 1 })
      .next();
    const first = page.done ? undefined : page.value.segment.blobItems[0];
    if (!first) throw new PathNotFoundError(path);
    return { size: 0, modTime: first.properties.lastModified, isDirectory: true };
  }

  async list(path: string): Promise<string[]> {
    const prefix = `${this.blobName(path)}/`;
    await this.ready();
    const children = new Set<string>();
    for await (const page of this.container.listBlobsByHierarchy('/', { prefix }).byPage({ maxPageSize: 5000 })) {
      for (const directory of page.segment.blobPrefixes ?? []) children.add(directory.name.slice(prefix.length, -1));
      for (const blob of page.segment.blobItems) children.add(blob.name.slice(prefix.length));
    }
    if (children.size === 0) throw new PathNotFoundError(path);
    return [...children].filter((name) => !name.startsWith(temporaryPrefix)).sort(byCodePoint);
  }

  async move(from: string, to: string): Promise<void> {
    const source = this.blob(from);
    const target = this.blob(to);
    await this.ready();
    const sourceURL = await this.readableURL(source, 60 * 60 * 1000);
    // A missing source makes the copy fail with 404 (BlobNotFound or CannotVerifyCopySource).
    await this.notFound(from, async () => {
      try {
        await this.copy(sourceURL, target);
      } catch (error) {
        // Copy Blob keeps the blob type, and refuses to replace a blob of another type: drop it first.
        if (!isStatus(error, 409)) throw error;
        await ignoreNotFound(() => target.delete());
        await this.copy(sourceURL, target);
      }
    });
    await ignoreNotFound(() => source.delete());
  }

  async delete(path: string): Promise<void> {
    const client = this.blob(path);
    await this.ready();
    const names: string[] = [];
    for await (const page of this.container.listBlobsFlat({ prefix: `${client.name}/` }).byPage({ maxPageSize: 5000 })) {
      for (const blob of page.segment.blobItems) names.push(blob.name);
    }
    const file = await ignoreNotFound(async () => {
      await client.delete();
      return true;
    });
    if (!file && names.length === 0) throw new PathNotFoundError(path);
    for (let at = 0; at < names.length; at += batchSize) await this.deleteBatch(names.slice(at, at + batchSize));
  }

  async redirectURL(path: string): Promise<string | undefined> {
    if (!this.credential) return undefined;
    return await this.readableURL(this.blob(path), this.redirectLifetime);
  }

  /** The blob's name for a driver path; checks the path first. */
  private blobName(path: string): string {
    checkPath(path);
    return `${this.prefix}${path.slice(1)}`;
  }

  private blob(path: string): BlobClient {
    return this.container.getBlobClient(this.blobName(path));
  }

  /**
   * Creates the container on first use (Distribution's driver does the same at start-up). A
   * credential allowed to use the container but not to create one gets 403: the container is
   * then assumed to exist, and the calls that follow tell if it does not.
   */
  private async ready(): Promise<void> {
    this.containerReady ??= this.container.createIfNotExists().then(
      () => undefined,
      (error: unknown) => {
        if (isStatus(error, 403)) return;
        this.containerReady = undefined;
        throw error;
      },
    );
    await this.containerReady;
  }

  /** The size of the append blob at path, creating an empty one when there is none. */
  private async openForAppend(path: string, client: AppendBlobClient): Promise<number> {
    for (;;) {
      try {
        const properties = await client.getProperties();
        if (properties.blobType === 'AppendBlob') return properties.contentLength ?? 0;
        return await this.convertToAppendBlob(path, client);
      } catch (error) {
        if (!isStatus(error, 404)) throw error;
      }
      // Another writer may create it at the same moment: then read its size on the next turn.
      const created = await client.createIfNotExists();
      if (created.succeeded) return 0;
    }
  }

  /**
   * Appending to a file that putContent wrote (a block blob, which cannot take Append Block):
   * rewrites it as an append blob with the same content. putContent is for small files, and
   * the registry never appends to one, so this path is for completeness of the contract only.
   */
  private async convertToAppendBlob(path: string, client: AppendBlobClient): Promise<number> {
    const content = await this.getContent(path);
    await client.create();
    for (let at = 0; at < content.length; at += appendBlockSize) {
      const block = content.subarray(at, Math.min(at + appendBlockSize, content.length));
      await client.appendBlock(block, block.length);
    }
    return content.length;
  }

  /** Server-side Copy Blob from `sourceURL` to `target`, polled until the service reports it done. */
  private async copy(sourceURL: string, target: BlobClient): Promise<void> {
    const poller = await target.beginCopyFromURL(sourceURL, { intervalInMs: 200 });
    const result = await poller.pollUntilDone();
    if (result.copyStatus !== undefined && result.copyStatus !== 'success') {
      throw new Error(`azure: copy to ${target.name} ended with status ${result.copyStatus}`);
    }
  }

  /** A URL from which the blob can be read without other credentials: a read-only SAS when possible. */
  private async readableURL(client: BlobClient, lifetime: number): Promise<string> {
    if (!this.credential) return client.url; // same account: the copy request's own credential covers the source
    return await client.generateSasUrl({
      permissions: BlobSASPermissions.parse('r'),
      expiresOn: new Date(Date.now() + lifetime),
    });
  }

  private async deleteBatch(names: string[]): Promise<void> {
    const clients = names.map((name) => this.container.getBlobClient(name));
    const batch = this.container.getBlobBatchClient();
    const response = await batch.deleteBlobs(clients);
    for (const sub of response.subResponses) {
      // Another delete got there first: that blob is gone, as wanted.
      if (sub.status >= 300 && sub.status !== 404) {
        throw new Error(`azure: batch delete of ${sub._request.url} failed with ${sub.status} ${sub.errorCode ?? ''}`);
      }
    }
  }

  /** Runs action, turning the service's 404 into PathNotFoundError for path. */
  private async notFound<T>(path: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if (isStatus(error, 404)) throw new PathNotFoundError(path, { cause: error });
      throw error;
    }
  }
}

/**
 * The writer's stream: every chunk is sent as Append Block calls of at most appendBlockSize
 * bytes, and a write's callback runs only once the service has its bytes, so "written" means
 * "durable and visible to every replica". While one block is on its way the stream buffers what
 * follows (up to appendBlockSize, its high-water mark), and `_writev` sends that as the next
 * block: blocks grow with the rate the client sends at.
 *
 * Each block is sent with the append position the writer expects, so a second writer appending
 * to the same file at the same time makes one of them fail instead of interleaving bytes.
 */
class AppendStream extends Writable {
  constructor(
    private readonly client: AppendBlobClient,
    public size: number,
  ) {
    super({ highWaterMark: appendBlockSize });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.appendAll([chunk]).then(() => callback(), callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.appendAll(chunks.map(({ chunk }) => chunk)).then(() => callback(), callback);
  }

  private async appendAll(chunks: Buffer[]): Promise<void> {
    let pending: Buffer[] = [];
    let pendingSize = 0;
    for (let chunk of chunks) {
      while (pendingSize + chunk.length >= appendBlockSize) {
        const take = appendBlockSize - pendingSize;
        await this.append(Buffer.concat([...pending, chunk.subarray(0, take)]));
        chunk = chunk.subarray(take);
        pending = [];
        pendingSize = 0;
      }
      if (chunk.length > 0) {
        pending.push(chunk);
        pendingSize += chunk.length;
      }
    }
    if (pendingSize > 0) await this.append(pending.length === 1 ? pending[0]! : Buffer.concat(pending));
  }

  private async append(block: Buffer): Promise<void> {
    try {
      await this.client.appendBlock(block, block.length, { conditions: { appendPosition: this.size } });
    } catch (error) {
      if (!isStatus(error, 412) || !(await this.holds(block))) throw error;
    }
    this.size += block.length;
  }

  /**
   * True when the blob ends with exactly this block at the expected position: a retried request
   * whose first attempt did reach the service finds the position taken by its own bytes. (Rare:
   * only then does the block come back from the service to be compared.)
   */
  private async holds(block: Buffer): Promise<boolean> {
    try {
      const properties = await this.client.getProperties();
      if (properties.contentLength !== this.size + block.length) return false;
      const stored = await this.client.downloadToBuffer(this.size, block.length);
      return stored.equals(block);
    } catch {
      return false;
    }
  }
}

/** Replaces whatever is at the blob's name with an empty append blob. */
async function recreate(client: AppendBlobClient): Promise<number> {
  await client.create();
  return 0;
}

function isStatus(error: unknown, status: number): boolean {
  return error instanceof RestError && error.statusCode === status;
}

/** Runs action; a 404 from the service gives undefined. */
async function ignoreNotFound<T>(action: () => Promise<T>): Promise<T | undefined> {
  try {
    return await action();
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
}

/** Ends the stream if it is still open and resolves once every write has reached the service. */
function finished(stream: Writable): Promise<void> {
  if (stream.writableFinished) return Promise.resolve();
  if (stream.destroyed) return Promise.reject(stream.errored ?? new Error('azure: the writer was destroyed'));
  return new Promise((resolve, reject) => {
    stream.once('finish', resolve);
    stream.once('error', reject);
    if (!stream.writableEnded) stream.end();
  });
}
