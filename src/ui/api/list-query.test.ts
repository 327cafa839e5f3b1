import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RegistryError } from '../../protocol/errors.js';
import { pageOf, parseListQuery } from './list-query.js';

const sizes = { defaultSize: 3, maxSize: 5 };
const query = (search: string) => parseListQuery(new URL(`http://registry.invalid/x${search}`), sizes);

describe('UI listing queries', () => {
  test('n defaults, is capped at the maximum and is at least 1; q is lower-cased', () => {
    assert.deepEqual(query(''), { q: '', n: 3, last: undefined });
    assert.deepEqual(query('?n=500&q=App&last=b'), { q: 'app', n: 5, last: 'b' });
    assert.equal(query('?n=0').n, 1);
    assert.throws(() => query('?n=-1'), (error: unknown) => error instanceof RegistryError && error.code === 'PAGINATION_NUMBER_INVALID');
  });

  test('pages filter by q (any case) and visibility, count every match, and chain with next', () => {
    const names = ['alpha', 'beta', 'team/App', 'team/apple', 'team/secret-app', 'zeta-app'];
    const visible = (name: string) => !name.includes('secret');
    const first = pageOf(names, { q: 'app', n: 2 }, visible);
    assert.deepEqual(first, { entries: ['team/App', 'team/apple'], total: 3, next: 'team/apple' });
    const second = pageOf(names, { q: 'app', n: 2, last: first.next! }, visible);
    assert.deepEqual(second, { entries: ['zeta-app'], total: 3, next: null });
    assert.deepEqual(pageOf(names, { q: '', n: 10 }), { entries: names, total: 6, next: null });
  });
});
