import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  defaultAlgorithm,
  digestBytes,
  digestOf,
  isDigestAlgorithm,
  looksLikeDigest,
  newHash,
  parseDigest,
} from './digest.js';

const emptySha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const abcSha512 =
  'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f';

describe('parseDigest', () => {
  test('accepts sha256 and sha512 with lower-case hex of the right length', () => {
    assert.deepEqual(parseDigest(`sha256:${emptySha256}`), {
      algorithm: 'sha256',
      hex: emptySha256,
      text: `sha256:${emptySha256}`,
    });
    assert.deepEqual(parseDigest(`sha512:${abcSha512}`), {
      algorithm: 'sha512',
      hex: abcSha512,
      text: `sha512:${abcSha512}`,
    });
  });

  test('refuses anything it could not verify or that is not canonical', () => {
    const refused = [
      '',
      emptySha256,
      'sha256:',
      ':' + emptySha256,
      `sha256:${emptySha256.toUpperCase()}`,
      `SHA256:${emptySha256}`,
      `sha256:${emptySha256.slice(1)}`,
      `sha256:${emptySha256}0`,
      `sha256:${emptySha256.slice(0, -1)}g`,
      `sha512:${emptySha256}`,
      `sha256:${abcSha512}`,
      `sha384:${'a'.repeat(96)}`,
      `md5:${'a'.repeat(32)}`,
      `sha256+b64u:${emptySha256}`,
      ` sha256:${emptySha256}`,
      `sha256:${emptySha256} `,
      `sha256:${emptySha256}\n`,
      `sha256:sha256:${emptySha256}`,
      `toString:${emptySha256}`,
      `__proto__:${emptySha256}`,
    ];
    for (const text of refused) assert.equal(parseDigest(text), undefined, JSON.stringify(text));
  });
});

describe('isDigestAlgorithm', () => {
  test('knows exactly the algorithms it can verify, not inherited object keys', () => {
    assert.equal(isDigestAlgorithm('sha256'), true);
    assert.equal(isDigestAlgorithm('sha512'), true);
    for (const other of ['sha384', 'SHA256', 'md5', '', 'toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      assert.equal(isDigestAlgorithm(other), false, other);
    }
  });
});

describe('looksLikeDigest', () => {
  test('recognises the algorithm:encoded grammar, including algorithms we cannot verify', () => {
    for (const text of [
      `sha256:${emptySha256}`,
      'sha256:abc',
      `sha384:${'a'.repeat(96)}`,
      'sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564',
      'multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8',
      'a.b_c-d:x=',
    ]) {
      assert.equal(looksLikeDigest(text), true, text);
    }
  });

  test('tells tags and malformed text apart from digests', () => {
    for (const text of ['latest', 'v1.0', '', ':abc', 'sha256:', 'Sha256:abc', 'sha256::abc', 'sha256:a b', '+sha:abc', 'sha+:abc', 'sha256:abc/def']) {
      assert.equal(looksLikeDigest(text), false, text);
    }
  });
});

describe('computing digests', () => {
  test('digestBytes uses sha256 by default and matches known vectors', () => {
    assert.equal(defaultAlgorithm, 'sha256');
    assert.deepEqual(digestBytes(new Uint8Array()), { algorithm: 'sha256', hex: emptySha256, text: `sha256:${emptySha256}` });
    assert.equal(digestBytes(Buffer.from('abc'), 'sha512').text, `sha512:${abcSha512}`);
  });

  test('a hash fed in pieces gives the same digest as the whole, and parses back', () => {
    const content = Buffer.from('a layer streamed in several chunks');
    const hash = newHash('sha256');
    for (let at = 0; at < content.length; at += 5) hash.update(content.subarray(at, at + 5));
    const digest = digestOf(hash, 'sha256');
    assert.deepEqual(digest, digestBytes(content));
    assert.deepEqual(parseDigest(digest.text), digest);
  });
});
