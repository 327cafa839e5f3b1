import { parseDigest, type Digest } from '../protocol/digest.js';
import { isNotFound, type StorageDriver } from '../storage/driver.js';
import { paths } from '../storage/paths.js';
import { Catalog } from './catalog.js';
import { listOrEmpty } from './links.js';

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
  const sizes = new Map<string, number | undefined>();
  const entries = [...unique.entries()];
  const found = await mapLimit(entries, concurrency, ([, digest]) => blobSize(driver, digest));
  entries.forEach(([text], i) => sizes.set(text, found[i]));

  const repositories = names.map((name, i): RepositoryUsage => {
    let bytes = 0;
    let sharedBytes = 0;
    let missing = 0;
    for (const text of linked[i]!.keys()) {
      const size = sizes.get(text);
      if (size === undefined) missing++;
      bytes += size ?? 0;
      if ((owners.get(text) ?? 0) > 1) sharedBytes += size ?? 0;
    }
    return { name, blobs: linked[i]!.size, bytes, sharedBytes, exclusiveBytes: bytes - sharedBytes, missing };
  });
  return {
    repositories,
    linkedBytes: repositories.reduce((sum, r) => sum + r.bytes, 0),
    uniqueBlobs: unique.size,
    uniqueBytes: [...sizes.values()].reduce<number>((sum, size) => sum + (size ?? 0), 0),
  };
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

async function blobSize(driver: StorageDriver, digest: Digest): Promise<number | undefined> {
  try {
    return (await driver.stat(paths.blobData(digest))).size;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Maps items with at most `limit` calls in flight, keeping the order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
