import type { Logger } from 'pino';
import type { Digest } from '../protocol/digest.js';
import { digestsUnder, inventoryOf, modTimeOf, type RepositoryInventory } from '../gc/inventory.js';
import { blobSize, deleteRevision, removeIfEmpty } from '../gc/sweep.js';
import { Catalog } from '../registry/catalog.js';
import { deleteIfPresent, exists, readLink } from '../registry/links.js';
import { maxManifestBytes } from '../registry/limits.js';
import { repositoryExists } from '../registry/repository.js';
import type { StorageDriver } from '../storage/driver.js';
import { paths } from '../storage/paths.js';
import { cachedParts, type CachedPart } from './cached-parts.js';
import { pullKey, readPullTimes, savePullTimes, type PullLog, type PullTimes } from './pull-record.js';

/** What eviction needs to know of the `proxy` configuration. */
export interface CachePolicy {
  /**
   * The `ttl` of the upstream serving the repository, in milliseconds: content not pulled for
   * longer is dropped; 0 keeps it. Undefined when the repository is not proxied: its content is
   * never touched.
   */
  ttlOf(repository: string): number | undefined;
  /** `proxy.maxsize` in bytes: the cap on all cached content; undefined for none. */
  maxBytes?: number;
}

/** What a stored manifest holds: its own size and its parts. Bytes never change under a digest. */
export interface ManifestShape {
  readonly size: number;
  readonly parts: readonly CachedPart[];
}

/** Manifest shapes by digest, kept between rounds (a Map will do). */
export interface ShapeCache {
  get(digest: string): ManifestShape | undefined;
  set(digest: string, shape: ManifestShape): void;
}

export interface EvictionOptions extends CachePolicy {
  /** Shapes of manifests read in earlier rounds: a round reads only manifests it has not seen. */
  shapes?: ShapeCache;
  /** Report what would go, change nothing. */
  dryRun?: boolean;
  /** The clock, in milliseconds (tests move it). */
  now?: () => number;
}

/** One cached item dropped: a manifest revision (with its tags) or a blob no cached manifest uses. */
export interface EvictedItem {
  readonly repository: string;
  readonly digest: string;
  readonly kind: 'manifest' | 'blob';
  readonly reason: 'ttl' | 'maxsize';
  readonly lastPulledAt: Date;
  /** Tags that pointed at the manifest and went with it. */
  readonly tags: readonly string[];
}

export interface EvictionResult {
  readonly dryRun: boolean;
  readonly evicted: readonly EvictedItem[];
  /**
   * Cached content before and after the round: distinct blobs (manifests included) the proxied
   * repositories hold, each counted once, leaving out those a repository that is not proxied
   * links too (dropping them from the cache would free nothing).
   */
  readonly cachedBytes: number;
  readonly remainingBytes: number;
  /** `_layers` links removed (in a dry run: that would be): blobs no manifest left in the cache uses. */
  readonly layerLinksRemoved: number;
  /** Proxied repositories left without content, removed from the catalog. */
  readonly removedRepositories: readonly string[];
  /** The recorded last pulls of what stays (what the merged pull table keeps). */
  readonly kept: PullTimes;
}

/** A manifest revision or a linked blob of a proxied repository, as one round sees it. */
interface CachedItem {
  readonly repository: string;
  readonly digest: Digest;
  readonly kind: 'manifest' | 'blob';
  readonly ttlMs: number;
  /** The last recorded pull, or when it was cached if none was recorded (a pull not flushed before a crash). */
  readonly lastPulledAt: number;
  /** Blobs it keeps linked in the repository (a manifest: config and layers; a blob: itself). */
  readonly layers: readonly Digest[];
  readonly tags: readonly string[];
}

/**
 * One round over the proxied repositories: drops every item not pulled within its upstream's
 * ttl; then, while the cached content is over `maxBytes`, the least recently pulled items.
 * Dropping a manifest removes its revision link, the tags pointing at it and their history
 * entries, and the `_layers` links of blobs no other cached manifest of the repository uses.
 * Blob data stays for garbage collection, which keeps whatever another repository's manifest
 * still references, so content shared with a repository that is not proxied is never lost.
 *
 * A pull racing with a round at worst finds the item gone and fetches it from the upstream
 * again: the cache is a copy, and dropping it early costs only a download.
 */
