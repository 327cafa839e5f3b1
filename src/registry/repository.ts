import type { StorageDriver } from '../storage/driver.js';
import { contentMarkers, paths } from '../storage/paths.js';
import { exists } from './links.js';

/** True when the repository holds content: the one definition the catalog and every 404 share. */
export async function repositoryExists(driver: StorageDriver, name: string): Promise<boolean> {
  const found = await Promise.all(contentMarkers.map((marker) => exists(driver, `${paths.repository(name)}/${marker}`)));
  return found.some(Boolean);
}

/** The same test on a directory listing already in hand (the catalog walk). */
export function isRepositoryListing(children: readonly string[]): boolean {
  return contentMarkers.some((marker) => children.includes(marker));
}
