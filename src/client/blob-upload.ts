import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { ChunkReader } from './chunk-reader.js';
import { DigestMismatchError, RegistryError, SourceSizeError } from './registry-error.js';

/** What an upload needs from the registry client: authenticated requests and error decoding. */
export interface UploadExchange {
  /** Origin of the registry (`https://host:port`), to resolve relative Location headers. */
  readonly baseUrl: string;
  send(method: Dispatcher.HttpMethod, target: string | URL, options: ExchangeOptions): Promise<Dispatcher.ResponseData>;
  /** The RegistryError an unexpected answer stands for (reads its body). */
  errorFrom(response: Dispatcher.ResponseData): Promise<RegistryError>;
}

export interface ExchangeOptions {
  scope: string;
  headers?: Record<string, string>;
  body?: Dispatcher.DispatchOptions['body'];
  signal?: AbortSignal;
}

export interface UploadOptions {
  /** Send PATCHes of this many bytes, then a closing PUT; without it, one monolithic PUT. */
  chunkSize?: number;
  /**
   * Bytes of the blob sent so far, as they stream out. After a resume it restarts from the
   * offset the registry reported (so it may go back by what the dropped request lost).
   */
  onProgress?: (written: number) => void;
  signal?: AbortSignal;
  /** Failed requests to recover from (dropped connections, 5xx) before giving up; default 3. */
  retries?: number;
}

/** A blob's identity and size, as a descriptor carries them. */
export interface BlobTarget {
  digest: string;
  size: number;
}

/** Opens the blob's bytes from `offset` on (called again after a failure to resume). */
export type OpenSource = (offset: number) => Promise<Readable>;

const octetStream = 'application/octet-stream';

/**
 * Uploads one blob through an upload session (POST, then PATCHes and/or the closing PUT with
 * `?digest=`). A chunked upload that fails mid-way asks the session how many bytes arrived
 * (GET on its URL, `Range: 0-N`) and goes on from there; a monolithic one starts a new session.
 * When the registry dropped the session, a new one starts from 0. The registry checks the digest;
 * the client checks the source's size before the closing PUT completes.
 */
export async function uploadBlob(
  exchange: UploadExchange,
  repository: string,
  blob: BlobTarget,
  open: OpenSource,
  options: UploadOptions = {},
): Promise<void> {
  const upload = new Upload(exchange, repository, blob, open, options);
  await (options.chunkSize === undefined ? upload.monolithic() : upload.chunked(options.chunkSize));
}

class Upload {
  private readonly scope: string;
  private failures = 0;

  constructor(
    private readonly exchange: UploadExchange,
    private readonly repository: string,
    private readonly blob: BlobTarget,
    private readonly open: OpenSource,
    private readonly options: UploadOptions,
  ) {
    this.scope = `repository:${repository}:pull,push`;
  }

  async monolithic(): Promise<void> {
    for (;;) {
      // The POST is body-less: it obtains the token the streaming PUT then carries.
      const location = await this.start();
      let reader: ChunkReader | undefined;
      try {
        reader = new ChunkReader(await this.open(0), 0, this.blob.digest, this.blob.size);
        let written = 0;
        const body = reader.take(this.blob.size, (bytes) => this.options.onProgress?.((written += bytes)));
        await this.close(location, body, this.blob.size);
        return;
      } catch (error) {
        reader?.destroy();
        await this.cancel(location);
        this.recoverable(error);
      }
    }
  }

  async chunked(chunkSize: number): Promise<void> {
    if (!(chunkSize > 0)) throw new RangeError(`chunk size must be positive, got ${chunkSize}`);
    let location = await this.start();
    let offset = 0;
    let reader = new ChunkReader(await this.open(0), 0, this.blob.digest, this.blob.size);
    try {
      while (offset < this.blob.size) {
        const length = Math.min(chunkSize, this.blob.size - offset);
        let written = offset;
        try {
          const response = await this.exchange.send('PATCH', location, {
            scope: this.scope,
            signal: this.options.signal,
            headers: {
              'content-type': octetStream,
              'content-range': `${offset}-${offset + length - 1}`,
              'content-length': String(length),
            },
            body: Readable.from(reader.take(length, (bytes) => this.options.onProgress?.((written += bytes)))),
          });
          if (response.statusCode !== 202) throw await this.exchange.errorFrom(response);
          await response.body.dump();
          location = this.locationOf(response, location);
          const stored = storedBytes(response.headers.range) ?? offset + length;
          if (stored !== offset + length) {
            // The registry kept another amount than sent: continue from what it has.
            reader.destroy();
            reader = new ChunkReader(await this.open(stored), stored, this.blob.digest, this.blob.size);
          }
          offset = stored;
        } catch (error) {
          reader.destroy();
          this.recoverable(error);
          ({ offset, location } = await this.resumePoint(location, offset, error));
          reader = new ChunkReader(await this.open(offset), offset, this.blob.digest, this.blob.size);
          this.options.onProgress?.(offset);
        }
      }
      // A chunk ending exactly at the size has checked the source is exhausted; an empty blob
      // has sent no chunk, so the closing PUT carries its (empty) body and that check.
      await this.close(location, this.blob.size === 0 ? reader.take(0) : undefined, 0);
    } finally {
      reader.destroy();
    }
  }

