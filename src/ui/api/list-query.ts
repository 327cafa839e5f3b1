import { parsePageRequest, takePage } from '../../http/pagination.js';

/** Page sizes of one UI listing: without `n`, `defaultSize`; a larger `n` gets `maxSize`. */
export interface PageSizes {
  readonly defaultSize: number;
  readonly maxSize: number;
}

/** A UI listing request: `q` (substring, any case), `n` (page size) and `last` (cursor). */
export interface ListQuery {
  /** Lower-cased; '' matches everything. */
  readonly q: string;
  readonly n: number;
  readonly last?: string;
}

/** Reads `q`, `n` and `last`; `n` that is not a non-negative integer is 400 PAGINATION_NUMBER_INVALID. */
export function parseListQuery(url: URL, sizes: PageSizes): ListQuery {
  const { n, last } = parsePageRequest(url);
  // 0 would make a page that cannot name where the next one starts: at least one entry.
  const size = Math.max(1, Math.min(n ?? sizes.defaultSize, sizes.maxSize));
  return { q: (url.searchParams.get('q') ?? '').toLowerCase(), n: size, last };
}

/** One page of a filtered listing, with the count of everything that matched. */
export interface ListPage {
  readonly entries: string[];
  readonly total: number;
  /** The `last` of the next page; null on the last page. */
  readonly next: string | null;
}

/**
 * Filters names sorted in code-point order by the query's `q` and by `visible` (what the caller
 * may see), counts them, and takes the page after `last`. All in memory: a name list of
 * thousands filters in well under a millisecond, and only the page is looked up further.
 */
export function pageOf(sorted: readonly string[], query: ListQuery, visible: (name: string) => boolean = () => true): ListPage {
  const matching = sorted.filter((name) => (query.q === '' || name.toLowerCase().includes(query.q)) && visible(name));
  const page = takePage(matching, query.n, query.last);
  return { entries: page.entries, total: matching.length, next: page.more ? page.entries.at(-1)! : null };
}
