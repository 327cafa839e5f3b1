import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseContentRange, parseRangeHeader } from './range.js';

describe('parseRangeHeader', () => {
  test('no header: the whole resource', () => {
    assert.equal(parseRangeHeader(undefined, 100), undefined);
    assert.equal(parseRangeHeader('', 100), undefined);
  });

  test('first-last, inclusive, clamped to the end', () => {
    assert.deepEqual(parseRangeHeader('bytes=0-9', 100), { start: 0, end: 9 });
    assert.deepEqual(parseRangeHeader('bytes=50-50', 100), { start: 50, end: 50 });
    assert.deepEqual(parseRangeHeader('bytes=0-99', 100), { start: 0, end: 99 });
    assert.deepEqual(parseRangeHeader('bytes=90-500', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRangeHeader(' bytes=1-2 ', 100), { start: 1, end: 2 });
  });

  test('first- : from first to the end', () => {
    assert.deepEqual(parseRangeHeader('bytes=10-', 100), { start: 10, end: 99 });
    assert.deepEqual(parseRangeHeader('bytes=99-', 100), { start: 99, end: 99 });
    assert.deepEqual(parseRangeHeader('bytes=0-', 1), { start: 0, end: 0 });
  });

  test('suffix ranges: the last N bytes, or all of a shorter resource', () => {
    assert.deepEqual(parseRangeHeader('bytes=-10', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRangeHeader('bytes=-100', 100), { start: 0, end: 99 });
    assert.deepEqual(parseRangeHeader('bytes=-500', 100), { start: 0, end: 99 });
    assert.deepEqual(parseRangeHeader('bytes=-1', 1), { start: 0, end: 0 });
  });

  test('a suffix range of an empty resource serves the whole (empty) resource', () => {
    assert.equal(parseRangeHeader('bytes=-5', 0), undefined);
  });

  test('unsatisfiable: starting at or past the end, or an empty suffix', () => {
    assert.equal(parseRangeHeader('bytes=100-', 100), 'unsatisfiable');
    assert.equal(parseRangeHeader('bytes=100-200', 100), 'unsatisfiable');
    assert.equal(parseRangeHeader('bytes=5000-6000', 100), 'unsatisfiable');
    assert.equal(parseRangeHeader('bytes=0-', 0), 'unsatisfiable');
    assert.equal(parseRangeHeader('bytes=0-0', 0), 'unsatisfiable');
    assert.equal(parseRangeHeader('bytes=-0', 100), 'unsatisfiable');
  });

  test('malformed or unsupported headers are ignored (the whole resource is served)', () => {
    for (const header of [
      'bytes=5-3',
      'bytes=-',
      'bytes=a-b',
      'bytes=1-2x',
      'bytes=0-1,5-6',
      'bytes 0-9',
      'items=0-9',
      'bytes=-1-2',
      '0-9',
      'bytes=1.5-3',
    ]) {
      assert.equal(parseRangeHeader(header, 100), undefined, header);
    }
  });
});

describe('parseContentRange', () => {
  test('absent: undefined', () => {
    assert.equal(parseContentRange(undefined), undefined);
  });

  test("the spec's start-end form, inclusive", () => {
    assert.deepEqual(parseContentRange('0-99'), { start: 0, end: 99 });
    assert.deepEqual(parseContentRange('100-100'), { start: 100, end: 100 });
    assert.deepEqual(parseContentRange(' 5-9 '), { start: 5, end: 9 });
  });

  test('the RFC 9110 forms with a unit and a total', () => {
    assert.deepEqual(parseContentRange('bytes 0-99/100'), { start: 0, end: 99 });
    assert.deepEqual(parseContentRange('bytes 0-99/*'), { start: 0, end: 99 });
    assert.deepEqual(parseContentRange('bytes=10-19'), { start: 10, end: 19 });
    assert.deepEqual(parseContentRange('10-19/20'), { start: 10, end: 19 });
  });

  test('anything else is invalid', () => {
    for (const header of [
      '',
      '5-3',
      '0-',
      '-5',
      'abc',
      'bytes */100',
      'bytes 0-99/abc',
      'bytes  0-99',
      'items 0-9',
      '0-9,10-19',
      '99999999999999999999-99999999999999999999',
      '0-99999999999999999999',
    ]) {
      assert.equal(parseContentRange(header), 'invalid', header);
    }
  });
});
