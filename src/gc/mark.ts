import type { Digest } from '../protocol/digest.js';
import { maxManifestBytes } from '../registry/limits.js';
import { Catalog } from '../registry/catalog.js';
import { isNotFound, type StorageDriver } from '../storage/driver.js';
import { paths } from '../storage/paths.js';
import { inventoryOf, type RepositoryInventory } from './inventory.js';
import { manifestReferences, type ManifestReferences } from './references.js';

export interface MarkOptions {
  /** Roots are the tagged manifests (and what they keep) instead of every revision. */
  deleteUntagged: boolean;
  /**
   * Online: revisions whose link is newer than this stay roots even when untagged (a push may be
   * tagging them right now). Undefined offline.
   */
  protectLinkedAfter?: Date;
}

/** An untagged revision the sweep deletes (with --delete-untagged). */
export interface UntaggedRevision {
  readonly repository: RepositoryInventory;
  readonly digest: Digest;
}

export interface MarkResult {
  /** Digest texts of every blob that stays: manifests and what they reference. */
  readonly marked: Set<string>;
  readonly repositories: readonly RepositoryInventory[];
  readonly untagged: readonly UntaggedRevision[];
}

export type MarkEvent =
  | { type: 'repository'; repository: string }
  | { type: 'mark-manifest'; repository: string; digest: string }
  | { type: 'mark-blob'; repository: string; digest: string }
  | { type: 'warning'; message: string; repository?: string; digest?: string };

/**
 * Manifest references by digest, shared by the mark and the online re-check of one run:
 * manifest bytes never change under their digest. Undefined for content that is not stored
 * (or too large to be a manifest: then it is a leaf).
 */
export class ReferenceReader {
  private readonly known = new Map<string, ManifestReferences | undefined>();

  constructor(private readonly driver: StorageDriver) {}

  async read(digest: Digest, strict: boolean): Promise<ManifestReferences | undefined> {
    if (this.known.has(digest.text)) return this.known.get(digest.text);
    let references: ManifestReferences | undefined;
    try {
      const info = await this.driver.stat(paths.blobData(digest));
      if (info.size <= maxManifestBytes) {
        const bytes = await this.driver.getContent(paths.blobData(digest));
        try {
          references = manifestReferences(digest.text, bytes);
        } catch (error) {
          // A revision must be understood; an index child that is not JSON is just a leaf.
          if (strict) throw error;
        }
      }
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    this.known.set(digest.text, references);
    return references;
  }
}

/**
 * The mark phase: walks every repository of the catalog and marks every blob reachable from the
 * roots. Roots are every revision, or with `deleteUntagged` the tagged manifests; a kept
 * manifest keeps its config, layers and (recursively) index children, and with
 * `deleteUntagged` also its referrers (revisions whose `subject` is kept, recursively), so
 * signatures and SBOMs stay with their image. Revisions not kept and not marked through any
 * repository are returned as `untagged`.
 */
export async function mark(
  driver: StorageDriver,
  options: MarkOptions,
  reader = new ReferenceReader(driver),
  emit: (event: MarkEvent) => void = () => undefined,
): Promise<MarkResult> {
  const marked = new Set<string>();
  const expanded = new Set<string>();
  const repositories: RepositoryInventory[] = [];
  const unkept: UntaggedRevision[] = [];

  const markManifest = async (repository: string, digest: Digest, strict: boolean): Promise<void> => {
    if (!marked.has(digest.text)) emit({ type: 'mark-manifest', repository, digest: digest.text });
    marked.add(digest.text);
    if (expanded.has(digest.text)) return;
    expanded.add(digest.text);
    const references = await reader.read(digest, strict);
    if (!references) {
      if (strict) emit({ type: 'warning', message: 'manifest revision has no content', repository, digest: digest.text });
      return;
    }
    for (const blob of references.blobs) {
      if (!marked.has(blob.text)) emit({ type: 'mark-blob', repository, digest: blob.text });
      marked.add(blob.text);
    }
    for (const child of references.children) await markManifest(repository, child, false);
  };

  for (const name of await new Catalog(driver).all()) {
    emit({ type: 'repository', repository: name });
    const inventory = await inventoryOf(driver, name);
    repositories.push(inventory);
    const revisions = [...inventory.revisions.values()];
    if (!options.deleteUntagged) {
      for (const revision of revisions) await markManifest(name, revision.digest, true);
      continue;
    }
    const kept = new Set<string>();
    const keep = async (digest: Digest, strict: boolean) => {
      kept.add(digest.text);
      await markManifest(name, digest, strict);
      // Children of a kept index are kept too (for their own referrers).
      const references = await reader.read(digest, false);
      for (const child of references?.children ?? []) if (!kept.has(child.text)) await keep(child, false);
    };
    for (const digest of inventory.tags.values()) if (!kept.has(digest.text)) await keep(digest, inventory.revisions.has(digest.text));
    const protectedAfter = options.protectLinkedAfter;
    for (const revision of revisions) {
      if (protectedAfter && revision.linkedAt > protectedAfter && !kept.has(revision.digest.text)) await keep(revision.digest, true);
    }
    // Referrers of kept manifests, until no more are found (a signature of an SBOM of an image).
    let grew = true;
    while (grew) {
      grew = false;
      for (const revision of revisions) {
        if (kept.has(revision.digest.text)) continue;
        const subject = (await reader.read(revision.digest, true))?.subject;
        if (subject && kept.has(subject.text)) {
          await keep(revision.digest, true);
          grew = true;
        }
      }
    }
    for (const revision of revisions) {
      if (!kept.has(revision.digest.text)) unkept.push({ repository: inventory, digest: revision.digest });
    }
  }
  // As Distribution: a revision marked through any repository (an index child elsewhere) stays.
  const untagged = unkept.filter((revision) => !marked.has(revision.digest.text));
  return { marked, repositories, untagged };
}
