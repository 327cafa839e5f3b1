import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { foreignRealmMessage, tokenEndpoint } from './token-realm.js';

describe('token endpoint', () => {
  const page = 'http://127.0.0.1:5000/registry/ui/#/';
  it('keeps a realm on the page’s origin, and resolves a relative one', () => {
    assert.equal(tokenEndpoint('http://127.0.0.1:5000/auth/token', page).href, 'http://127.0.0.1:5000/auth/token');
    assert.equal(tokenEndpoint('/auth/token', page).href, 'http://127.0.0.1:5000/auth/token');
  });
  it('asks a realm on another origin at the same path on the page’s origin', () => {
    assert.equal(tokenEndpoint('https://registry.example.com/auth/token?x=1', page).href, 'http://127.0.0.1:5000/auth/token?x=1');
    assert.equal(tokenEndpoint('http://127.0.0.1/auth/token', page).href, 'http://127.0.0.1:5000/auth/token');
  });
  it('says plainly that only Berth’s own token server works when the realm is elsewhere', () => {
    assert.equal(foreignRealmMessage('/auth/token', page), undefined);
    assert.equal(foreignRealmMessage('http://127.0.0.1:5000/auth/token', page), undefined);
    assert.match(foreignRealmMessage('https://auth.example.com/token', page) ?? '', /https:\/\/auth\.example\.com\/token.*supports Berth's own token server only/);
  });
});
