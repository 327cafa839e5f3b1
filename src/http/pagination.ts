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

/** Takes one page of a sorted list: the entries after `last`, at most `limit`, and whether more follow. */
export function takePage(sorted: readonly string[], limit: number, last?: string): { entries: string[]; more: boolean } {
  const after = last === undefined ? sorted : sorted.filter((entry) => entry > last);
  return { entries: after.slice(0, limit), more: after.length > limit };
}

/** An RFC 5988 `Link` header to the next page. */
export function nextLink(location: string, n: number, last: string): string {
  const query = new URLSearchParams({ last, n: String(n) });
  return `<${location}?${query.toString()}>; rel="next"`;
}
