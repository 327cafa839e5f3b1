import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RegistryError } from '../protocol/errors.js';
import { nextLink, parsePageRequest, takePage } from './pagination.js';

const url = (query: string) => new URL(`http://registry.test/v2/_catalog${query}`);

describe('parsePageRequest', () => {
  test('nothing asked: no n, no last', () => {
    assert.deepEqual(parsePageRequest(url('')), {});
    assert.deepEqual(parsePageRequest(url('?n=&last=')), {});
  });

  test('n and last as given', () => {
    assert.deepEqual(parsePageRequest(url('?n=10&last=library%2Fubuntu')), { n: 10, last: 'library/ubuntu' });
    assert.deepEqual(parsePageRequest(url('?n=0')), { n: 0 });
    assert.deepEqual(parsePageRequest(url('?last=b')), { last: 'b' });
  });

  test('an n that is not a non-negative integer is PAGINATION_NUMBER_INVALID (400)', () => {
    for (const n of ['-1', 'ten', '1.5', '1e3', ' 5', '0x10', '+3']) {
      assert.throws(
        () => parsePageRequest(url(`?n=${encodeURIComponent(n)}`)),
        (error: unknown) => {
          assert.ok(error instanceof RegistryError);
          assert.equal(error.code, 'PAGINATION_NUMBER_INVALID');
          assert.equal(error.status, 400);
          return true;
        },
        n,
      );
    }
  });
});

describe('takePage', () => {
  const sorted = ['a', 'b', 'c', 'd', 'e'];

  test('the first page, and whether more follow', () => {
    assert.deepEqual(takePage(sorted, 2), { entries: ['a', 'b'], more: true });
    assert.deepEqual(takePage(sorted, 5), { entries: sorted, more: false });
    assert.deepEqual(takePage(sorted, 50), { entries: sorted, more: false });
  });

  test('the entries after last, which need not be in the list', () => {
    assert.deepEqual(takePage(sorted, 2, 'b'), { entries: ['c', 'd'], more: true });
    assert.deepEqual(takePage(sorted, 2, 'c'), { entries: ['d', 'e'], more: false });
    assert.deepEqual(takePage(sorted, 2, 'bb'), { entries: ['c', 'd'], more: true });
    assert.deepEqual(takePage(sorted, 2, 'e'), { entries: [], more: false });
    assert.deepEqual(takePage(sorted, 2, 'z'), { entries: [], more: false });
    assert.deepEqual(takePage(sorted, 10, ''), { entries: sorted, more: false });
  });

  test('a limit of zero gives no entries', () => {
    assert.deepEqual(takePage(sorted, 0), { entries: [], more: true });
    assert.deepEqual(takePage([], 0), { entries: [], more: false });
  });

  test('walking pages with the last entry of each visits every entry once', () => {
    const seen: string[] = [];
    let last: string | undefined;
    for (;;) {
      const page = takePage(sorted, 2, last);
      seen.push(...page.entries);
      if (!page.more) break;
      last = page.entries.at(-1);
    }
    assert.deepEqual(seen, sorted);
  });
});

describe('nextLink', () => {
  test('an RFC 5988 link to the next page, with last escaped', () => {
    assert.equal(nextLink('/v2/_catalog', 10, 'library/ubuntu'), '</v2/_catalog?last=library%2Fubuntu&n=10>; rel="next"');
    assert.equal(
      nextLink('https://registry.example.com/v2/app/tags/list', 2, 'v1.0'),
      '<https://registry.example.com/v2/app/tags/list?last=v1.0&n=2>; rel="next"',
    );
  });

  test('the link parses back to the same page request', () => {
    const link = nextLink('/v2/_catalog', 3, 'team/app-x');
    const target = /^<([^>]+)>; rel="next"$/.exec(link)![1]!;
    assert.deepEqual(parsePageRequest(new URL(target, 'http://registry.test')), { n: 3, last: 'team/app-x' });
  });
});
