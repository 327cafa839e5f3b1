import { RegistryError } from '../protocol/errors.js';
import type { StorageDriver } from '../storage/driver.js';
import { paths } from '../storage/paths.js';
import { deleteIfPresent, listOrEmpty } from './links.js';
import { requireRepository } from './repository.js';

/** What a repository delete removed, for logs and the CLI. */
export interface RepositoryDeleteResult {
  readonly name: string;
}

/**
 * Deletes a whole repository: its layer links, manifest revisions, tags and upload sessions,
 * then its directory when nothing else is left in it. Blob content stays: other repositories may
 * link the same blobs, and garbage collection removes what nothing links any more.
 *
 * Names nest (`a` and `a/b` are separate repositories stored one inside the other), so only the
 * `_`-prefixed directories of this repository are removed, never a nested repository. Once
 * `_layers` and `_manifests` are gone the repository is no longer in `_catalog` and every API
 * route answers NAME_UNKNOWN / BLOB_UNKNOWN / MANIFEST_UNKNOWN for it. A push to the same name
 * while the delete runs may leave part of its content behind; it is a repository again then.
 *
 * Throws UNSUPPORTED when deletes are disabled, NAME_UNKNOWN when there is no such repository.
 */
export async function deleteRepository(
  driver: StorageDriver,
  name: string,
  options: { deleteEnabled: boolean },
): Promise<RepositoryDeleteResult> {
  if (!options.deleteEnabled) {
    throw new RegistryError('UNSUPPORTED', {
      message: 'deletes are disabled on this registry (storage.delete.enabled is false)',
    });
  }
  await requireRepository(driver, name);
  // Manifests first: a reader that still finds a revision then finds the layers it needs.
  await deleteIfPresent(driver, paths.manifests(name));
  await deleteIfPresent(driver, `${paths.repository(name)}/_layers`);
  await deleteIfPresent(driver, paths.uploads(name));
  await removeIfEmpty(driver, name);
  return { name };
}

/** Removes the repository's directory, and its empty parents, unless a nested repository is below. */
async function removeIfEmpty(driver: StorageDriver, name: string): Promise<void> {
  const components = name.split('/');
  for (let length = components.length; length > 0; length--) {
    const directory = paths.repository(components.slice(0, length).join('/'));
    if ((await listOrEmpty(driver, directory)).length > 0) return;
    await deleteIfPresent(driver, directory);
  }
}
