import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RepositoryPattern, RepositoryPatternError } from './repository-pattern.js';

describe('sync repository patterns', () => {
  test('an exact name takes only itself, under its own name or the one given', () => {
    const same = new RepositoryPattern('library/alpine');
    assert.ok(same.isExact);
    assert.equal(same.destinationOf('library/alpine'), 'library/alpine');
    assert.equal(same.destinationOf('library/alpine2'), undefined);
    assert.equal(new RepositoryPattern('library/alpine', 'mirror/alpine').destinationOf('library/alpine'), 'mirror/alpine');
  });

  test('* stays within one component and keeps what it matched in the destination', () => {
    const pattern = new RepositoryPattern('team/*', 'mirror/team/*');
    assert.ok(!pattern.isExact);
    assert.equal(pattern.destinationOf('team/app'), 'mirror/team/app');
    assert.equal(pattern.destinationOf('team/app/api'), undefined);
    assert.equal(pattern.destinationOf('team'), undefined);
    assert.equal(pattern.destinationOf('other/app'), undefined);
  });

  test('** crosses components; several wildcards are replaced in order', () => {
    assert.equal(new RepositoryPattern('team/**', 'm/**').destinationOf('team/app/api'), 'm/app/api');
    const two = new RepositoryPattern('*/images/*', 'copy/*/x/*');
    assert.equal(two.destinationOf('blue/images/web'), 'copy/blue/x/web');
    assert.equal(new RepositoryPattern('app-*').destinationOf('app-web'), 'app-web');
  });

  test('a destination with other wildcards than the name is refused, naming the destination', () => {
    for (const [name, destination] of [
      ['team/*', 'mirror/flat'],
      ['team/*', 'mirror/**'],
      ['*/x/**', '**/x/*'],
      ['team/app', 'mirror/*'],
    ] as const) {
      assert.throws(
        () => new RepositoryPattern(name, destination),
        (error: unknown) => error instanceof RepositoryPatternError && error.key === 'destination' && /same wildcards/.test(error.message),
        `${name} -> ${destination}`,
      );
    }
  });

  test('characters a repository name cannot hold are refused, naming the key', () => {
    assert.throws(() => new RepositoryPattern('Team/*'), (error: unknown) => error instanceof RepositoryPatternError && error.key === 'name');
    assert.throws(() => new RepositoryPattern('team/*', 'Mirror/*'), (error: unknown) => error instanceof RepositoryPatternError && error.key === 'destination');
  });

  test('a rename that would make an invalid name takes nothing', () => {
    // `**` may match an empty string; `m//x` is no repository name.
    assert.equal(new RepositoryPattern('a/**x', 'm/**/x').destinationOf('a/x'), undefined);
  });
});
