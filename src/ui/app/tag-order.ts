/** Filtering and sorting the tag table. Pure, so the order rules are unit-tested. */
import type { TagSummary } from './api-types.js';

export type TagSortKey = 'tag' | 'size' | 'created' | 'pushed';
export interface TagSort {
  key: TagSortKey;
  descending: boolean;
}

/** The order a column starts in when first clicked: names A→Z, sizes and times largest/newest first. */
export const firstDirection = (key: TagSortKey): boolean => key !== 'tag';

/** Case-insensitive substring filter on the tag name, then a stable sort; ties keep name order. */
export function orderTags(tags: readonly TagSummary[], filter: string, sort: TagSort): TagSummary[] {
  const needle = filter.trim().toLowerCase();
  const kept = needle === '' ? [...tags] : tags.filter((tag) => tag.tag.toLowerCase().includes(needle));
  const sign = sort.descending ? -1 : 1;
  return kept.sort((a, b) => sign * compareBy(sort.key, a, b) || compareText(a.tag, b.tag));
}

function compareBy(key: TagSortKey, a: TagSummary, b: TagSummary): number {
  switch (key) {
    case 'tag':
      return compareText(a.tag, b.tag);
    case 'size':
      return a.size - b.size;
    case 'created':
      return time(a.created) - time(b.created);
    case 'pushed':
      return time(a.pushedAt) - time(b.pushedAt);
  }
}

/** Unknown times sort as the oldest. */
const time = (iso: string | null): number => (iso ? Date.parse(iso) || 0 : 0);
const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The tag a pull command shows by default: `latest` when there is one, else the newest push. */
export function defaultTag(tags: readonly TagSummary[]): string | undefined {
  if (tags.some((tag) => tag.tag === 'latest')) return 'latest';
  return orderTags(tags, '', { key: 'pushed', descending: true })[0]?.tag;
}
