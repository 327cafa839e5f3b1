import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import { manifestMediaTypes, mediaTypes, type Descriptor } from '../image/descriptor.js';
import { parseDigest } from '../protocol/digest.js';
import { Authenticator, firstError } from './auth.js';
import { uploadBlob, type BlobTarget, type ExchangeOptions, type OpenSource, type UploadExchange, type UploadOptions } from './blob-upload.js';
import type { Credentials } from './docker-config.js';
import { nextLink } from './link-header.js';
import { ConnectionFailedError, DigestMismatchError, RegistryError, ResponseTooLargeError, TagDeleteUnsupportedError } from './registry-error.js';

export type { BlobTarget, OpenSource, UploadOptions } from './blob-upload.js';

export interface ClientOptions {
  /** Speak plain `http://` instead of `https://`. */
  insecure?: boolean;
  /** PEM file of a CA to trust for this registry, besides the system's roots. */
  caFile?: string;
  /** Sent when the registry asks (Basic), or to its token server (Bearer). Default: anonymous. */
  credentials?: Credentials;
  /** `User-Agent` header; default `berth`. */
  userAgent?: string;
  /** Sockets per origin (registry, token server, redirect targets); default unlimited. */
  connections?: number;
}

/** An answer of the low-level `request()`; the body must be consumed or destroyed. */
export interface ClientResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Buffer | string | Readable | null;
  /** The auth scope the request needs; default derived from the path (pull for GET/HEAD, else pull,push). */
  scope?: string;
  signal?: AbortSignal;
}

/** Manifests larger than this are refused (Distribution's own limit is 4 MiB). */
const maxManifestBytes = 16 * 1024 * 1024;
/** Error bodies and listings read whole are capped too. */
const maxErrorBytes = 64 * 1024;
const maxListingBytes = 64 * 1024 * 1024;
const maxRedirects = 5;
const genericTypes = new Set(['', 'application/json', 'text/plain', 'application/octet-stream', 'binary/octet-stream']);

/**
 * A client for one registry's `/v2/` API (OCI distribution spec, Docker Registry API v2). It
 * answers auth challenges (Basic, Bearer tokens cached per scope), follows blob redirects
 * without leaking the registry's credentials to other hosts, verifies manifest digests, and
 * uploads blobs monolithically or in resumable chunks. Errors are RegistryError (the registry
 * answered something unexpected) or ConnectionFailedError (it could not be reached).
 */
export class RegistryClient {
  /** `host[:port]` as given. */
  readonly registry: string;
  /** `https://host:port` (or `http://` when insecure), no trailing slash. */
  readonly baseUrl: string;
  private readonly dispatcher: Agent;
  private readonly auth: Authenticator;
  private readonly userAgent: string;
  private readonly exchange: UploadExchange;

  constructor(registry: string, options: ClientOptions = {}) {
    this.registry = registry;
    // The origin form (a default port dropped) is what URLs in Location headers compare equal to.
    this.baseUrl = new URL(`${options.insecure ? 'http' : 'https'}://${registry}`).origin;
    this.userAgent = options.userAgent ?? 'berth';
    // A CA of our own is added to the system roots, not put in their place: blob redirects and
    // token realms often go to hosts with public certificates.
    const connect = options.caFile === undefined ? undefined : { ca: [...rootCertificates, readFileSync(options.caFile, 'utf8')] };
    this.dispatcher = new Agent({ connections: options.connections ?? null, connect });
    this.auth = new Authenticator(registry, options.credentials, this.dispatcher, this.userAgent);
    this.exchange = {
      baseUrl: this.baseUrl,
      send: (method, target, sendOptions) => this.send(method, target, sendOptions),
      errorFrom: (response) => this.errorFrom(response),
    };
  }

  /** GET /v2/: checks the registry answers and the credentials (if any) are accepted. */
  async ping(): Promise<void> {
    const response = await this.send('GET', '/v2/', { scope: '' });
    if (response.statusCode !== 200) throw await this.errorFrom(response);
    await response.body.dump();
  }

