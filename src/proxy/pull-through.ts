import type { Logger } from 'pino';
import type { Digest } from '../protocol/digest.js';
import { RegistryError } from '../protocol/errors.js';
import type { Reference } from '../registry/manifest-store.js';
import type { Registry } from '../registry/registry.js';
import { BlobDigestMismatchError, downloadIntoCache, type BlobDownload, type LiveBlob } from './blob-download.js';
import { ignorePulls, type PullRecord } from './pull-record.js';
import { SingleFlight } from '../registry/single-flight.js';
import { isUpstreamNotFound, upstreamFailure } from './upstream-errors.js';
import type { ResolvedUpstream, Upstream, Upstreams } from './upstreams.js';

export type { LiveBlob } from './blob-download.js';

export interface PullThroughOptions {
  /** Told of every pull of a proxied repository's manifests and blobs (cache eviction reads it). */
  pulls?: PullRecord;
  /** Where stale answers and failed background downloads are reported. */
  log?: Logger;
  /** The clock for `tagttl`; tests move it. */
  now?: () => number;
}

/** Tags whose last upstream check is remembered; the oldest are forgotten (they are checked again). */
const tagChecksKept = 100_000;

/** How long close() waits for downloads under way to finish storing. */
const closeWaitMs = 10_000;

/**
 * The pull-through cache: the HTTP handlers ask it before they serve a proxied repository from
 * storage, and it makes sure storage holds what the upstream has.
 *
 * - A tag is trusted for `tagttl` after the upstream was last asked about it; then one HEAD
 *   (shared by every request meanwhile) tells whether it moved, and only a new digest is fetched.
 * - A manifest by digest is fetched once; once cached the upstream is never asked again.
 * - A blob is downloaded once per repository at a time: the first client gets the bytes as they
 *   arrive while they are written to storage, later ones wait and are served from storage.
 * - When the upstream is down, failing or rate-limiting, what is cached is served (a tag as it
 *   was last seen); what is not gets an error that says what the upstream did.
 *
 * Cached content lives in the proxied repository under its local name, in the ordinary layout,
 * so listings, garbage collection and Distribution reading the same storage all see it.
 * Manifests are stored without their blobs (they come when a client asks for them).
 */
export class PullThrough {
  private readonly pulls: PullRecord;
  private readonly now: () => number;
  /** When the upstream was last asked about `<repository>:<tag>` (ms); in insertion order, oldest first. */
  private readonly tagChecks = new Map<string, number>();
  private readonly tagFlights = new SingleFlight<void>();
  private readonly manifestFlights = new SingleFlight<void>();
  /** Downloads under way, by `<repository>@<digest>`, until their content is stored (or failed). */
  private readonly downloads = new Map<string, Promise<BlobDownload>>();

  constructor(
    private readonly registry: Registry,
    readonly upstreams: Upstreams,
    private readonly options: PullThroughOptions = {},
  ) {
    this.pulls = options.pulls ?? ignorePulls;
    this.now = options.now ?? Date.now;
  }

  /** The upstream of a repository, or undefined when it is an ordinary (not proxied) one. */
  upstreamOf(name: string): Upstream | undefined {
    return this.upstreams.resolve(name)?.upstream;
  }

  /**
   * Makes sure storage can answer for the reference as the upstream would: fetches an uncached
   * manifest, or a tag's new digest once its `tagttl` is over. Does nothing for a repository
   * that is not proxied. Throws the error a client should get when the manifest is not cached
   * and the upstream cannot give it.
   */
  async prepareManifest(name: string, reference: Reference): Promise<void> {
    const resolved = this.upstreams.resolve(name);
    if (!resolved) return;
    if ('digest' in reference) {
      if (await this.cachedRevision(name, reference)) return;
      await this.manifestFlights.run(`${name}@${reference.digest.text}`, () => this.fetchManifest(resolved, name, reference, reference.digest.text));
      return;
    }
    const key = `${name}:${reference.tag}`;
    const checked = this.tagChecks.get(key);
    if (checked !== undefined && this.now() - checked < resolved.upstream.tagTtlMs && (await this.cachedRevision(name, reference))) return;
    await this.tagFlights.run(key, () => this.refreshTag(resolved, name, reference.tag, key));
  }

