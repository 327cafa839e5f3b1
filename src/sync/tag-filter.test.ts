import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileTagFilter, semverOfTag } from './tag-filter.js';

function passing(spec: Parameters<typeof compileTagFilter>[0], tags: string[]): string[] {
  const compiled = compileTagFilter(spec);
  assert.ok(compiled.filter, `the spec is valid: ${JSON.stringify(compiled.problem)}`);
  return tags.filter(compiled.filter);
}

const tags = ['latest', '1.2', '1.2.0', 'v1.2.3', '1.3.0-rc.1', '1.9.9', '2.0.0', 'v2.1.0', 'v10.0.0', 'vnext', '=1.5.0', 'sha256-abc', '1.4.0_build7'];

describe('tag filters', () => {
  test('no filter takes every tag', () => {
    assert.deepEqual(passing({}, tags), tags);
    assert.deepEqual(passing(undefined, tags), tags);
  });

  test('a regex is searched in the tag as written, so anchors decide whole-tag matches', () => {
    assert.deepEqual(passing({ regex: '^v[0-9]+' }, tags), ['v1.2.3', 'v2.1.0', 'v10.0.0']);
    assert.deepEqual(passing({ regex: 'rc' }, tags), ['1.3.0-rc.1']);
    assert.deepEqual(passing({ regex: '^latest$' }, ['latest', 'latest-alpine']), ['latest']);
  });

  test('a semver range takes full semantic versions inside it, with or without a leading v', () => {
    assert.deepEqual(passing({ semver: '>=1.2 <2' }, tags), ['1.2.0', 'v1.2.3', '1.9.9']);
    assert.deepEqual(passing({ semver: '^2' }, tags), ['2.0.0', 'v2.1.0']);
    assert.deepEqual(passing({ semver: '>=10' }, tags), ['v10.0.0']);
  });

  test('tags that are not semantic versions never pass a range, even one that takes everything', () => {
    const kept = passing({ semver: '*' }, tags);
    for (const tag of ['latest', '1.2', 'vnext', '=1.5.0', 'sha256-abc', '1.4.0_build7']) assert.ok(!kept.includes(tag), tag);
    assert.equal(semverOfTag('1.2'), undefined);
    assert.equal(semverOfTag('=1.5.0'), undefined);
    assert.equal(semverOfTag('v1.2.3')?.version, '1.2.3');
  });

  test('prereleases pass only a range that names a prerelease of the same version, as npm ranges go', () => {
    assert.deepEqual(passing({ semver: '>=1.3.0-rc.0 <1.4' }, tags), ['1.3.0-rc.1']);
    assert.deepEqual(passing({ semver: '>=1.0.0' }, ['1.3.0-rc.1', '1.3.0']), ['1.3.0']);
  });

  test('with both, a tag must pass both', () => {
    assert.deepEqual(passing({ regex: '^v', semver: '<2' }, tags), ['v1.2.3']);
  });

  test('a bad regex or range is reported with the key it came from', () => {
    assert.equal(compileTagFilter({ regex: '([' }).problem?.key, 'regex');
    const range = compileTagFilter({ semver: 'not a range' });
    assert.equal(range.problem?.key, 'semver');
    assert.match(range.problem!.message, /not a semver range/);
  });
});
