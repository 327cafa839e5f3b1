import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { nextLink } from '../client/link-header.js';
import { RegistryError } from '../client/registry-error.js';
import { manifestMediaTypes } from '../image/descriptor.js';
import { BenchRequestError } from './bench-error.js';
import type { BlobContent } from './content.js';
import type { BenchMetrics } from './metrics.js';
import { header, type BenchRequestOptions, type BenchResponse, type BenchTransport } from './transport.js';

/**
 * Each registry request the scenarios make, timed and checked against what the distribution spec
 * requires of the answer. A call that gets anything else records an error under its request type
 * and throws BenchRequestError; the caller decides whether the operation goes on.
 *
 * Request types (the rows of the report): blob-head, blob-upload-start, blob-put, blob-patch,
 * blob-post, blob-get, manifest-put, manifest-get, manifest-head, tags-list, catalog.
 */

const redirects = new Set([301, 302, 303, 307, 308]);

/** Largest small body read whole (manifests, list pages, error bodies). */
const smallBodyLimit = 16 << 20;

export class RegistryCalls {
  constructor(
    private readonly transport: BenchTransport,
    /** Where timings and errors go; setup phases pass a throw-away one. */
    readonly metrics: BenchMetrics,
  ) {}

  /** The same transport recording into other metrics. */
  withMetrics(metrics: BenchMetrics): RegistryCalls {
    return new RegistryCalls(this.transport, metrics);
  }

  /** HEAD of a blob: true on 200 (with the right length), false on 404. */
  async blobExists(repo: string, blob: BlobContent): Promise<boolean> {
    const path = `/v2/${repo}/blobs/${blob.digest}`;
    return await this.call('blob-head', 'HEAD', path, {}, async (response, fail) => {
      await drain(response);
      if (response.status === 404) return false;
      if (response.status !== 200) throw fail('expected 200 or 404');
      const length = header(response, 'content-length');
      if (length !== undefined && Number(length) !== blob.size) throw fail(`Content-Length ${length}, expected ${blob.size}`);
      return true;
    });
  }

  /** POST to open an upload session; the path of its Location. */
  async startUpload(repo: string): Promise<string> {
    return await this.call('blob-upload-start', 'POST', `/v2/${repo}/blobs/uploads/`, {}, async (response, fail) => {
      await drain(response);
      if (response.status !== 202) throw fail('expected 202');
      return location(response, fail);
    });
  }

  /** Monolithic upload: POST, then PUT of the whole content with `?digest=`. */
  async uploadMonolithic(repo: string, blob: BlobContent): Promise<void> {
    const session = await this.startUpload(repo);
    await this.closeUpload(session, blob, blob.open(), blob.size);
  }

  /** Chunked upload: POST, one PATCH per chunk (following each Location), then an empty PUT. */
  async uploadChunked(repo: string, blob: BlobContent, chunkSize: number): Promise<void> {
    let session = await this.startUpload(repo);
    for (let offset = 0; offset < blob.size; offset += chunkSize) {
      const length = Math.min(chunkSize, blob.size - offset);
      const headers = {
        'content-type': 'application/octet-stream',
        'content-length': String(length),
        'content-range': `${offset}-${offset + length - 1}`,
      };
      session = await this.call('blob-patch', 'PATCH', session, { headers, body: blob.open(offset, length) }, async (response, fail) => {
        await drain(response);
        if (response.status !== 202) throw fail('expected 202');
        const range = header(response, 'range');
        if (range !== `0-${offset + length - 1}`) throw fail(`Range ${range ?? '(none)'}, expected 0-${offset + length - 1}`);
        return location(response, fail);
      }, length);
    }
    await this.closeUpload(session, blob, undefined, 0);
  }