  /** The size of a blob the repository has not cached, from the upstream (HEAD). BLOB_UNKNOWN when the upstream lacks it. */
  async statBlob(name: string, digest: Digest): Promise<number> {
    const resolved = this.required(name);
    let size: number | undefined;
    try {
      size = await resolved.upstream.client.statBlob(resolved.remoteName, digest.text);
    } catch (error) {
      throw upstreamFailure(error, resolved.upstream);
    }
    if (size === undefined) throw blobUnknown(digest);
    return size;
  }

  /**
   * Brings a blob the repository has not cached into it. With `live`, the caller that starts
   * the download gets its bytes as they arrive (undefined for every other caller); everyone
   * else gets undefined once the blob is stored, and serves it from storage. Throws
   * BLOB_UNKNOWN when the upstream lacks it, or what upstreamFailure says.
   */
  async fetchBlob(name: string, digest: Digest, options: { live: boolean }): Promise<LiveBlob | undefined> {
    const resolved = this.required(name);
    const key = `${name}@${digest.text}`;
    const running = this.downloads.get(key);
    if (running) {
      await (await running).stored;
      return undefined;
    }
    const starting = this.startDownload(resolved, name, digest, options.live);
    this.downloads.set(key, starting);
    const forget = () => {
      if (this.downloads.get(key) === starting) this.downloads.delete(key);
    };
    starting.then((download) => download.stored.then(forget, forget), forget);
    const download = await starting;
    if (download.live) return download.live;
    await download.stored;
    return undefined;
  }

  /** Notes a pull of a proxied repository's manifest or blob for eviction; nothing for other repositories. */
  recordPull(name: string, digest: string, size: number): void {
    if (this.upstreams.resolve(name)) this.pulls.record(name, digest, size);
  }

