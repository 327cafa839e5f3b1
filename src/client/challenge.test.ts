import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseChallenges } from './challenge.js';
import { nextLink } from './link-header.js';
import { scopeForPath } from './registry-client.js';

describe('parseChallenges', () => {
  it('reads Bearer and Basic challenges, quoted and not, several per header', () => {
    assert.deepEqual(parseChallenges('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"'), [
      { scheme: 'bearer', params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:a/b:pull,push' } },
    ]);
    assert.deepEqual(parseChallenges(['Basic realm="a \\"quoted\\" realm"', 'Bearer realm=http://x/t, error=insufficient_scope']), [
      { scheme: 'basic', params: { realm: 'a "quoted" realm' } },
      { scheme: 'bearer', params: { realm: 'http://x/t', error: 'insufficient_scope' } },
    ]);
    assert.deepEqual(parseChallenges('Basic realm="r", Bearer realm="t"').map((c) => c.scheme), ['basic', 'bearer']);
    assert.deepEqual(parseChallenges(undefined), []);
  });
});

describe('nextLink', () => {
  it('finds the rel="next" target, or nothing', () => {
    assert.equal(nextLink('</v2/_catalog?last=b&n=2>; rel="next"'), '/v2/_catalog?last=b&n=2');
    assert.equal(nextLink('<https://h/v2/a/tags/list?n=2&last=t1>; rel=next'), 'https://h/v2/a/tags/list?n=2&last=t1');
    assert.equal(nextLink('</first>; rel="prev", </second>; rel="next"'), '/second');
    assert.equal(nextLink('</first>; rel="prev"'), undefined);
    assert.equal(nextLink(undefined), undefined);
  });
});

describe('scopeForPath', () => {
  it('names the scope a request needs', () => {
    assert.equal(scopeForPath('GET', '/v2/'), '');
    assert.equal(scopeForPath('GET', '/v2/_catalog?n=10'), 'registry:catalog:*');
    assert.equal(scopeForPath('HEAD', '/v2/a/b/manifests/v1'), 'repository:a/b:pull');
    assert.equal(scopeForPath('POST', '/v2/a/blobs/uploads/'), 'repository:a:pull,push');
    assert.equal(scopeForPath('DELETE', '/v2/a/manifests/sha256:x'), 'repository:a:delete');
  });
});
