import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exactTime, humanBytes, plural, relativeTime, shortDigest } from './format.js';

describe('UI formatting', () => {
  it('writes sizes in decimal units with at most three significant digits', () => {
    assert.equal(humanBytes(0), '0 B');
    assert.equal(humanBytes(999), '999 B');
    assert.equal(humanBytes(1000), '1 kB');
    assert.equal(humanBytes(1234567), '1.2 MB');
    assert.equal(humanBytes(45_670_000), '45.7 MB');
    assert.equal(humanBytes(123_456_789), '123 MB');
    assert.equal(humanBytes(999_999), '1 MB');
    assert.equal(humanBytes(999_400), '999 kB');
    for (const bytes of [999_500, 999_700, 999_949]) assert.equal(humanBytes(bytes), '1 MB', String(bytes));
    assert.equal(humanBytes(3_200_000_000), '3.2 GB');
  });

  it('writes times relative to now, and the exact time for a title', () => {
    const now = Date.parse('2026-01-10T12:00:00Z');
    assert.equal(relativeTime(null, now), 'never');
    assert.equal(relativeTime('2026-01-10T11:59:58Z', now), 'just now');
    assert.equal(relativeTime('2026-01-10T11:55:00Z', now), '5 minutes ago');
    assert.equal(relativeTime('2026-01-10T09:00:00Z', now), '3 hours ago');
    assert.equal(relativeTime('2026-01-07T12:00:00Z', now), '3 days ago');
    assert.equal(relativeTime('2024-01-10T12:00:00Z', now), '2 years ago');
    assert.equal(relativeTime('not a time', now), 'not a time');
    assert.match(exactTime('2026-01-10T12:00:00Z'), /\(2026-01-10T12:00:00\.000Z\)$/);
    assert.equal(exactTime(null), '');
  });

  it('shortens digests to 12 hex digits and counts nouns', () => {
    assert.equal(shortDigest(`sha256:${'0123456789abcdef'.repeat(4)}`), 'sha256:0123456789ab');
    assert.equal(plural(1, 'tag'), '1 tag');
    assert.equal(plural(3, 'tag'), '3 tags');
  });
});