  /**
   * Waits (up to `closeWaitMs`) for the downloads under way to be stored or fail: a blob's last
   * bytes reach its first client before the cache has moved and linked it, and a shutdown should
   * not cut that short. Then closes the upstream connections, which ends any download still going.
   */
  async close(): Promise<void> {
    const settled = Promise.allSettled([...this.downloads.values()].map(async (download) => (await download).stored));
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, closeWaitMs)));
    await Promise.race([settled, waited]);
    clearTimeout(timer);
    await this.upstreams.close();
  }

  private required(name: string): ResolvedUpstream {
    const resolved = this.upstreams.resolve(name);
    if (!resolved) throw new Error(`${name} is not a proxied repository`);
    return resolved;
  }

  /** Asks the upstream whether the tag moved (or fetches it when nothing is cached), as prepareManifest says. */
  private async refreshTag(resolved: ResolvedUpstream, name: string, tag: string, key: string): Promise<void> {
    const { upstream, remoteName } = resolved;
    const cached = await this.cachedRevision(name, { tag });
    if (!cached) {
      // Nothing to compare with: one GET by tag rather than a HEAD and a GET.
      await this.fetchManifest(resolved, name, { tag }, tag);
      this.noteTagChecked(key);
      return;
    }
    let current: string | undefined;
    try {
      current = (await upstream.client.headManifest(remoteName, tag))?.digest;
      if (current !== undefined && current !== cached.text) await this.fetchManifest(resolved, name, { tag }, current);
    } catch (error) {
      // Errors from the upstream (raw from the client, or already explained by fetchManifest)
      // mean it is down, failing or rate-limiting: the tag as last seen is served. Anything
      // else (storage failing) is the cache's own trouble.
      const fromUpstream = error instanceof RegistryError || upstreamFailure(error, upstream) !== error;
      if (!fromUpstream) throw error;
      this.options.log?.warn({ repository: name, tag, upstream: upstream.remoteUrl, err: error }, 'proxy: upstream check of a tag failed; serving the cached manifest');
    }
    // An upstream that no longer has the tag leaves the cached one served, as Distribution's cache does.
    this.noteTagChecked(key);
  }

  /** GETs a manifest from the upstream (its digest verified by the client) and stores it under the reference. */
  private async fetchManifest(resolved: ResolvedUpstream, name: string, reference: Reference, remoteReference: string): Promise<void> {
    const { upstream, remoteName } = resolved;
    let fetched;
    try {
      fetched = await upstream.client.getManifest(remoteName, remoteReference);
    } catch (error) {
      if (isUpstreamNotFound(error)) {
        throw new RegistryError('MANIFEST_UNKNOWN', { detail: 'tag' in reference ? { tag: reference.tag } : { digest: reference.digest.text }, cause: error });
      }
      throw upstreamFailure(error, upstream);
    }
    // Fetched by tag after a HEAD: store by tag, the digest being whatever the upstream sent now.
    await this.registry.manifests.put(name, reference, fetched.bytes, fetched.descriptor.mediaType, { referencesElsewhere: true });
  }

  /** The digest the repository holds for a reference (a tag pointing at a stored revision), or undefined. */
  private async cachedRevision(name: string, reference: Reference): Promise<Digest | undefined> {
    try {
      return await this.registry.manifests.resolve(name, reference);
    } catch (error) {
      if (error instanceof RegistryError && (error.code === 'MANIFEST_UNKNOWN' || error.code === 'NAME_UNKNOWN')) return undefined;
      throw error;
    }
  }

  private noteTagChecked(key: string): void {
    this.tagChecks.delete(key);
    this.tagChecks.set(key, this.now());
    if (this.tagChecks.size > tagChecksKept) this.tagChecks.delete(this.tagChecks.keys().next().value!);
  }

  /**
   * Starts bringing a blob into the repository: content already stored for another repository
   * is linked once the upstream confirms this repository has it; anything else is downloaded.
   */
  private async startDownload(resolved: ResolvedUpstream, name: string, digest: Digest, live: boolean): Promise<BlobDownload> {
    const { upstream, remoteName } = resolved;
    const { blobs, uploads } = this.registry;
    const stored = await blobs.stat(digest);
    if (stored && !(await blobs.isMarkedForDeletion(digest))) {
      const size = await this.statBlob(name, digest);
      if (size === stored.size) {
        await blobs.link(name, digest);
        return { live: undefined, stored: Promise.resolve() };
      }
    }
    let source;
    try {
      source = await upstream.client.downloadBlob(remoteName, digest.text);
    } catch (error) {
      if (isUpstreamNotFound(error)) throw blobUnknown(digest, error);
      throw upstreamFailure(error, upstream);
    }
    const download = await downloadIntoCache(uploads, name, digest, source, live);
    const storedOrExplained = download.stored.catch((error: unknown) => {
      this.options.log?.warn({ repository: name, digest: digest.text, upstream: upstream.remoteUrl, err: error }, 'proxy: blob download failed; nothing was cached');
      throw downloadFailure(error, upstream);
    });
    // Nobody may wait on it (the live client went away, no one else asked): not an unhandled rejection.
    storedOrExplained.catch(() => undefined);
    return { live: download.live, stored: storedOrExplained };
  }
}

function blobUnknown(digest: Digest, cause?: unknown): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', { detail: { digest: digest.text }, cause });
}

/** What clients waiting for a download are told when it failed part way. */
function downloadFailure(error: unknown, upstream: Upstream): unknown {
  if (error instanceof BlobDigestMismatchError) {
    return new RegistryError('UNKNOWN', {
      status: 502,
      message: `upstream ${upstream.remoteUrl} sent content for ${error.expected} whose digest is ${error.actual}; nothing was cached`,
      cause: error,
    });
  }
  if (error instanceof RegistryError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new RegistryError('UNKNOWN', { status: 502, message: `download from upstream ${upstream.remoteUrl} failed: ${reason}`, cause: error });
}