export async function evictCache(driver: StorageDriver, pulls: PullTimes, options: EvictionOptions): Promise<EvictionResult> {
  const now = options.now?.() ?? Date.now();
  const items: CachedItem[] = [];
  const inventories = new Map<string, RepositoryInventory>();
  const sizes = new Map<string, number>();
  /** Digests repositories that are not proxied link: not the cache's to count. */
  const outside = new Set<string>();
  for (const name of await new Catalog(driver).all()) {
    const ttlMs = options.ttlOf(name);
    if (ttlMs === undefined) {
      if (options.maxBytes !== undefined) for (const digest of await linkedDigests(driver, name)) outside.add(digest.text);
      continue;
    }
    const inventory = await inventoryOf(driver, name);
    inventories.set(name, inventory);
    items.push(...(await itemsOf(driver, inventory, ttlMs, pulls, sizes, options.shapes ?? new Map())));
  }

  // How many items hold each digest, across the cache (for its size) and per repository (for its link).
  const holders = new Map<string, number>();
  const linkHolders = new Map<string, number>();
  const heldDigests = (item: CachedItem) => (item.kind === 'manifest' ? [item.digest, ...item.layers] : item.layers);
  for (const item of items) {
    for (const digest of new Set(heldDigests(item).map((d) => d.text))) holders.set(digest, (holders.get(digest) ?? 0) + 1);
    for (const digest of new Set(item.layers.map((d) => d.text))) {
      const key = pullKey(item.repository, digest);
      linkHolders.set(key, (linkHolders.get(key) ?? 0) + 1);
    }
  }
  const countedSize = (digest: string) => (outside.has(digest) ? 0 : (sizes.get(digest) ?? 0));
  const cachedBytes = [...holders.keys()].reduce((sum, digest) => sum + countedSize(digest), 0);

  let remainingBytes = cachedBytes;
  const evicted: EvictedItem[] = [];
  const gone = new Set<CachedItem>();
  const unlinked: { repository: string; digest: Digest }[] = [];
  const evict = (item: CachedItem, reason: EvictedItem['reason']) => {
    gone.add(item);
    evicted.push({
      repository: item.repository,
      digest: item.digest.text,
      kind: item.kind,
      reason,
      lastPulledAt: new Date(item.lastPulledAt),
      tags: item.tags,
    });
    for (const digest of new Set(heldDigests(item).map((d) => d.text))) {
      const left = (holders.get(digest) ?? 1) - 1;
      holders.set(digest, left);
      if (left === 0) remainingBytes -= countedSize(digest);
    }
    const seen = new Set<string>();
    for (const digest of item.layers) {
      if (seen.has(digest.text)) continue;
      seen.add(digest.text);
      const key = pullKey(item.repository, digest.text);
      const left = (linkHolders.get(key) ?? 1) - 1;
      linkHolders.set(key, left);
      if (left === 0) unlinked.push({ repository: item.repository, digest });
    }
  };

  for (const item of items) if (item.ttlMs > 0 && now - item.lastPulledAt > item.ttlMs) evict(item, 'ttl');
  if (options.maxBytes !== undefined && remainingBytes > options.maxBytes) {
    const byLastPull = items
      .filter((item) => !gone.has(item))
      .sort((a, b) => a.lastPulledAt - b.lastPulledAt || compareText(a.repository, b.repository) || compareText(a.digest.text, b.digest.text));
    for (const item of byLastPull) {
      if (remainingBytes <= options.maxBytes) break;
      evict(item, 'maxsize');
    }
  }

  const removedRepositories: string[] = [];
  // A cached manifest's blobs are linked only once pulled: count the links really there.
  let layerLinksRemoved = 0;
  if (options.dryRun) {
    for (const { repository, digest } of unlinked) if (await exists(driver, paths.layerLink(repository, digest))) layerLinksRemoved++;
  } else {
    for (const item of items) {
      if (!gone.has(item) || item.kind !== 'manifest') continue;
      const inventory = inventories.get(item.repository)!;
      // The whole tag goes (as a tag delete does), unless it moved since the listing (a fresh pull
      // by tag); deleteRevision then clears the history entries of other tags.
      for (const tag of item.tags) {
        if ((await readLink(driver, paths.tagCurrentLink(item.repository, tag)))?.text !== item.digest.text) continue;
        await deleteIfPresent(driver, paths.tag(item.repository, tag));
      }
      await deleteRevision(driver, inventory, item.digest);
    }
    for (const { repository, digest } of unlinked) {
      if (await deleteIfPresent(driver, paths.layerLinkDirectory(repository, digest))) layerLinksRemoved++;
    }
    for (const name of inventories.keys()) {
      if (items.some((item) => item.repository === name && !gone.has(item))) continue;
      // On object stores (no directories) the repository is gone with its last link already.
      await removeIfEmpty(driver, name);
      if (!(await repositoryExists(driver, name))) removedRepositories.push(name);
    }
  }

  const kept: PullTimes = new Map();
  for (const item of items) {
    if (gone.has(item)) continue;
    const key = pullKey(item.repository, item.digest.text);
    const time = pulls.get(key);
    if (time !== undefined) kept.set(key, time);
  }
  return {
    dryRun: options.dryRun ?? false,
    evicted,
    cachedBytes,
    remainingBytes,
    layerLinksRemoved,
    removedRepositories,
    kept,
  };
}

