import { RegistryError } from '../protocol/errors.js';
import type { StorageDriver } from '../storage/driver.js';
import { contentMarkers, paths } from '../storage/paths.js';
import { exists } from './links.js';

/** True when the repository holds content: the one definition the catalog and every 404 share. */
export async function repositoryExists(driver: StorageDriver, name: string): Promise<boolean> {
  const found = await Promise.all(contentMarkers.map((marker) => exists(driver, `${paths.repository(name)}/${marker}`)));
  return found.some(Boolean);
}

/** Throws NAME_UNKNOWN (404) unless the repository holds content: one answer for every endpoint that needs it. */
export async function requireRepository(driver: StorageDriver, name: string): Promise<void> {
  if (!(await repositoryExists(driver, name))) {
    throw new RegistryError('NAME_UNKNOWN', { message: `repository ${name} is not known`, detail: { name } });
  }
}

/** The same test on a directory listing already in hand (the catalog walk). */
export function isRepositoryListing(children: readonly string[]): boolean {
  return contentMarkers.some((marker) => children.includes(marker));
}
