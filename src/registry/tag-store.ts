import type { Digest } from '../protocol/digest.js';
import { RegistryError } from '../protocol/errors.js';
import { isValidTag } from '../protocol/names.js';
import type { StorageDriver } from '../storage/driver.js';
import { BoundedCache } from './bounded-cache.js';
import { paths } from '../storage/paths.js';
import { changeTokenOf, deleteIfPresent, exists, listOrEmpty, readLink, writeLink } from './links.js';
import { mapLimit } from './map-limit.js';

/** What one repository's tag directory held when last listed. */
interface TagListing {
  /** The directory's change token then; undefined when the driver could not vouch for it. */
  readonly token: string | undefined;
  /** Tags with a current link, in code-point order. */
  readonly tags: readonly string[];
  /** Tag directories without a current link yet: a push between its two link writes, or a crash. */
  readonly pending: readonly string[];
}

/** Repositories whose last tag listing is kept (a few hundred bytes each, more with many tags). */
const listingsKept = 1000;

/** Tags of a repository: `_manifests/tags/<tag>/current/link` names the digest a tag points at. */
export class TagStore {
  private readonly listings = new BoundedCache<TagListing>(listingsKept, undefined, 'tag_listings');

  constructor(
    private readonly driver: StorageDriver,
    /** `limits.tags`: the most tags a repository may hold; 0 for no limit. */
    private readonly maxTags = 0,
  ) {}

  /**
   * Refuses, with 403 DENIED, a push that would give the repository more than `limits.tags`
   * tags. Tags it holds already may move freely. Checked before the push stores anything; two
   * pushes of new tags at the same moment may each pass, so the limit can be passed by the
   * number of concurrent pushes (it bounds a runaway client, it is not a billing quota).
   */
  async ensureRoom(name: string, tags: readonly string[]): Promise<void> {
    if (this.maxTags <= 0 || tags.length === 0) return;
    const existing = await this.list(name);
    const held = new Set(existing);
    const added = new Set(tags.filter((tag) => !held.has(tag)));
    if (added.size === 0 || existing.length + added.size <= this.maxTags) return;
    throw new RegistryError('DENIED', {
      message: `repository ${name} has ${existing.length} tags; the limit is ${this.maxTags} (limits.tags): delete tags before adding more`,
      detail: { name, tags: existing.length, limit: this.maxTags },
    });
  }

  /** The digest the tag points at, or undefined. */
  async resolve(name: string, tag: string): Promise<Digest | undefined> {
    return await readLink(this.driver, paths.tagCurrentLink(name, tag));
  }

  /**
   * Every tag of the repository, in code-point order. A tag directory without a readable current
   * link (a write cut short by a crash) is not a tag.
   *
   * Listing a tag directory is one readdir plus one check per tag: too slow for every page of
   * a large repository. So the last listing is kept, and used again while the driver's change
   * token of the directory is the same (any tag added or removed, by any process, changes it).
   * When it changed, the directory is read again but only new names are checked: a name still
   * listed was a tag before and stays one, since removing a tag removes its directory.
   */
  async list(name: string): Promise<readonly string[]> {
    const directory = paths.tags(name);
    const token = await changeTokenOf(this.driver, directory);
    const previous = this.listings.get(name);
    if (token !== undefined && previous?.token === token && previous.pending.length === 0) return previous.tags;
    const known = new Set(previous?.tags);
    const names = await listOrEmpty(this.driver, directory);
    // Only new names need the grammar check and the link check: known ones passed both.
    const unknown = names.filter((tag) => !known.has(tag) && isValidTag(tag));
    const present = await Promise.all(unknown.map((tag) => exists(this.driver, paths.tagCurrentLink(name, tag))));
    const confirmed = new Set(unknown.filter((_, i) => present[i]));
    const tags = names.filter((tag) => known.has(tag) || confirmed.has(tag));
    const pending = unknown.filter((_, i) => !present[i]);
    this.listings.set(name, { token, tags, pending });
    return tags;
  }

  /** Points the tag at digest. The history entry goes first, so `current` never names an unrecorded digest. */
  async set(name: string, tag: string, digest: Digest): Promise<void> {
    await writeLink(this.driver, paths.tagIndexLink(name, tag, digest), digest);
    await writeLink(this.driver, paths.tagCurrentLink(name, tag), digest);
  }

  /** Removes the tag; false when there was no such tag. */
  async remove(name: string, tag: string): Promise<boolean> {
    if (!(await this.resolve(name, tag))) return false;
    try {
      return await deleteIfPresent(this.driver, paths.tag(name, tag));
    } finally {
      // `list` trusts a name it has seen as a tag while its directory is there. A removed tag's
      // directory can come back without a current link (a push that failed between its two link
      // writes): that name must be checked again, not listed for good. Removal done or not, the
      // listing is made afresh (a listing cached by another replica may still trust it).
      this.listings.delete(name);
    }
  }

  /**
   * Tags that currently point at digest. One link read per tag, a bounded number at once: a
   * repository may hold thousands of tags, and an object store answers each read in a round trip.
   */
  async pointingAt(name: string, digest: Digest): Promise<string[]> {
    const tags = await this.list(name);
    const targets = await mapLimit(tags, 16, (tag) => this.resolve(name, tag));
    return tags.filter((_, i) => targets[i]?.text === digest.text);
  }
}