/**
 * The cached items of one proxied repository: each manifest revision, and each linked blob no
 * revision uses (fetched by a blob pull whose manifest is gone or was never pulled here).
 * Sizes of what they hold are noted in `sizes`: from the manifests' descriptors, or stored sizes.
 */
async function itemsOf(
  driver: StorageDriver,
  inventory: RepositoryInventory,
  ttlMs: number,
  pulls: PullTimes,
  sizes: Map<string, number>,
  shapes: ShapeCache,
): Promise<CachedItem[]> {
  const name = inventory.name;
  const items: CachedItem[] = [];
  const used = new Set<string>();
  const lastPull = (digest: Digest, cachedAt: Date | undefined) =>
    Math.max(pulls.get(pullKey(name, digest.text)) ?? -Infinity, cachedAt?.getTime() ?? -Infinity, 0);
  for (const revision of inventory.revisions.values()) {
    let shape = shapes.get(revision.digest.text);
    if (!shape) {
      const bytes = await manifestBytes(driver, revision.digest);
      // Missing content is not remembered: it may be stored again later.
      if (bytes) shapes.set(revision.digest.text, (shape = { size: bytes.length, parts: cachedParts(bytes) }));
    }
    const parts = shape?.parts ?? [];
    if (shape) sizes.set(revision.digest.text, shape.size);
    for (const part of parts) {
      used.add(part.digest.text);
      if (part.size !== undefined && !sizes.has(part.digest.text)) sizes.set(part.digest.text, part.size);
    }
    const tags = [...inventory.tags].filter(([, digest]) => digest.text === revision.digest.text).map(([tag]) => tag);
    items.push({
      repository: name,
      digest: revision.digest,
      kind: 'manifest',
      ttlMs,
      lastPulledAt: lastPull(revision.digest, revision.linkedAt),
      layers: parts.map((part) => part.digest),
      tags,
    });
  }
  for (const digest of inventory.layers) {
    if (used.has(digest.text)) continue;
    items.push({
      repository: name,
      digest,
      kind: 'blob',
      ttlMs,
      lastPulledAt: lastPull(digest, await modTimeOf(driver, paths.layerLink(name, digest))),
      layers: [digest],
      tags: [],
    });
  }
  // Sizes the descriptors did not give (a blob without a manifest, a schema 1 layer) come from storage.
  for (const item of items) {
    for (const digest of item.kind === 'manifest' ? item.layers : [item.digest]) {
      if (!sizes.has(digest.text)) sizes.set(digest.text, (await blobSize(driver, digest)) ?? 0);
    }
  }
  return items;
}

/** A revision's bytes, or undefined when its content is missing or too large to be a manifest. */
async function manifestBytes(driver: StorageDriver, digest: Digest): Promise<Buffer | undefined> {
  const size = await blobSize(driver, digest);
  if (size === undefined || size > maxManifestBytes) return undefined;
  try {
    return await driver.getContent(paths.blobData(digest));
  } catch {
    return undefined; // deleted since the stat: nothing to hold
  }
}

