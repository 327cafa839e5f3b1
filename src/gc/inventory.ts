import { isDigestAlgorithm, parseDigest, type Digest } from '../protocol/digest.js';
import { listOrEmpty } from '../registry/links.js';
import { isNotFound, type StorageDriver } from '../storage/driver.js';
import { paths } from '../storage/paths.js';

/** A manifest revision of a repository, with the modification time of its link. */
export interface Revision {
  readonly digest: Digest;
  readonly linkedAt: Date;
}

/** What one repository holds, as listed from storage at one moment. */
export interface RepositoryInventory {
  readonly name: string;
  /** Revisions with a link file, by digest text. */
  readonly revisions: Map<string, Revision>;
  /** Tag → the digest its current link names (tags without a readable current link are left out). */
  readonly tags: Map<string, Digest>;
  /** Every tag directory, also those without a current link (their index entries are cleaned too). */
  readonly tagDirectories: readonly string[];
  /** Digests with a `_layers` link directory. */
  readonly layers: readonly Digest[];
}

/** The directory names of a `<alg>/<hex>` tree below base, as digests. */
export async function digestsUnder(driver: StorageDriver, base: string): Promise<Digest[]> {
  const found: Digest[] = [];
  for (const algorithm of await listOrEmpty(driver, base)) {
    if (!isDigestAlgorithm(algorithm)) continue;
    for (const hex of await listOrEmpty(driver, `${base}/${algorithm}`)) {
      const digest = parseDigest(`${algorithm}:${hex}`);
      if (digest) found.push(digest);
    }
  }
  return found;
}

/** The modification time of a file, or undefined when it is missing. */
export async function modTimeOf(driver: StorageDriver, path: string): Promise<Date | undefined> {
  try {
    const info = await driver.stat(path);
    return info.isDirectory ? undefined : info.modTime;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Lists revisions, tags and layer links of a repository. */
export async function inventoryOf(driver: StorageDriver, name: string): Promise<RepositoryInventory> {
  const revisions = new Map<string, Revision>();
  for (const digest of await digestsUnder(driver, `${paths.manifests(name)}/revisions`)) {
    const linkedAt = await modTimeOf(driver, paths.revisionLink(name, digest));
    if (linkedAt) revisions.set(digest.text, { digest, linkedAt });
  }
  const tagDirectories = await listOrEmpty(driver, paths.tags(name));
  const tags = new Map<string, Digest>();
  for (const tag of tagDirectories) {
    const current = await readLinkLenient(driver, paths.tagCurrentLink(name, tag));
    if (current) tags.set(tag, current);
  }
  const layers = await digestsUnder(driver, `${paths.repository(name)}/_layers`);
  return { name, revisions, tags, tagDirectories, layers };
}

async function readLinkLenient(driver: StorageDriver, path: string): Promise<Digest | undefined> {
  try {
    return parseDigest((await driver.getContent(path)).toString('utf8').trim());
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Every blob directory of the content store, as digests (whether or not it holds data). */
export async function storedBlobs(driver: StorageDriver): Promise<Digest[]> {
  const found: Digest[] = [];
  for (const algorithm of await listOrEmpty(driver, paths.blobsRoot)) {
    if (!isDigestAlgorithm(algorithm)) continue;
    for (const prefix of await listOrEmpty(driver, `${paths.blobsRoot}/${algorithm}`)) {
      for (const hex of await listOrEmpty(driver, `${paths.blobsRoot}/${algorithm}/${prefix}`)) {
        const digest = parseDigest(`${algorithm}:${hex}`);
        if (digest && digest.hex.startsWith(prefix)) found.push(digest);
      }
    }
  }
  return found;
}
