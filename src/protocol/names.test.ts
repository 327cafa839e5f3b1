import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isValidName, isValidTag, maxNameLength } from './names.js';

describe('isValidName', () => {
  test('accepts names of the spec grammar', () => {
    for (const name of [
      'a',
      '0',
      'ubuntu',
      'library/ubuntu',
      'a/b/c/d/e',
      'my-app',
      'my--app',
      'my---app',
      'my_app',
      'my__app',
      'my.app',
      'v1.2/app-x_y.z',
      '0a/1b',
      'registry.example.com/team/app',
    ]) {
      assert.equal(isValidName(name), true, name);
    }
  });

  test('refuses names outside the grammar', () => {
    for (const name of [
      '',
      'Ubuntu',
      'library/Ubuntu',
      'a/',
      '/a',
      'a//b',
      '.',
      '..',
      'a/../b',
      'a/./b',
      'a/..',
      '.a',
      'a.',
      'a..b',
      '-a',
      'a-',
      '_a',
      'a_',
      'a___b',
      'a._b',
      'a_.b',
      'a.-b',
      'a/_layers',
      'a/_uploads/b',
      'a b',
      'a:b',
      'a@b',
      'a:latest',
      'caf\u00e9',
      'a\nb',
      'a\\b',
      'a%2Fb',
    ]) {
      assert.equal(isValidName(name), false, JSON.stringify(name));
    }
  });

  test('the whole name may be 255 characters, not 256', () => {
    assert.equal(maxNameLength, 255);
    const component = 'a'.repeat(127);
    const at255 = `${component}/${component}`;
    assert.equal(at255.length, 255);
    assert.equal(isValidName(at255), true);
    assert.equal(isValidName(`${at255}b`), false);
    assert.equal(isValidName('a'.repeat(255)), true);
    assert.equal(isValidName('a'.repeat(256)), false);
    assert.equal(isValidName('a-'.repeat(50_000) + 'a'), false);
  });
});

describe('isValidTag', () => {
  test('accepts tags of the spec grammar, up to 128 characters', () => {
    for (const tag of ['latest', 'v1.2.3', '1', '_', '_private', 'A', 'UPPER-lower_9', 'a..b', 'x---y', 'a'.repeat(128)]) {
      assert.equal(isValidTag(tag), true, tag);
    }
  });

  test('refuses tags outside the grammar', () => {
    for (const tag of ['', '.', '..', '.hidden', '-dash', 'a/b', 'a:b', 'a+b', 'a b', 'a@b', 'caf\u00e9', 'a\n', 'a'.repeat(129), `sha256:${'a'.repeat(64)}`]) {
      assert.equal(isValidTag(tag), false, JSON.stringify(tag));
    }
  });
});
