import { parseDigest, type Digest } from '../protocol/digest.js';
import { isNotFound, type StorageDriver } from '../storage/driver.js';

/**
 * Reads a link file (`sha256:<hex>`, as Distribution writes them). Missing → undefined.
 * A link whose content is not a valid digest is treated as missing: it can only come from a
 * write interrupted by another registry that writes links in place.
 */
export async function readLink(driver: StorageDriver, path: string): Promise<Digest | undefined> {
  try {
    const text = (await driver.getContent(path)).toString('utf8').trim();
    return parseDigest(text);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export async function writeLink(driver: StorageDriver, path: string, digest: Digest): Promise<void> {
  await driver.putContent(path, Buffer.from(digest.text, 'utf8'));
}

/** True when a file or directory exists at path. */
export async function exists(driver: StorageDriver, path: string): Promise<boolean> {
  try {
    await driver.stat(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Deletes path; a path already gone is fine (deletes race with each other). */
export async function deleteIfPresent(driver: StorageDriver, path: string): Promise<boolean> {
  try {
    await driver.delete(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/**
 * The driver's change token of a directory (see StorageDriver.changeToken): undefined when the
 * driver has none, cannot vouch for the directory right now, or the directory is missing.
 */
export async function changeTokenOf(driver: StorageDriver, path: string): Promise<string | undefined> {
  if (!driver.changeToken) return undefined;
  try {
    return await driver.changeToken(path);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Lists a directory; a missing directory is an empty list. */
export async function listOrEmpty(driver: StorageDriver, path: string): Promise<string[]> {
  try {
    return await driver.list(path);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}
