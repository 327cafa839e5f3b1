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

  it('forgets a refused token, but not one renewed meanwhile', () => {
    const cache = new TokenCache(() => 0);
    cache.put('k', 'old', 300);
    cache.forget('k', 'other');
    assert.equal(cache.get('k'), 'old', 'another token was refused: this one stays');
    cache.forget('k', 'old');
    assert.equal(cache.get('k'), undefined);
    cache.put('k', 'new', 300);
    cache.forget('k');
    assert.equal(cache.get('k'), undefined, 'no token named: whatever is cached goes');
  });
});
