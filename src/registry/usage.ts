import { parseDigest, type Digest } from '../protocol/digest.js';
import { isNotFound, type StorageDriver } from '../storage/driver.js';
import { paths } from '../storage/paths.js';
import { Catalog } from './catalog.js';
import { listOrEmpty } from './links.js';
import { mapLimit } from './map-limit.js';

/** Storage one repository uses, by the blobs it links. */
export interface RepositoryUsage {
  readonly name: string;
  /** Distinct blobs linked (layers, configs and manifest revisions). */
  readonly blobs: number;
  /** Their total size. */
  readonly bytes: number;
  /** Bytes of blobs another repository links too (deleting this repository would not free them). */
  readonly sharedBytes: number;
  /** Bytes of blobs only this repository links (what deleting it and collecting garbage frees). */
  readonly exclusiveBytes: number;
  /** Linked blobs whose content is not in storage (counted with size 0). */
  readonly missing: number;
}

export interface StorageUsage {
  /** In code-point order of the name. */
  readonly repositories: readonly RepositoryUsage[];
  /** Sum of every repository's bytes: shared blobs count once per repository. */
  readonly linkedBytes: number;
  /** Distinct blobs linked by any repository, and their size: the content actually stored for them. */
  readonly uniqueBlobs: number;
  readonly uniqueBytes: number;
}

/** How many storage calls run at once (an object store answers each in a round trip). */
const concurrency = 16;

/** What one repository links, counted alone (the UI's storage figure for a repository). */
export type LinkedUsage = Pick<RepositoryUsage, 'name' | 'blobs' | 'bytes' | 'missing'>;

/**
 * What one repository uses, by itself: the blobs it links (layers, configs, manifest revisions)
 * and their stored size. Whether another repository shares them is not asked (that needs the
 * whole storage walk of `storageUsage`), so this costs one listing and one stat per blob.
 */
export async function repositoryUsage(driver: StorageDriver, name: string): Promise<LinkedUsage> {
  const digests = await linkedDigests(driver, name);
  const sizes = await blobSizes(driver, [...digests.values()]);
  const { blobs, bytes, missing } = tally(name, digests, sizes, () => false);
  return { name, blobs, bytes, missing };
}

/**
 * What each repository uses: every blob it links under `_layers` and every manifest revision,
 * each with its stored size, split into bytes shared with another repository and bytes only it
 * links. Blob content no repository links (garbage) is not counted. The result is a snapshot:
 * pushes and deletes while it runs may or may not be seen.
 */
export async function storageUsage(driver: StorageDriver): Promise<StorageUsage> {
  const names = await new Catalog(driver).all();
  const linked = await mapLimit(names, concurrency, (name) => linkedDigests(driver, name));
  const owners = new Map<string, number>();
  for (const digests of linked) for (const text of digests.keys()) owners.set(text, (owners.get(text) ?? 0) + 1);

  const unique = new Map<string, Digest>();
  for (const digests of linked) for (const [text, digest] of digests) unique.set(text, digest);
  // Each distinct blob is asked for once, however many repositories link it.
  const sizes = await blobSizes(driver, [...unique.values()]);
  const shared = (text: string) => (owners.get(text) ?? 0) > 1;
  const repositories = names.map((name, i) => tally(name, linked[i]!, sizes, shared));
  return {
    repositories,
    linkedBytes: repositories.reduce((sum, r) => sum + r.bytes, 0),
    uniqueBlobs: unique.size,
    uniqueBytes: [...sizes.values()].reduce<number>((sum, size) => sum + (size ?? 0), 0),
  };
}

/** Adds up a repository's linked blobs from their sizes (undefined: content missing, counted as 0). */
function tally(
  name: string,
  digests: ReadonlyMap<string, Digest>,
  sizes: ReadonlyMap<string, number | undefined>,
  isShared: (text: string) => boolean,
): RepositoryUsage {
  let bytes = 0;
  let sharedBytes = 0;
  let missing = 0;
  for (const text of digests.keys()) {
    const size = sizes.get(text);
    if (size === undefined) missing++;
    bytes += size ?? 0;
    if (isShared(text)) sharedBytes += size ?? 0;
  }
  return { name, blobs: digests.size, bytes, sharedBytes, exclusiveBytes: bytes - sharedBytes, missing };
}

/** The digests a repository links, by text: layer links and manifest revisions together. */
async function linkedDigests(driver: StorageDriver, name: string): Promise<Map<string, Digest>> {
  const digests = new Map<string, Digest>();
  const directories = [`${paths.repository(name)}/_layers`, `${paths.manifests(name)}/revisions`];
  for (const directory of directories) {
    for (const algorithm of await listOrEmpty(driver, directory)) {
      for (const hex of await listOrEmpty(driver, `${directory}/${algorithm}`)) {
        const digest = parseDigest(`${algorithm}:${hex}`);
        if (digest) digests.set(digest.text, digest);
      }
    }
  }
  return digests;
}

/** Stored sizes by digest text; undefined for a blob whose content is missing. */
async function blobSizes(driver: StorageDriver, digests: readonly Digest[]): Promise<Map<string, number | undefined>> {
  const found = await mapLimit(digests, concurrency, (digest) => blobSize(driver, digest));
  return new Map(digests.map((digest, i) => [digest.text, found[i]]));
}

async function blobSize(driver: StorageDriver, digest: Digest): Promise<number | undefined> {
  try {
    return (await driver.stat(paths.blobData(digest))).size;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
