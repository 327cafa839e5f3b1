import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatReference, InvalidReferenceError, parseReference, referenceOf } from './reference.js';

const digest = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  it('reads host, port, nested repositories, tags and digests', () => {
    assert.deepEqual(parseReference('127.0.0.1:5000/library/alpine:3.20'), { registry: '127.0.0.1:5000', repository: 'library/alpine', tag: '3.20' });
    assert.deepEqual(parseReference('registry.example.com/a/b/c'), { registry: 'registry.example.com', repository: 'a/b/c' });
    assert.deepEqual(parseReference(`localhost:5000/app@${digest}`), { registry: 'localhost:5000', repository: 'app', digest });
    assert.deepEqual(parseReference(`[::1]:5000/app:v1@${digest}`), { registry: '[::1]:5000', repository: 'app', tag: 'v1', digest });
    assert.deepEqual(parseReference('host/my-app__x.y/z_1:Latest_v1.2-rc'), { registry: 'host', repository: 'my-app__x.y/z_1', tag: 'Latest_v1.2-rc' });
  });

  it('picks what to fetch: digest, else tag, else latest', () => {
    assert.equal(referenceOf(parseReference('h/a')), 'latest');
    assert.equal(referenceOf(parseReference('h/a:v2')), 'v2');
    assert.equal(referenceOf(parseReference(`h/a:v2@${digest}`)), digest);
  });

  it('formats back what it parsed', () => {
    for (const text of ['127.0.0.1:5000/a/b:v1', 'h/a', `h:1/a@${digest}`, `h/a:t@${digest}`]) {
      assert.equal(formatReference(parseReference(text)), text);
    }
  });

  it('refuses bad references with a message naming the bad part', () => {
    const bad: [string, RegExp][] = [
      ['alpine', /host\[:port\]\/repository/],
      ['/alpine', /host\[:port\]\/repository/],
      ['host:port/a', /not a host/],
      ['ho st/a', /not a host/],
      ['h/Upper', /not a valid repository name/],
      ['h/a//b', /not a valid repository name/],
      ['h/a/', /not a valid repository name/],
      ['h/-a', /not a valid repository name/],
      ['h/a..b', /not a valid repository name/],
      ['h/a:', /not a valid tag/],
      ['h/a:-v1', /not a valid tag/],
      [`h/a:${'t'.repeat(129)}`, /not a valid tag/],
      ['h/a@sha256:abc', /not a digest/],
      [`h/a@md5:${'a'.repeat(32)}`, /not a digest/],
      [`h/a@sha256:${'A'.repeat(64)}`, /not a digest/],
      [`h/${'a'.repeat(256)}`, /not a valid repository name/],
    ];
    for (const [text, message] of bad) {
      assert.throws(() => parseReference(text), (error: unknown) => error instanceof InvalidReferenceError && error.reference === text && message.test(error.message), text);
    }
  });
});
