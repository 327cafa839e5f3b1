import type { Digest } from '../protocol/digest.js';
import { deleteIfPresent, listOrEmpty } from '../registry/links.js';
import { isNotFound, type StorageDriver } from '../storage/driver.js';
import { paths } from '../storage/paths.js';
import type { RepositoryInventory } from './inventory.js';

/** The size of a blob's data, or undefined when it has none. */
export async function blobSize(driver: StorageDriver, digest: Digest): Promise<number | undefined> {
  try {
    return (await driver.stat(paths.blobData(digest))).size;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Deletes a revision and the tag history entries that name it (current links never do: it is untagged). */
export async function deleteRevision(driver: StorageDriver, repository: RepositoryInventory, digest: Digest): Promise<void> {
  for (const tag of repository.tagDirectories) {
    await deleteIfPresent(driver, `${paths.tag(repository.name, tag)}/index/${digest.algorithm}/${digest.hex}`);
  }
  await deleteIfPresent(driver, paths.revisionLinkDirectory(repository.name, digest));
}

/**
 * Removes a repository's `_manifests` and `_layers` when no revision and no layer link is left,
 * so that it leaves the catalog (a repository is a directory with either). Offline only: a
 * push could be writing its first link right now.
 */
export async function removeIfEmpty(driver: StorageDriver, name: string): Promise<boolean> {
  const revisions = await listOrEmpty(driver, `${paths.manifests(name)}/revisions`);
  const revisionsLeft = await Promise.all(revisions.map((a) => listOrEmpty(driver, `${paths.manifests(name)}/revisions/${a}`)));
  const layers = await listOrEmpty(driver, `${paths.repository(name)}/_layers`);
  const layersLeft = await Promise.all(layers.map((a) => listOrEmpty(driver, `${paths.repository(name)}/_layers/${a}`)));
  if (revisionsLeft.some((l) => l.length > 0) || layersLeft.some((l) => l.length > 0)) return false;
  const removedManifests = await deleteIfPresent(driver, paths.manifests(name));
  const removedLayers = await deleteIfPresent(driver, `${paths.repository(name)}/_layers`);
  return removedManifests || removedLayers;
}

/**
 * Deletes the directories below `base` that hold nothing (filesystem storage keeps them after
 * their files are gone; object stores have no directories). `base` itself stays. Returns how
 * many were removed.
 */
export async function removeEmptyDirectories(driver: StorageDriver, base: string): Promise<number> {
  let removed = 0;
  const visit = async (path: string): Promise<boolean> => {
    let children: string[];
    try {
      const info = await driver.stat(path);
      if (!info.isDirectory) return false;
      children = await driver.list(path);
    } catch (error) {
      if (isNotFound(error)) return true;
      throw error;
    }
    let emptied = 0;
    for (const child of children) if (await visit(`${path}/${child}`)) emptied++;
    if (emptied === children.length && path !== base) {
      if (await deleteIfPresent(driver, path)) removed++;
      return true;
    }
    return false;
  };
  await visit(base);
  return removed;
}
