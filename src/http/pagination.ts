import { firstAfter } from '../registry/sorted-names.js';
import { RegistryError } from '../protocol/errors.js';

export interface PageRequest {
  /** How many entries the client asked for; undefined when it did not say. */
  n?: number;
  last?: string;
}

/** Reads `n` and `last` from a listing URL. A non-integer or negative `n` is a 400. */
export function parsePageRequest(url: URL): PageRequest {
  const request: PageRequest = {};
  const n = url.searchParams.get('n');
  if (n !== null && n !== '') {
    if (!/^\d+$/.test(n)) {
      throw new RegistryError('PAGINATION_NUMBER_INVALID', {
        message: `n must be a non-negative integer, not ${JSON.stringify(n)}`,
        detail: { n },
      });
    }
    request.n = Number(n);
  }
  const last = url.searchParams.get('last');
  if (last !== null && last !== '') request.last = last;
  return request;
}

/**
 * Takes one page of a list sorted in code-point order: the entries after `last` that pass
 * `visible` (what the caller may see), at most `limit`, and whether more follow. The start is
 * found by binary search and the scan stops once the page is full, so a page costs the same at
 * any depth of the list.
 */
export function takePage(
  sorted: readonly string[],
  limit: number,
  last?: string,
  visible: (entry: string) => boolean = () => true,
): { entries: string[]; more: boolean } {
  const entries: string[] = [];
  for (let i = last === undefined ? 0 : firstAfter(sorted, last); i < sorted.length; i++) {
    if (!visible(sorted[i]!)) continue;
    if (entries.length === limit) return { entries, more: true };
    entries.push(sorted[i]!);
  }
  return { entries, more: false };
}

/** An RFC 5988 `Link` header to the next page. */
export function nextLink(location: string, n: number, last: string): string {
  const query = new URLSearchParams({ last, n: String(n) });
  return `<${location}?${query.toString()}>; rel="next"`;
}
