import { parseDigest, type Digest } from '../../../src/protocol/digest.js';
import { Catalog } from '../../../src/registry/catalog.js';
import { exists, listOrEmpty, readLink } from '../../../src/registry/links.js';
import { parseManifest } from '../../../src/registry/manifest-parser.js';
import { isNotFound, type StorageDriver } from '../../../src/storage/driver.js';
import { paths } from '../../../src/storage/paths.js';

/**
 * The collector's half of online garbage collection, as the lead's protocol has it, small
 * enough for a test to run against the registry while clients push: mark every blob that a
 * manifest revision references; for each other blob older than the grace delay (g1) write its
 * deleting marker, (g2) mark again and drop the candidates now referenced (removing their
 * marker), (g3) delete those whose marker is still there. Every revision counts as a root
 * (the soak deletes manifests by digest, so nothing is untagged-but-kept).
 *
 * It stands in for Berth's own collector (src/gc/) until that one runs as `berth garbage-collect
 * --online`; it is not a second implementation to keep.
 */
export interface CollectionFigures {
  /** Blobs whose content was deleted. */
  collected: number;
  bytesFreed: number;
  /** Candidates that a manifest pushed during the run rescued at g2. */
  rescued: number;
  /** Candidates whose marker was gone at g3 (an upload of the same content took it back). */
  reclaimed: number;
}

export async function collectOnce(driver: StorageDriver, graceMs: number): Promise<CollectionFigures> {
  const figures: CollectionFigures = { collected: 0, bytesFreed: 0, rescued: 0, reclaimed: 0 };
  const referenced = await markReferenced(driver);
  const now = Date.now();
  const candidates: { digest: Digest; size: number }[] = [];
  for (const blob of await storedBlobs(driver)) {
    if (referenced.has(blob.digest.text) || now - blob.modTime.getTime() < graceMs) continue;
    candidates.push(blob);
  }
  if (candidates.length === 0) return figures;
  // g1
  for (const { digest } of candidates) {
    await driver.putContent(paths.blobDeletingMarker(digest), Buffer.from(new Date().toISOString()));
  }
  // g2: everything written since the first mark began is in a full second mark.
  const again = await markReferenced(driver);
  const doomed: typeof candidates = [];
  for (const candidate of candidates) {
    if (again.has(candidate.digest.text)) {
      await deleteQuietly(driver, paths.blobDeletingMarker(candidate.digest));
      figures.rescued++;
    } else {
      doomed.push(candidate);
    }
  }
  // g3
  for (const { digest, size } of doomed) {
    if (!(await exists(driver, paths.blobDeletingMarker(digest)))) {
      figures.reclaimed++;
      continue;
    }
    await deleteQuietly(driver, paths.blobDirectory(digest));
    figures.collected++;
    figures.bytesFreed += size;
  }
  return figures;
}

/** Digests of every manifest revision and of everything those manifests reference. */
export async function markReferenced(driver: StorageDriver): Promise<Set<string>> {
  const referenced = new Set<string>();
  for (const name of await new Catalog(driver).all()) {
    for (const algorithm of ['sha256', 'sha512']) {
      for (const hex of await listOrEmpty(driver, paths.revisionsOf(name, algorithm))) {
        const digest = parseDigest(`${algorithm}:${hex}`);
        if (!digest) continue;
        const linked = await readLink(driver, paths.revisionLink(name, digest));
        if (linked?.text !== digest.text) continue;
        referenced.add(digest.text);
        let bytes: Buffer;
        try {
          bytes = await driver.getContent(paths.blobData(digest));
        } catch (error) {
          if (isNotFound(error)) continue;
          throw error;
        }
        const manifest = parseManifest(bytes);
        for (const descriptor of [...manifest.blobs, ...manifest.children]) referenced.add(descriptor.digest.text);
      }
    }
  }
  return referenced;
}

/** Every blob with content in storage, with its size and age. */
export async function storedBlobs(driver: StorageDriver): Promise<{ digest: Digest; size: number; modTime: Date; marked: boolean }[]> {
  const found: { digest: Digest; size: number; modTime: Date; marked: boolean }[] = [];
  for (const algorithm of await listOrEmpty(driver, paths.blobsRoot)) {
    for (const prefix of await listOrEmpty(driver, `${paths.blobsRoot}/${algorithm}`)) {
      for (const hex of await listOrEmpty(driver, `${paths.blobsRoot}/${algorithm}/${prefix}`)) {
        const digest = parseDigest(`${algorithm}:${hex}`);
        if (!digest) continue;
        try {
          const info = await driver.stat(paths.blobData(digest));
          const marked = await exists(driver, paths.blobDeletingMarker(digest));
          found.push({ digest, size: info.size, modTime: info.modTime, marked });
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
    }
  }
  return found;
}


async function deleteQuietly(driver: StorageDriver, path: string): Promise<void> {
  try {
    await driver.delete(path);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
