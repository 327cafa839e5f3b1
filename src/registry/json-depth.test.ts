import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exceedsJsonDepth } from './json-depth.js';

const bytes = (text: string) => Buffer.from(text);

test('counts arrays and objects alike, and only beyond the limit', () => {
  assert.equal(exceedsJsonDepth(bytes('{"a":[{"b":[]}]}'), 4), false);
  assert.equal(exceedsJsonDepth(bytes('{"a":[{"b":[]}]}'), 3), true);
  assert.equal(exceedsJsonDepth(bytes('[1,2,3]'), 1), false);
  assert.equal(exceedsJsonDepth(bytes('"no nesting"'), 0), false);
});

test('siblings do not add up: depth is what is open at once', () => {
  assert.equal(exceedsJsonDepth(bytes(`[${'[],'.repeat(1000)}[]]`), 2), false);
});

test('brackets inside strings, escaped quotes included, do not count', () => {
  assert.equal(exceedsJsonDepth(bytes(JSON.stringify({ a: '[[[[{{{{' })), 1), false);
  assert.equal(exceedsJsonDepth(bytes(JSON.stringify({ a: 'say \\"[[[[\\" and "[[["' })), 1), false);
  // An escaped backslash before the closing quote ends the string; the bracket after it counts.
  assert.equal(exceedsJsonDepth(bytes('["\\\\",[]]'), 1), true);
});

test('a 10,000-deep body is found at the limit, without recursion', () => {
  const deep = bytes(`${'['.repeat(10_000)}${']'.repeat(10_000)}`);
  assert.equal(exceedsJsonDepth(deep, 64), true);
  assert.equal(exceedsJsonDepth(deep, 10_000), false);
});
