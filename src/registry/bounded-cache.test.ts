import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BoundedCache } from './bounded-cache.js';

describe('BoundedCache', () => {
  test('gives back what was set, undefined for anything else', () => {
    const cache = new BoundedCache<string>(10);
    assert.equal(cache.get('a'), undefined);
    cache.set('a', 'value a');
    assert.equal(cache.get('a'), 'value a');
    assert.equal(cache.get('b'), undefined);
  });

  test('counts entries by default and evicts the oldest beyond capacity', () => {
    const cache = new BoundedCache<number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.get('b'), 2);
    assert.equal(cache.get('c'), 3);
  });

  test('a read makes an entry the most recently used', () => {
    const cache = new BoundedCache<number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    assert.equal(cache.get('a'), 1);
    cache.set('c', 3);
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('a'), 1);
    assert.equal(cache.get('c'), 3);
  });

  test('weighs values by the given function and evicts as many as needed', () => {
    const cache = new BoundedCache<Buffer>(10, (value) => value.length);
    cache.set('a', Buffer.alloc(4));
    cache.set('b', Buffer.alloc(4));
    cache.set('c', Buffer.alloc(2));
    assert.ok(cache.get('a') && cache.get('b') && cache.get('c'), 'exactly at capacity, all stay');
    cache.set('d', Buffer.alloc(9));
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('c'), undefined);
    assert.equal(cache.get('d')?.length, 9);
  });

  test('a value heavier than the whole capacity is not kept and evicts nothing', () => {
    const cache = new BoundedCache<Buffer>(10, (value) => value.length);
    cache.set('small', Buffer.alloc(3));
    cache.set('huge', Buffer.alloc(11));
    assert.equal(cache.get('huge'), undefined);
    assert.equal(cache.get('small')?.length, 3);
    cache.set('whole', Buffer.alloc(10));
    assert.equal(cache.get('whole')?.length, 10);
    assert.equal(cache.get('small'), undefined);
  });

  test('setting a key again replaces its value without counting it twice', () => {
    const cache = new BoundedCache<number>(2);
    cache.set('a', 1);
    cache.set('a', 1);
    cache.set('a', 1);
    cache.set('b', 2);
    assert.equal(cache.get('a'), 1);
    assert.equal(cache.get('b'), 2);
  });

  test('delete removes the entry and frees its weight; deleting a missing key is harmless', () => {
    const cache = new BoundedCache<Buffer>(8, (value) => value.length);
    cache.set('a', Buffer.alloc(4));
    cache.set('b', Buffer.alloc(4));
    cache.delete('a');
    cache.delete('a');
    cache.delete('never');
    assert.equal(cache.get('a'), undefined);
    cache.set('c', Buffer.alloc(4));
    assert.equal(cache.get('b')?.length, 4, 'the freed weight made room without evicting b');
    assert.equal(cache.get('c')?.length, 4);
  });
});
