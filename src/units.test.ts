import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatSize, humanDuration, parseDuration, parseSize, UnitParseError } from './units.js';

describe('bench units', () => {
  it('parses durations in ms, s, m and h; a bare number is seconds', () => {
    assert.equal(parseDuration('10s'), 10_000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('1500ms'), 1500);
    assert.equal(parseDuration('0.5s'), 500);
    assert.equal(parseDuration('3'), 3000);
  });

  it('refuses what is not a duration, with a typed error', () => {
    for (const text of ['', 's', '10 sec', '-1s', '1d', 'ten']) assert.throws(() => parseDuration(text), UnitParseError, text);
  });

  it('parses sizes: K/KiB/M/MiB/G/GiB binary, KB/MB/GB decimal, bare bytes', () => {
    assert.equal(parseSize('256KiB'), 262_144);
    assert.equal(parseSize('8MiB'), 8 * 1024 * 1024);
    assert.equal(parseSize('1GiB'), 1024 ** 3);
    assert.equal(parseSize('16K'), 16_384);
    assert.equal(parseSize('10MB'), 10_000_000);
    assert.equal(parseSize('512'), 512);
    assert.equal(parseSize('512B'), 512);
    assert.equal(parseSize('1.5KiB'), 1536);
    assert.equal(parseSize('8mib'), 8 * 1024 * 1024);
  });

  it('refuses what is not a size', () => {
    for (const text of ['', 'MiB', '10 parsecs', '-5KiB', '1TiBB']) assert.throws(() => parseSize(text), UnitParseError, text);
  });

  it('formats sizes so that they parse back to the same bytes', () => {
    for (const bytes of [1, 1000, 1024, 262_144, 8 << 20, 1024 ** 3, 1536]) assert.equal(parseSize(formatSize(bytes)), bytes);
    assert.equal(formatSize(262_144), '256KiB');
  });

  it('writes durations for people', () => {
    assert.equal(humanDuration(850), '850 ms');
    assert.equal(humanDuration(12_340), '12.3 s');
    assert.equal(humanDuration(125_000), '2m05s');
  });
});
