import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenCache } from './token-cache.js';

describe('token cache', () => {
  it('keeps a token until shortly before it expires', () => {
    let now = 1_000_000;
    const cache = new TokenCache(() => now);
    cache.put('repository:a:pull', 't1', 300);
    cache.put('registry:catalog:*', 't2', undefined);
    assert.equal(cache.get('repository:a:pull'), 't1');
    assert.equal(cache.get('repository:b:pull'), undefined);
    now += 45_000;
    assert.equal(cache.get('registry:catalog:*'), 't2');
    now += 10_000;
    assert.equal(cache.get('registry:catalog:*'), undefined, 'the default lifetime is 60 s');
    assert.equal(cache.get('repository:a:pull'), 't1');
    cache.clear();
    assert.equal(cache.get('repository:a:pull'), undefined);
  });
});
