import { parseDigest, type Digest } from '../protocol/digest.js';
import { deleteIfPresent, listOrEmpty, writeLink } from '../registry/links.js';
import { isNotFound, type StorageDriver } from '../storage/driver.js';
import { paths } from '../storage/paths.js';
import { modTimeOf, storedBlobs, type RepositoryInventory } from './inventory.js';
import type { GcLease } from './lease.js';
import { mark, ReferenceReader, type MarkEvent } from './mark.js';
import { blobSize, deleteRevision, removeEmptyDirectories, removeIfEmpty } from './sweep.js';

export interface CollectOptions {
  /** Report what would go, change nothing. */
  dryRun?: boolean;
  /** Keep only tagged manifests, their index children and their referrers; delete other revisions. */
  deleteUntagged?: boolean;
  /**
   * Collect while the registry serves the store (the online protocol): blobs and untagged
   * revisions younger than `graceMs` stay, every blob goes through the deletion marker. Without
   * it the store must not be written meanwhile, as for Distribution's garbage-collect.
   */
  online?: { graceMs: number };
  /** The clock ages are measured with (tests move it). */
  now?: () => Date;
  /** Called after a blob's content is deleted (BlobStore.forget: the shared descriptor cache). */
  forget?: (digest: Digest) => Promise<void>;
  /** Checked before every deletion: a collector that lost its lease stops. */
  lease?: GcLease;
  onEvent?: (event: GcEvent) => void;
  /** Test seams of the online protocol: after the markers are written, and before the final deletes. */
  hooks?: {
    afterMarkers?: (candidates: readonly Digest[]) => Promise<void>;
    beforeDelete?: (candidates: readonly Digest[]) => Promise<void>;
    /** After the blobs are deleted, before the links listed earlier are swept. */
    afterBlobsDeleted?: (deleted: readonly Digest[]) => Promise<void>;
    /** After a candidate's data was set aside, before the last look at its marker. */
    afterSetAside?: (candidate: Digest) => Promise<void>;
  };
}

export type KeepReason = 'referenced-on-recheck' | 'marker-removed';

export type GcEvent =
  | MarkEvent
  | { type: 'delete-manifest'; repository: string; digest: string }
  | { type: 'delete-blob'; digest: string; size: number }
  | { type: 'keep-blob'; digest: string; reason: KeepReason }
  | { type: 'delete-layer-link'; repository: string; digest: string }
  | { type: 'delete-repository'; repository: string };

export interface CollectSummary {
  dryRun: boolean;
  online: boolean;
  repositories: number;
  markedBlobs: number;
  deletedManifests: { repository: string; digest: string }[];
  deletedBlobs: string[];
  keptBlobs: { digest: string; reason: KeepReason }[];
  deletedLayerLinks: { repository: string; digest: string }[];
  removedRepositories: string[];
  removedDirectories: number;
  bytesFreed: number;
}

/**
 * One garbage collection run: mark, then sweep in this order: untagged revisions (with their tag
 * history entries), blobs, `_layers` links to blobs that are gone, repositories left without
 * content, empty directories (offline, filesystem). A dry run does the same walk and reports
 * what it would delete.
 */
