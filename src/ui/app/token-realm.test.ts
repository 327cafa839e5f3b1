import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tokenEndpoint } from './token-realm.js';

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
});
