import type { Digest } from '../protocol/digest.js';
import { isValidTag } from '../protocol/names.js';
import type { StorageDriver } from '../storage/driver.js';
import { paths } from '../storage/paths.js';
import { deleteIfPresent, exists, listOrEmpty, readLink, writeLink } from './links.js';

/** Tags of a repository: `_manifests/tags/<tag>/current/link` names the digest a tag points at. */
export class TagStore {
  constructor(private readonly driver: StorageDriver) {}

  /** The digest the tag points at, or undefined. */
  async resolve(name: string, tag: string): Promise<Digest | undefined> {
    return await readLink(this.driver, paths.tagCurrentLink(name, tag));
  }

  /**
   * Every tag of the repository, in code-point order. A tag directory without a readable current
   * link (a write cut short by a crash) is not a tag.
   */
  async list(name: string): Promise<string[]> {
    const names = (await listOrEmpty(this.driver, paths.tags(name))).filter(isValidTag);
    const present = await Promise.all(names.map((tag) => exists(this.driver, paths.tagCurrentLink(name, tag))));
    return names.filter((_, i) => present[i]);
  }

  /** Points the tag at digest. The history entry goes first, so `current` never names an unrecorded digest. */
  async set(name: string, tag: string, digest: Digest): Promise<void> {
    await writeLink(this.driver, paths.tagIndexLink(name, tag, digest), digest);
    await writeLink(this.driver, paths.tagCurrentLink(name, tag), digest);
  }

  /** Removes the tag; false when there was no such tag. */
  async remove(name: string, tag: string): Promise<boolean> {
    if (!(await this.resolve(name, tag))) return false;
    return await deleteIfPresent(this.driver, paths.tag(name, tag));
  }

  /** Tags that currently point at digest. */
  async pointingAt(name: string, digest: Digest): Promise<string[]> {
    const tags = await this.list(name);
    const targets = await Promise.all(tags.map((tag) => this.resolve(name, tag)));
    return tags.filter((_, i) => targets[i]?.text === digest.text);
  }
}