  /** Single-request upload: POST with `?digest=` carrying the content (201 expected). */
  async uploadInPost(repo: string, blob: BlobContent): Promise<void> {
    const path = `/v2/${repo}/blobs/uploads/?digest=${blob.digest}`;
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) };
    await this.call('blob-post', 'POST', path, { headers, body: blob.open() }, async (response, fail) => {
      await drain(response);
      if (response.status !== 201) throw fail('expected 201 (a 202 means the registry does not take the content in the POST)');
      expectDigest(response, blob.digest, fail);
    }, blob.size);
  }

  /** The closing PUT of an upload session, with the rest of the content (or none). */
  private async closeUpload(session: string, blob: BlobContent, body: BenchRequestOptions['body'], length: number): Promise<void> {
    const path = `${session}${session.includes('?') ? '&' : '?'}digest=${encodeURIComponent(blob.digest)}`;
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(length) };
    await this.call('blob-put', 'PUT', path, { headers, body }, async (response, fail) => {
      await drain(response);
      if (response.status !== 201) throw fail('expected 201');
      expectDigest(response, blob.digest, fail);
    }, length);
  }

  /** PUT of a manifest by tag (201 and its digest expected). */
  async putManifest(repo: string, tag: string, manifest: BlobContent & { bytes: Buffer }, mediaType: string): Promise<void> {
    const headers = { 'content-type': mediaType, 'content-length': String(manifest.size) };
    await this.call('manifest-put', 'PUT', `/v2/${repo}/manifests/${tag}`, { headers, body: manifest.bytes }, async (response, fail) => {
      await drain(response);
      if (response.status !== 201) throw fail('expected 201');
      expectDigest(response, manifest.digest, fail);
    }, manifest.size);
  }

  /** GET of a manifest: 200, the expected digest in the header and in the bytes. Returns the bytes. */
  async getManifest(repo: string, reference: string, digest: string): Promise<Buffer> {
    const headers = { accept: manifestMediaTypes.join(', ') };
    return await this.call('manifest-get', 'GET', `/v2/${repo}/manifests/${reference}`, { headers }, async (response, fail) => {
      const bytes = await readSmall(response);
      if (response.status !== 200) throw fail('expected 200', bytes);
      expectDigest(response, digest, fail);
      const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      if (actual !== digest) throw fail(`body digest ${actual}, expected ${digest}`);
      return bytes;
    }, 0, (bytes) => bytes.length);
  }

  /** HEAD of a manifest: 200 with its digest and length. */
  async headManifest(repo: string, reference: string, manifest: { digest: string; size: number }): Promise<void> {
    const headers = { accept: manifestMediaTypes.join(', ') };
    await this.call('manifest-head', 'HEAD', `/v2/${repo}/manifests/${reference}`, { headers }, async (response, fail) => {
      await drain(response);
      if (response.status !== 200) throw fail('expected 200');
      expectDigest(response, manifest.digest, fail);
      const length = header(response, 'content-length');
      if (Number(length) !== manifest.size) throw fail(`Content-Length ${length ?? '(none)'}, expected ${manifest.size}`);
    });
  }

  /**
   * GET of a blob, streamed through SHA-256: 200, the expected size and digest. A redirect (to
   * storage, as registries on S3 do) is followed within the same timed request.
   */
  async getBlob(repo: string, digest: string, size: number): Promise<void> {
    await this.call('blob-get', 'GET', `/v2/${repo}/blobs/${digest}`, {}, async (first, fail) => {
      let response = first;
      for (let hop = 0; redirects.has(response.status) && hop < 5; hop++) {
        const target = header(response, 'location');
        await drain(response);
        if (!target) throw fail('redirect without Location');
        // Relative targets stay on the registry; absolute ones may go to storage.
        response = await this.transport.request('GET', target);
      }
      if (response.status !== 200) throw fail('expected 200', await readSmall(response));
      const hash = createHash('sha256');
      let received = 0;
      await pipeline(
        response.body,
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            hash.update(chunk);
            received += chunk.length;
            done();
          },
        }),
      );
      if (received !== size) throw fail(`received ${received} bytes, expected ${size}`);
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== digest) throw fail(`content digest ${actual}, expected ${digest}`);
    }, size);
  }

  /**
   * A whole listing: GET `path?n=pageSize`, then each `Link: <...>; rel="next"` to the end, each
   * page timed as one request of `type`. A Link that leads back to a page already read is an error.
   */
  async listAll(type: 'tags-list' | 'catalog', path: string, field: 'tags' | 'repositories', pageSize: number): Promise<{ names: string[]; pages: number }> {
    const names: string[] = [];
    const visited = new Set<string>();
    let pages = 0;
    for (let next: string | undefined = `${path}?n=${pageSize}`; next !== undefined; ) {
      const page: string = next;
      if (visited.has(page)) {
        const error = new BenchRequestError(type, 'GET', page, 'the Link header leads back to a page already read');
        this.metrics.noteError(error);
        throw error;
      }
      visited.add(page);
      next = await this.call(type, 'GET', page, {}, async (response, fail) => {
        const bytes = await readSmall(response);
        if (response.status !== 200) throw fail('expected 200', bytes);
        let body: unknown;
        try {
          body = JSON.parse(bytes.toString('utf8'));
        } catch {
          throw fail('the page is not JSON', bytes);
        }
        const list = (body as Record<string, unknown> | null)?.[field] ?? [];
        if (!Array.isArray(list) || !list.every((name) => typeof name === 'string')) throw fail(`"${field}" is not a list of names`, bytes);
        names.push(...list);
        return nextPage(header(response, 'link'));
      });
      pages++;
    }
    return { names, pages };
  }

  /**
   * Sends one request and hands the answer to `check`, which reads or drains the body and throws
   * (through `fail`) when the answer is wrong. The time runs until `check` is done, so it covers
   * reading the whole body. `bytes` is the payload counted on success (or `bytesOf` the result).
   */
  private async call<T>(
    type: string,
    method: string,
    path: string,
    options: BenchRequestOptions,
    check: (response: BenchResponse, fail: (reason: string, body?: Buffer) => BenchRequestError) => Promise<T>,
    bytes = 0,
    bytesOf?: (result: T) => number,
  ): Promise<T> {
    const start = performance.now();
    let response: BenchResponse;
    try {
      response = await this.transport.request(method, path, options);
    } catch (cause) {
      // The transport throws when no answer came, or (the client) for a 401 its credentials
      // cannot answer: then the error carries the status.
      const status = cause instanceof RegistryError ? cause.status : undefined;
      const reason = `${status === undefined ? 'no answer: ' : ''}${(cause as Error).message ?? String(cause)}`;
      const error = new BenchRequestError(type, method, path, reason, status, { cause });
      this.metrics.requestFailed(type, error);
      throw error;
    }
    const fail = (reason: string, body?: Buffer) =>
      new BenchRequestError(type, method, path, body && body.length > 0 ? `${reason}: ${snippet(body)}` : reason, response.status);
    try {
      const result = await check(response, fail);
      this.metrics.requestDone(type, performance.now() - start, bytesOf ? bytesOf(result) : bytes);
      return result;
    } catch (cause) {
      response.body.destroy();
      const error = cause instanceof BenchRequestError ? cause : fail(`reading the answer failed: ${(cause as Error).message ?? String(cause)}`);
      this.metrics.requestFailed(type, error);
      throw error;
    }
  }
}

