import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authKey } from './auth-key.js';

const digest = `sha256:${'c'.repeat(64)}`;

describe('auth keys', () => {
  it('gives every read of one repository the same key, through either API', () => {
    const keys = new Set([
      authKey('GET', 'berth/v1/repositories/shop/web/_summary'),
      authKey('GET', 'berth/v1/repositories/shop/web/_tags?n=1000'),
      authKey('GET', `berth/v1/repositories/shop/web/_images/${digest}`),
      authKey('GET', `v2/shop/web/referrers/${digest}`),
      authKey('GET', `v2/shop/web/blobs/${digest}`),
      authKey('HEAD', 'v2/shop/web/manifests/v1'),
      authKey('GET', 'v2/shop/web/tags/list'),
    ]);
    assert.deepEqual([...keys], ['read repository shop/web']);
  });

  it('keeps deletes, other repositories and other paths apart', () => {
    assert.equal(authKey('DELETE', 'v2/shop/web/manifests/v1'), 'DELETE repository shop/web');
    assert.equal(authKey('GET', 'v2/shop/_tags/manifests/v1'), 'read repository shop/_tags');
    assert.equal(authKey('GET', 'berth/v1/repositories?n=50&q=x'), 'read berth/v1/repositories');
    assert.equal(authKey('GET', 'berth/v1/ui/info'), 'read berth/v1/ui/info');
  });
});