  /**
   * A manifest's bytes and descriptor. The media type comes from Content-Type (or the body's
   * `mediaType` when the registry sends a generic one); the digest is computed from the bytes and
   * must match a digest reference and the registry's Docker-Content-Digest (DigestMismatchError).
   */
  async getManifest(repo: string, reference: string, accept: readonly string[] = manifestMediaTypes): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
    const response = await this.sendFollowing('GET', `/v2/${repo}/manifests/${reference}`, {
      scope: pullScope(repo),
      headers: { accept: accept.join(', ') },
    });
    if (response.statusCode !== 200) throw await this.errorFrom(response);
    const bytes = await readAll(response.body, maxManifestBytes, () => new ResponseTooLargeError(this.registry, `manifest ${repo}:${reference}`, maxManifestBytes));
    const digest = this.verifiedDigest(`manifest ${repo}@${reference}`, reference, bytes, response.headers['docker-content-digest']);
    return { descriptor: { mediaType: manifestType(response.headers['content-type'], bytes), digest, size: bytes.length }, bytes };
  }

  /** A manifest's descriptor from HEAD (falls back to GET when the registry omits the digest); undefined on 404. */
  async headManifest(repo: string, reference: string, accept: readonly string[] = manifestMediaTypes): Promise<Descriptor | undefined> {
    const response = await this.sendFollowing('HEAD', `/v2/${repo}/manifests/${reference}`, {
      scope: pullScope(repo),
      headers: { accept: accept.join(', ') },
    });
    if (response.statusCode === 404) {
      await response.body.dump();
      return undefined;
    }
    if (response.statusCode !== 200) throw await this.errorFrom(response);
    await response.body.dump();
    const header = response.headers['docker-content-digest'];
    const digest = typeof header === 'string' && parseDigest(header) ? header : parseDigest(reference) ? reference : undefined;
    const contentType = mediaTypeOf(response.headers['content-type']);
    const size = Number(response.headers['content-length']);
    if (digest === undefined || genericTypes.has(contentType) || !Number.isSafeInteger(size)) {
      return (await this.getManifest(repo, reference, accept)).descriptor;
    }
    return { mediaType: contentType, digest, size };
  }

  /** PUT a manifest under a tag or its digest; returns its digest (checked against the registry's). */
  async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const response = await this.send('PUT', `/v2/${repo}/manifests/${reference}`, {
      scope: pushScope(repo),
      headers: { 'content-type': mediaType },
      body: bytes,
    });
    if (response.statusCode < 200 || response.statusCode >= 300) throw await this.errorFrom(response);
    await response.body.dump();
    return this.verifiedDigest(`manifest pushed to ${repo}:${reference}`, reference, bytes, response.headers['docker-content-digest']);
  }

  /**
   * Deletes a manifest by digest, or a tag (OCI 1.1). A registry that cannot delete a tag alone
   * (400/405/UNSUPPORTED, as Distribution 2.x) gets TagDeleteUnsupportedError naming the digest:
   * deleting that manifest would also remove every other tag pointing at it, so it is not done
   * behind the user's back.
   */
  async deleteManifest(repo: string, reference: string): Promise<void> {
    const response = await this.send('DELETE', `/v2/${repo}/manifests/${reference}`, { scope: deleteScope(repo) });
    if (response.statusCode === 202 || response.statusCode === 200 || response.statusCode === 204) {
      await response.body.dump();
      return;
    }
    const error = await this.errorFrom(response);
    const tagRefused = parseDigest(reference) === undefined && (error.status === 400 || error.status === 405 || error.code === 'UNSUPPORTED' || error.code === 'DIGEST_INVALID');
    if (!tagRefused) throw error;
    const descriptor = await this.headManifest(repo, reference);
    throw new TagDeleteUnsupportedError(this.registry, repo, reference, descriptor?.digest, error);
  }

  /** A blob's size (HEAD), or undefined when the repository does not have it. */
  async statBlob(repo: string, digest: string): Promise<number | undefined> {
    const response = await this.sendFollowing('HEAD', `/v2/${repo}/blobs/${digest}`, { scope: pullScope(repo) });
    await response.body.dump();
    if (response.statusCode === 404) return undefined;
    if (response.statusCode !== 200) throw new RegistryError(this.registry, response.statusCode);
    return Number(response.headers['content-length']);
  }

  /**
   * A blob's bytes from `offset` on (redirects followed). The caller verifies the digest while
   * consuming, and must consume or destroy the stream. A registry that ignores Range gets the
   * first `offset` bytes skipped here.
   */
  async openBlob(repo: string, digest: string, options: { offset?: number; signal?: AbortSignal } = {}): Promise<Readable> {
    return (await this.downloadBlob(repo, digest, options)).body;
  }

  /**
   * openBlob, with the number of bytes the stream will give when the registry said
   * (Content-Length): for a caller that passes the bytes on as they come (the pull-through cache).
   */
  async downloadBlob(repo: string, digest: string, options: { offset?: number; signal?: AbortSignal } = {}): Promise<{ body: Readable; length: number | undefined }> {
    const offset = options.offset ?? 0;
    const response = await this.sendFollowing('GET', `/v2/${repo}/blobs/${digest}`, {
      scope: pullScope(repo),
      headers: offset > 0 ? { range: `bytes=${offset}-` } : undefined,
      signal: options.signal,
    });
    if (offset > 0 && response.statusCode === 206) {
      const start = /^bytes (\d+)-/.exec(String(response.headers['content-range']))?.[1];
      if (start !== undefined && Number(start) !== offset) {
        response.body.destroy();
        throw new RegistryError(this.registry, 206, { code: 'RANGE_INVALID', message: `asked for bytes from ${offset}, got from ${start}` });
      }
      return { body: response.body, length: contentLength(response.headers) };
    }
    if (response.statusCode !== 200) throw await this.errorFrom(response);
    if (offset === 0) return { body: response.body, length: contentLength(response.headers) };
    const whole = contentLength(response.headers);
    return { body: response.body.pipe(skipBytes(offset)), length: whole === undefined ? undefined : Math.max(0, whole - offset) };
  }

  /** Cross-repository mount of `digest` from `from`; true when mounted, false when the registry declined. */
  async mountBlob(repo: string, digest: string, from: string): Promise<boolean> {
    const query = new URLSearchParams({ mount: digest, from });
    const response = await this.send('POST', `/v2/${repo}/blobs/uploads/?${query}`, { scope: `${pushScope(repo)} ${pullScope(from)}` });
    if (response.statusCode === 201) {
      await response.body.dump();
      return true;
    }
    if (response.statusCode !== 202) throw await this.errorFrom(response);
    await response.body.dump();
    // The registry opened an ordinary upload session instead: close it, the caller uploads.
    const location = response.headers.location;
    if (typeof location === 'string') {
      try {
        const cancel = await this.send('DELETE', new URL(location, this.baseUrl), { scope: pushScope(repo) });
        await cancel.body.dump();
      } catch {
        // It expires on its own.
      }
    }
    return false;
  }

  /** Uploads a blob (see blob-upload.ts): monolithic, or chunked and resumable with `chunkSize`. */
  async uploadBlob(repo: string, descriptor: BlobTarget, open: OpenSource, options: UploadOptions = {}): Promise<void> {
    await uploadBlob(this.exchange, repo, descriptor, open, options);
  }

  /** Every tag of `repo`, following `Link: rel="next"` pages of `pageSize` (the registry's default without). */
  async tags(repo: string, options: { pageSize?: number } = {}): Promise<string[]> {
    return await this.list(`/v2/${repo}/tags/list`, 'tags', pullScope(repo), options.pageSize);
  }

  /** Every repository the registry lists, following pages as `tags` does. */
  async catalog(options: { pageSize?: number } = {}): Promise<string[]> {
    return await this.list('/v2/_catalog', 'repositories', 'registry:catalog:*', options.pageSize);
  }

  /**
   * Manifests that refer to `digest` (their `subject`), optionally of one artifact type. A
   * registry without the referrers API (404) gives an empty list; the spec's tag fallback
   * scheme is not searched.
   */
  async referrers(repo: string, digest: string, artifactType?: string): Promise<Descriptor[]> {
    let path: string | undefined = `/v2/${repo}/referrers/${digest}${artifactType === undefined ? '' : `?${new URLSearchParams({ artifactType })}`}`;
    const found: Descriptor[] = [];
    const seen = new Set<string>();
    let filtered = artifactType === undefined;
    while (path !== undefined) {
      const url: URL = new URL(path, this.baseUrl);
      const response = await this.send('GET', url, { scope: pullScope(repo), headers: { accept: mediaTypes.ociIndex } });
      if (response.statusCode === 404 && found.length === 0) {
        await response.body.dump();
        return [];
      }
      if (response.statusCode !== 200) throw await this.errorFrom(response);
      const filters = response.headers['oci-filters-applied'];
      if (typeof filters === 'string' && filters.split(',').map((f) => f.trim()).includes('artifactType')) filtered = true;
      const body = await this.readJson<{ manifests?: Descriptor[] }>(response, 'referrers');
      found.push(...(body.manifests ?? []));
      path = nextLink(response.headers.link);
      if (path !== undefined) path = new URL(path, url).href;
      if (path !== undefined && seen.has(path)) break;
      if (path !== undefined) seen.add(path);
    }
    return filtered ? found : found.filter((d) => d.artifactType === artifactType);
  }

  /**
   * One request as is, with auth handled, for callers that time single requests (bench). The
   * answer is returned whatever its status, except a 401 that no credentials can answer, which
   * throws RegistryError. Bodies that are streams are sent once: obtain the token with a
   * body-less request of the same scope first.
   */
  async request(method: Dispatcher.HttpMethod, path: string, options: RequestOptions = {}): Promise<ClientResponse> {
    const response = await this.send(method, path, {
      scope: options.scope ?? scopeForPath(method, path),
      headers: options.headers,
      body: options.body,
      signal: options.signal,
    });
    return { status: response.statusCode, headers: response.headers, body: response.body };
  }

  /** Closes every connection; the client cannot be used afterwards. */
  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async list(path: string, key: 'tags' | 'repositories', scope: string, pageSize: number | undefined): Promise<string[]> {
    let url: URL | undefined = new URL(pageSize === undefined ? path : `${path}?n=${pageSize}`, this.baseUrl);
    const all: string[] = [];
    const seen = new Set([url.href]);
    while (url !== undefined) {
      const response = await this.send('GET', url, { scope });
      if (response.statusCode !== 200) throw await this.errorFrom(response);
      const body = await this.readJson<Record<string, string[] | null | undefined>>(response, key);
      all.push(...(body[key] ?? []));
      const next = nextLink(response.headers.link);
      url = next === undefined ? undefined : new URL(next, url);
      // A registry whose next page is one already read would keep the loop going for ever.
      if (url !== undefined && seen.has(url.href)) break;
      if (url !== undefined) seen.add(url.href);
    }
    return all;
  }

  /**
   * Sends one request to the registry (a path) or elsewhere (a URL, without the registry's
   * credentials when on another origin), answering one 401 challenge when the body can be sent
   * again. Throws ConnectionFailedError when no answer came, RegistryError for a 401 that cannot
   * be answered.
   */
  private async send(method: Dispatcher.HttpMethod, target: string | URL, options: ExchangeOptions & { anonymous?: boolean }): Promise<Dispatcher.ResponseData> {
    let origin = this.baseUrl;
    let path: string;
    if (typeof target === 'string') {
      path = target;
    } else {
      origin = target.origin;
      path = `${target.pathname}${target.search}`;
    }
    const own = !options.anonymous && origin === this.baseUrl;
    let sent = own ? this.auth.authorization(options.scope) : undefined;
    const body = options.body ?? null;
    const replayable = body === null || typeof body === 'string' || body instanceof Uint8Array;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { 'user-agent': this.userAgent, ...options.headers };
      if (sent !== undefined) headers.authorization = sent;
      let response: Dispatcher.ResponseData;
      try {
        response = await this.dispatcher.request({ origin, path, method, headers, body, signal: options.signal });
      } catch (error) {
        throw this.failure(error, `${origin}${path}`, options.signal);
      }
      if (response.statusCode !== 401 || !own) return response;
      const challenge = response.headers['www-authenticate'];
      const error = await this.errorFrom(response);
      // Learn the challenge even when this body cannot be sent again, so that the caller's
      // next attempt (an upload's retry) carries the right header.
      if (attempt > 0 || !(await this.auth.challenged(challenge, options.scope, sent)) || !replayable) throw error;
      sent = this.auth.authorization(options.scope);
    }
  }

  /** send() following redirects (blob downloads go to storage); other origins get no credentials. */
  private async sendFollowing(method: Dispatcher.HttpMethod, path: string, options: ExchangeOptions): Promise<Dispatcher.ResponseData> {
    let target: string | URL = path;
    let anonymous = false;
    for (let hop = 0; ; hop++) {
      const response = await this.send(method, target, { ...options, anonymous });
      const location = response.headers.location;
      if (![301, 302, 303, 307, 308].includes(response.statusCode) || typeof location !== 'string' || hop >= maxRedirects) return response;
      await response.body.dump();
      target = new URL(location, typeof target === 'string' ? new URL(target, this.baseUrl) : target);
      anonymous = anonymous || target.origin !== this.baseUrl;
    }
  }

  private failure(error: unknown, url: string, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return error;
    // Errors from a request body (the blob source) come through unchanged; anything from the
    // socket, DNS or TLS layer means the registry was not reached.
    const code = (error as { code?: unknown } | undefined)?.code;
    const network =
      (typeof code === 'string' && (code.startsWith('UND_ERR') || /^E[A-Z]+$/.test(code) || /CERT|SSL|TLS|SIGNATURE|ISSUER/.test(code))) ||
      (error instanceof Error && 'syscall' in error);
    return network ? new ConnectionFailedError(this.registry, url, error) : error;
  }

  private async errorFrom(response: Dispatcher.ResponseData): Promise<RegistryError> {
    let text = '';
    try {
      text = (await readAll(response.body, maxErrorBytes, () => new ResponseTooLargeError(this.registry, 'error body', maxErrorBytes))).toString('utf8');
    } catch {
      response.body.destroy();
    }
    const retryAfter = response.headers['retry-after'];
    return new RegistryError(this.registry, response.statusCode, firstError(text), { retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined });
  }

  private async readJson<T>(response: Dispatcher.ResponseData, what: string): Promise<T> {
    const bytes = await readAll(response.body, maxListingBytes, () => new ResponseTooLargeError(this.registry, what, maxListingBytes));
    try {
      return JSON.parse(bytes.toString('utf8')) as T;
    } catch (error) {
      throw new RegistryError(this.registry, response.statusCode, { message: `${what}: the answer is not JSON` }, { cause: error });
    }
  }

  /** The digest of manifest bytes, checked against a digest reference and the registry's header. */
  private verifiedDigest(what: string, reference: string, bytes: Buffer, header: string | string[] | undefined): string {
    const wanted = parseDigest(reference);
    const algorithm = wanted?.algorithm ?? 'sha256';
    const actual = `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
    if (wanted !== undefined && actual !== reference) throw new DigestMismatchError(this.registry, what, reference, actual);
    const announced = typeof header === 'string' ? parseDigest(header.trim()) : undefined;
    if (announced !== undefined) {
      const check = announced.algorithm === algorithm ? actual : `${announced.algorithm}:${createHash(announced.algorithm).update(bytes).digest('hex')}`;
      if (check !== announced.text) throw new DigestMismatchError(this.registry, what, announced.text, check);
    }
    return actual;
  }
}

export function pullScope(repo: string): string {
  return `repository:${repo}:pull`;
}

export function pushScope(repo: string): string {
  return `repository:${repo}:pull,push`;
}

export function deleteScope(repo: string): string {
  return `repository:${repo}:delete`;
}

/** The scope a `/v2/` path needs: its repository's pull (reads) or pull,push (writes), the catalog, or none. */
export function scopeForPath(method: string, path: string): string {
  if (path === '/v2/' || path === '/v2') return '';
  if (path.startsWith('/v2/_catalog')) return 'registry:catalog:*';
  const match = /^\/v2\/(.+?)\/(?:manifests|blobs|tags|referrers)\//.exec(path);
  if (match === null) return '';
  if (method === 'GET' || method === 'HEAD') return pullScope(match[1]!);
  return method === 'DELETE' ? deleteScope(match[1]!) : pushScope(match[1]!);
}

/** Content-Length as a number, when the answer has a valid one. */
function contentLength(headers: Record<string, string | string[] | undefined>): number | undefined {
  const value = Number(headers['content-length']);
  return typeof headers['content-length'] === 'string' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

function mediaTypeOf(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return (value ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Content-Type, unless generic; then the body's own `mediaType`, else a guess from its shape. */
function manifestType(header: string | string[] | undefined, bytes: Buffer): string {
  const type = mediaTypeOf(header);
  if (!genericTypes.has(type)) return type;
  try {
    const body = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown };
    if (typeof body.mediaType === 'string') return body.mediaType;
    return Array.isArray(body.manifests) ? mediaTypes.ociIndex : mediaTypes.ociManifest;
  } catch {
    return type;
  }
}

/** Reads a small body whole (never a blob), failing past `limit`. */
async function readAll(body: Readable, limit: number, tooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += (chunk as Buffer).length;
    if (length > limit) {
      body.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, length);
}

/** Drops the first `count` bytes (for a registry that answered 200 to a Range request). */
function skipBytes(count: number): Transform {
  let left = count;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (left >= chunk.length) {
        left -= chunk.length;
        done();
        return;
      }
      const rest = left > 0 ? chunk.subarray(left) : chunk;
      left = 0;
      done(null, rest);
    },
  });
}