  /** Opens a session; returns its URL. */
  private async start(): Promise<URL> {
    const response = await this.exchange.send('POST', `/v2/${this.repository}/blobs/uploads/`, {
      scope: this.scope,
      signal: this.options.signal,
    });
    if (response.statusCode !== 202) throw await this.exchange.errorFrom(response);
    await response.body.dump();
    const location = response.headers.location;
    if (typeof location !== 'string') throw new RegistryError(this.registryName(), 202, { message: 'upload session answer without Location' });
    return new URL(location, this.exchange.baseUrl);
  }

  /** The closing PUT `?digest=`, with the last bytes (or none). */
  private async close(location: URL, body: AsyncIterable<Buffer> | undefined, length: number): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', this.blob.digest);
    const response = await this.exchange.send('PUT', url, {
      scope: this.scope,
      signal: this.options.signal,
      headers: { 'content-type': octetStream, 'content-length': String(length) },
      body: body === undefined ? null : Readable.from(body),
    });
    if (response.statusCode !== 201) throw await this.exchange.errorFrom(response);
    await response.body.dump();
    this.options.onProgress?.(this.blob.size);
  }

  /**
   * Where to go on after a failed chunk: the session's stored bytes, or a new session from 0
   * when the registry gave up on the old one. Distribution does: its session URL signs the offset
   * at the start of the chunk, and after a chunk cut short its file no longer matches, so it
   * answers BLOB_UPLOAD_INVALID (HTTP 404) from then on.
   */
  private async resumePoint(location: URL, acknowledged: number, error: unknown): Promise<{ offset: number; location: URL }> {
    const sessionLost = (e: unknown) => e instanceof RegistryError && (e.code === 'BLOB_UPLOAD_UNKNOWN' || e.code === 'BLOB_UPLOAD_INVALID' || e.status === 404);
    if (!sessionLost(error)) {
      try {
        return await this.status(location, acknowledged);
      } catch (statusError) {
        if (!sessionLost(statusError)) throw statusError;
      }
    }
    await this.cancel(location);
    return { offset: 0, location: await this.start() };
  }

  /** How many bytes the session holds (GET on its URL), and its current URL. */
  private async status(location: URL, acknowledged: number): Promise<{ offset: number; location: URL }> {
    const response = await this.exchange.send('GET', location, { scope: this.scope, signal: this.options.signal });
    if (response.statusCode !== 204 && response.statusCode !== 200) throw await this.exchange.errorFrom(response);
    await response.body.dump();
    const stored = storedBytes(response.headers.range, acknowledged) ?? 0;
    return { offset: stored, location: this.locationOf(response, location) };
  }

  private async cancel(location: URL): Promise<void> {
    try {
      const response = await this.exchange.send('DELETE', location, { scope: this.scope });
      await response.body.dump();
    } catch {
      // The session expires on its own; the failure that brought us here is what matters.
    }
  }

  /** Throws `error` unless another attempt may succeed and attempts remain. */
  private recoverable(error: unknown): void {
    if (this.options.signal?.aborted) throw error;
    const retryable =
      error instanceof RegistryError
        ? error.status >= 500 || [401, 408, 416, 429].includes(error.status) || error.code === 'BLOB_UPLOAD_UNKNOWN' || error.code === 'BLOB_UPLOAD_INVALID'
        : // Dropped connections and failing sources are worth another go; wrong content is not.
          !(error instanceof SourceSizeError || error instanceof DigestMismatchError || error instanceof RangeError);
    if (!retryable || ++this.failures > (this.options.retries ?? 3)) throw error;
  }

  /** Registries may move a session (Distribution signs its state into the URL): follow Location. */
  private locationOf(response: Dispatcher.ResponseData, current: URL): URL {
    const location = response.headers.location;
    return typeof location === 'string' ? new URL(location, current) : current;
  }

  private registryName(): string {
    return new URL(this.exchange.baseUrl).host;
  }
}

/**
 * Bytes a session holds from its `Range: 0-N` header (N + 1), or undefined without one.
 * `0-0` is ambiguous in Distribution (it also answers it for an empty session): when nothing has
 * been acknowledged yet it is read as empty, the usual case of a first chunk dropped early.
 */
function storedBytes(range: string | string[] | undefined, acknowledged?: number): number | undefined {
  const match = typeof range === 'string' ? /^(?:bytes=)?0-(-?\d+)$/.exec(range.trim()) : null;
  if (!match) return undefined;
  const end = Number(match[1]);
  if (end < 0) return 0;
  if (end === 0 && acknowledged === 0) return 0;
  return end + 1;
}