export async function collectGarbage(driver: StorageDriver, options: CollectOptions = {}): Promise<CollectSummary> {
  const now = options.now ?? (() => new Date());
  const emit = options.onEvent ?? (() => undefined);
  const dryRun = options.dryRun ?? false;
  const online = options.online;
  const summary: CollectSummary = {
    dryRun,
    online: Boolean(online),
    repositories: 0,
    markedBlobs: 0,
    deletedManifests: [],
    deletedBlobs: [],
    keptBlobs: [],
    deletedLayerLinks: [],
    removedRepositories: [],
    removedDirectories: 0,
    bytesFreed: 0,
  };
  if (!dryRun) await settleSetAside(driver);
  const markStart = now();
  const olderThanGrace = (time: Date) => !online || time.getTime() < markStart.getTime() - online.graceMs;
  const reader = new ReferenceReader(driver);
  const result = await mark(
    driver,
    {
      deleteUntagged: options.deleteUntagged ?? false,
      protectLinkedAfter: online ? new Date(markStart.getTime() - online.graceMs) : undefined,
    },
    reader,
    emit,
  );
  summary.repositories = result.repositories.length;
  summary.markedBlobs = result.marked.size;
  const check = () => options.lease?.check();

  // 1. Untagged revisions. Online, the link is looked at again right before: a push re-links it.
  for (const { repository, digest } of result.untagged) {
    check();
    if (online) {
      const linkedAt = await modTimeOf(driver, paths.revisionLink(repository.name, digest));
      if (!linkedAt || !olderThanGrace(linkedAt)) continue;
    }
    emit({ type: 'delete-manifest', repository: repository.name, digest: digest.text });
    summary.deletedManifests.push({ repository: repository.name, digest: digest.text });
    if (!dryRun) await deleteRevision(driver, repository, digest);
  }

  // 2. Blobs.
  const stored = await storedBlobs(driver);
  const present = new Set<string>();
  const candidates: { digest: Digest; size: number }[] = [];
  for (const digest of stored) {
    const dataTime = await modTimeOf(driver, paths.blobData(digest));
    if (dataTime) present.add(digest.text);
    if (result.marked.has(digest.text)) continue;
    // Online, a directory without data is an upload being moved into place or a crashed run's marker: left alone.
    if (online && (!dataTime || !olderThanGrace(dataTime))) continue;
    candidates.push({ digest, size: (await blobSize(driver, digest)) ?? 0 });
  }
  const deleted = new Set<string>();
  const deleteBlob = async (digest: Digest, size: number) => {
    check();
    emit({ type: 'delete-blob', digest: digest.text, size });
    summary.deletedBlobs.push(digest.text);
    summary.bytesFreed += size;
    deleted.add(digest.text);
    if (dryRun) return;
    await deleteIfPresent(driver, paths.blobDirectory(digest));
    await options.forget?.(digest);
  };
  let repositories: readonly RepositoryInventory[] = result.repositories;
  if (!online || dryRun) {
    for (const { digest, size } of candidates) await deleteBlob(digest, size);
  } else {
    // g1: mark every candidate as being deleted; from now on a manifest push referencing one fails.
    for (const { digest } of candidates) {
      check();
      await driver.putContent(paths.blobDeletingMarker(digest), Buffer.from(JSON.stringify({ since: now().toISOString() })));
    }
    await options.hooks?.afterMarkers?.(candidates.map((c) => c.digest));
    // g2: revisions written before our markers are seen now; those written after saw the markers.
    const recheck = candidates.length > 0 ? await mark(driver, { deleteUntagged: false }, reader) : undefined;
    if (recheck) repositories = recheck.repositories;
    const remaining: typeof candidates = [];
    for (const candidate of candidates) {
      if (recheck?.marked.has(candidate.digest.text)) {
        await deleteIfPresent(driver, paths.blobDeletingMarker(candidate.digest));
        emit({ type: 'keep-blob', digest: candidate.digest.text, reason: 'referenced-on-recheck' });
        summary.keptBlobs.push({ digest: candidate.digest.text, reason: 'referenced-on-recheck' });
      } else {
        remaining.push(candidate);
      }
    }
    await options.hooks?.beforeDelete?.(remaining.map((c) => c.digest));
    // g3: an upload of the same content removed the marker: the blob is wanted again.
    for (const { digest } of remaining) {
      check();
      const size = (await blobSize(driver, digest)) ?? 0;
      const marked = await modTimeOf(driver, paths.blobDeletingMarker(digest));
      if (!marked || !(await setAsideUnlessWanted(driver, digest, options))) {
        emit({ type: 'keep-blob', digest: digest.text, reason: 'marker-removed' });
        summary.keptBlobs.push({ digest: digest.text, reason: 'marker-removed' });
        continue;
      }
      emit({ type: 'delete-blob', digest: digest.text, size });
      summary.deletedBlobs.push(digest.text);
      summary.bytesFreed += size;
      deleted.add(digest.text);
    }
  }

  await options.hooks?.afterBlobsDeleted?.([...deleted].map((text) => parseDigest(text)!));

  // 3. Layer links: offline, every link to a blob not marked or not stored; online, links to
  // what this run deleted (a fresh upload's link, not yet in a manifest, must stay).
  for (const repository of repositories) {
    for (const digest of repository.layers) {
      const stale = online ? deleted.has(digest.text) : !result.marked.has(digest.text) || !present.has(digest.text) || deleted.has(digest.text);
      if (!stale) continue;
      check();
      if (!dryRun) {
        if (online) {
          if (!(await removeStaleLayerLink(driver, repository.name, digest))) continue;
        } else {
          await deleteIfPresent(driver, paths.layerLinkDirectory(repository.name, digest));
        }
      }
      emit({ type: 'delete-layer-link', repository: repository.name, digest: digest.text });
      summary.deletedLayerLinks.push({ repository: repository.name, digest: digest.text });
    }
  }

  // 4. Offline: repositories left without content leave the catalog; empty directories go.
  if (!online && !dryRun) {
    for (const repository of result.repositories) {
      if (await removeIfEmpty(driver, repository.name)) {
        emit({ type: 'delete-repository', repository: repository.name });
        summary.removedRepositories.push(repository.name);
      }
    }
    if (driver.name === 'filesystem') {
      summary.removedDirectories += await removeEmptyDirectories(driver, paths.repositoriesRoot);
      summary.removedDirectories += await removeEmptyDirectories(driver, paths.blobsRoot);
    }
  }
  return summary;
}

