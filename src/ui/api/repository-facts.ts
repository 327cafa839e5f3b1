import { isNotFound } from '../../storage/driver.js';
import { paths } from '../../storage/paths.js';
import { mapLimit } from '../../registry/map-limit.js';
import type { Registry } from '../../registry/registry.js';

/** Storage calls one UI request keeps in flight (an object store answers each in a round trip). */
export const uiConcurrency = 16;

/** A repository as the repository list shows it. */
export interface RepositoryFacts {
  readonly name: string;
  readonly tagCount: number;
  /** The newest push of any of its tags (ISO); null without tags. */
  readonly lastPush: string | null;
}

/**
 * When the tag was last pushed: the modification time of its `current/link`, which every push
 * of the tag rewrites (ISO); null when the tag is gone.
 */
export async function tagPushedAt(registry: Registry, name: string, tag: string): Promise<string | null> {
  try {
    return (await registry.driver.stat(paths.tagCurrentLink(name, tag))).modTime.toISOString();
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/** Tag count and last push of a repository: one tag listing, then one stat per tag. */
export async function repositoryFacts(registry: Registry, name: string): Promise<RepositoryFacts> {
  const tags = await registry.tags.list(name);
  const times = await mapLimit(tags, uiConcurrency, (tag) => tagPushedAt(registry, name, tag));
  // ISO strings of the same form sort as the times do.
  const lastPush = times.reduce<string | null>((newest, time) => (time !== null && (newest === null || time > newest) ? time : newest), null);
  return { name, tagCount: tags.length, lastPush };
}