/** Reads a body to its end, discarding it (so the connection can be reused). */
async function drain(response: BenchResponse): Promise<void> {
  response.body.resume();
  await finished(response.body);
}

/** A small body whole; more than smallBodyLimit bytes is an error. */
async function readSmall(response: BenchResponse): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > smallBodyLimit) throw new Error(`answer larger than ${smallBodyLimit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function snippet(body: Buffer): string {
  const text = body.subarray(0, 300).toString('utf8').replace(/\s+/g, ' ').trim();
  return body.length > 300 ? `${text}…` : text;
}

function expectDigest(response: BenchResponse, digest: string, fail: (reason: string) => BenchRequestError): void {
  const got = header(response, 'docker-content-digest');
  if (got !== digest) throw fail(`Docker-Content-Digest ${got ?? '(none)'}, expected ${digest}`);
}

/** The path and query of the Location header (which may be an absolute URL). */
function location(response: BenchResponse, fail: (reason: string) => BenchRequestError): string {
  const value = header(response, 'location');
  if (!value) throw fail('no Location header');
  const url = new URL(value, 'http://registry.invalid');
  return `${url.pathname}${url.search}`;
}

/**
 * The `rel="next"` page of a Link header as path and query (registries link to their own
 * `/v2/` paths, some as absolute URLs), or undefined on the last page.
 */
function nextPage(link: string | undefined): string | undefined {
  const target = nextLink(link);
  if (target === undefined) return undefined;
  const url = new URL(target, 'http://registry.invalid');
  return `${url.pathname}${url.search}`;
}