/**
 * The last step of deleting a blob online, closing the gap between "the marker is still there"
 * and "the data is gone". An upload of the same content removes the marker and then looks for
 * the data (dropping its own copy if the data is there, moving it in if not). So the data is
 * first moved aside; then, if the marker has gone meanwhile, the data goes back (unless the
 * upload already put its own copy in place: the same bytes). Only the set-aside copy and the
 * marker are deleted, never `data` itself after the last check, so an upload that comes later
 * keeps what it wrote. Returns true when the blob was deleted, false when it was wanted again.
 */
/**
 * Online: removes a repository's link to a blob this run deleted, unless a client has brought the
 * blob back since. The inventory of links was taken before the blobs were deleted, and the walk
 * over all candidates takes a while (seconds on a loaded object store): meanwhile a client that
 * found the blob gone uploads it again, which writes the same link anew, and may push a manifest
 * that needs it. Deleting that link left an acknowledged image without its layer (the online GC
 * soak on S3 caught this). An upload or a mount always has the data in place before it writes the
 * link, so once the link is deleted, data that is there again means the link may be a client's:
 * it is written back. A push that looked in between failed cleanly with MANIFEST_BLOB_UNKNOWN.
 * True when the link is gone.
 */
async function removeStaleLayerLink(driver: StorageDriver, repository: string, digest: Digest): Promise<boolean> {
  if (!(await deleteIfPresent(driver, paths.layerLinkDirectory(repository, digest)))) return false;
  if (!(await modTimeOf(driver, paths.blobData(digest)))) return true;
  await writeLink(driver, paths.layerLink(repository, digest), digest);
  return false;
}

async function setAsideUnlessWanted(driver: StorageDriver, digest: Digest, options: CollectOptions): Promise<boolean> {
  const aside = paths.blobSetAside(digest);
  const data = paths.blobData(digest);
  try {
    await driver.move(data, aside);
  } catch (error) {
    if (!isNotFound(error)) throw error; // already gone: nothing to set aside
  }
  await options.forget?.(digest);
  await options.hooks?.afterSetAside?.(digest);
  if (!(await modTimeOf(driver, paths.blobDeletingMarker(digest)))) {
    if (await modTimeOf(driver, data)) {
      await deleteIfPresent(driver, aside);
    } else {
      try {
        await driver.move(aside, data);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return false;
  }
  await deleteIfPresent(driver, aside);
  await deleteIfPresent(driver, paths.blobDeletingMarker(digest));
  return true;
}

/**
 * Finishes what a collector that died during `setAsideUnlessWanted` left: a set-aside copy
 * whose marker is gone goes back where it was (an upload wanted the blob, unless the upload put
 * its own copy back); one whose marker is still there was on its way out and is deleted with
 * the marker.
 */
async function settleSetAside(driver: StorageDriver): Promise<void> {
  for (const algorithm of ['sha256', 'sha512']) {
    for (const hex of await listOrEmpty(driver, paths.blobsSetAside(algorithm))) {
      const digest = parseDigest(`${algorithm}:${hex}`);
      if (!digest) continue;
      if (await modTimeOf(driver, paths.blobDeletingMarker(digest))) {
        await deleteIfPresent(driver, paths.blobSetAside(digest));
        await deleteIfPresent(driver, paths.blobDeletingMarker(digest));
      } else if (await modTimeOf(driver, paths.blobData(digest))) {
        await deleteIfPresent(driver, paths.blobSetAside(digest));
      } else {
        await driver.move(paths.blobSetAside(digest), paths.blobData(digest));
      }
    }
  }
}
