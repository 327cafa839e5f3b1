import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDuration, parseDuration } from './values.js';

describe('durations', () => {
  test('Go duration text, into milliseconds', () => {
    assert.equal(parseDuration('300ms'), 300);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('2s500ms'), 2500);
    assert.equal(parseDuration('1500us'), 1.5);
    assert.equal(parseDuration('1500µs'), 1.5);
    assert.equal(parseDuration('0'), 0);
    assert.equal(parseDuration('-1m'), -60_000);
    assert.equal(parseDuration('.5s'), 500);
  });

  test('a YAML integer is nanoseconds, as Go reads it', () => {
    assert.equal(parseDuration(5_000_000_000), 5000);
    assert.equal(parseDuration(0), 0);
    assert.equal(parseDuration(1500), 0.0015);
  });

  test('anything else is refused', () => {
    for (const bad of ['', '5', '300', '5 m', 'm', '1d', '5m3', 'five minutes', '1h-30m', '-', '1.5.5s']) {
      assert.equal(parseDuration(bad), undefined, bad);
    }
    assert.equal(parseDuration(1.5), undefined);
  });

  test('printed back in Go syntax, and read again to the same value', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(300), '300ms');
    assert.equal(formatDuration(5_400_000), '1h30m');
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(1.5), '1ms500us');
    assert.equal(formatDuration(-60_000), '-1m');
    for (const ms of [0, 1, 300, 1.5, 0.000001, 5_400_000, 86_400_000 * 7, -2500]) {
      assert.equal(parseDuration(formatDuration(ms)), ms);
    }
  });
});