/** Blobs and manifest revisions a repository links. */
async function linkedDigests(driver: StorageDriver, name: string): Promise<Digest[]> {
  return [
    ...(await digestsUnder(driver, `${paths.repository(name)}/_layers`)),
    ...(await digestsUnder(driver, `${paths.manifests(name)}/revisions`)),
  ];
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface CacheEvictorOptions extends EvictionOptions {
  /** Time between rounds. */
  intervalMs: number;
  /** This process's own pull log, flushed before each round so its latest pulls count. */
  localPulls?: PullLog;
  /**
   * Reclaims the blob data nothing references any more (one online garbage collection): run
   * after a round that dropped something, and once more `graceMs` later, since the collector
   * keeps blobs younger than its grace. Absent when scheduled garbage collection does it.
   */
  reclaim?: { run: () => Promise<void>; graceMs: number };
}

/**
 * How often the evictor runs: a quarter of the shortest ttl, so content goes at most a quarter
 * ttl late, between 10 seconds and 10 minutes (each round walks every proxied repository).
 */
export function evictionInterval(ttls: readonly number[]): number {
  const positive = ttls.filter((ttl) => ttl > 0);
  const shortest = positive.length > 0 ? Math.min(...positive) : Infinity;
  return Math.min(10 * 60_000, Math.max(10_000, shortest / 4));
}

/**
 * Runs evictCache every `intervalMs` with the merged pull times, then saves those of what
 * stays (and deletes the segments it read). Exactly one process of a `serve` runs it (the
 * one that purges uploads); see pull-record.ts for what several replicas doing so costs.
 */
export class CacheEvictor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  /** When a round last dropped something, until the reclaim after the grace has run (in memory only). */
  private lastEvictionAt: number | undefined;
  /** Manifest shapes from earlier rounds, pruned to what the last round still found cached. */
  private shapes = new Map<string, ManifestShape>();

  constructor(
    private readonly driver: StorageDriver,
    private readonly options: CacheEvictorOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.log.info(
      { interval_ms: this.options.intervalMs, maxsize: this.options.maxBytes, dryrun: this.options.dryRun ?? false },
      'proxy cache eviction scheduled',
    );
    this.timer = setInterval(() => {
      this.running ??= this.runOnce().finally(() => {
        this.running = undefined;
      });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** One round now; failures are logged, not thrown (undefined then). */
  async runOnce(): Promise<EvictionResult | undefined> {
    try {
      await this.options.localPulls?.flush();
      const { times, segments } = await readPullTimes(this.driver);
      // Shapes this round uses are carried to the next; those of manifests no longer cached are dropped.
      const next = new Map<string, ManifestShape>();
      const shapes: ShapeCache = {
        get: (digest) => {
          const shape = next.get(digest) ?? this.shapes.get(digest);
          if (shape) next.set(digest, shape);
          return shape;
        },
        set: (digest, shape) => void next.set(digest, shape),
      };
      const result = await evictCache(this.driver, times, { ...this.options, shapes });
      this.shapes = next;
      for (const item of result.evicted) {
        const fields = { repository: item.repository, digest: item.digest, reason: item.reason, last_pulled: item.lastPulledAt.toISOString(), tags: item.tags };
        this.log.info(fields, result.dryRun ? 'proxy cache (dry run): would evict' : 'proxy cache: evicted');
      }
      if (!result.dryRun) await savePullTimes(this.driver, result.kept, segments);
      this.log.info(
        { evicted: result.evicted.length, cached_bytes: result.cachedBytes, remaining_bytes: result.remainingBytes, dryrun: result.dryRun },
        'proxy cache eviction done',
      );
      await this.reclaimAfter(result);
      return result;
    } catch (error) {
      this.log.error({ err: error }, 'proxy cache eviction failed');
      return undefined;
    }
  }

  private async reclaimAfter(result: EvictionResult): Promise<void> {
    const reclaim = this.options.reclaim;
    if (!reclaim || result.dryRun) return;
    const now = this.options.now?.() ?? Date.now();
    if (result.evicted.length > 0) {
      this.lastEvictionAt = now;
      await reclaim.run();
    } else if (this.lastEvictionAt !== undefined && now - this.lastEvictionAt >= reclaim.graceMs) {
      this.lastEvictionAt = undefined;
      await reclaim.run();
    }
  }

  /** Stops the timer and waits for a round in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
