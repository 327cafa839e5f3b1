import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imageHash, parseRoute, registryBase, repositoriesHash, repositoryHash } from './routes.js';

const digest = `sha256:${'ab'.repeat(32)}`;

describe('UI routes', () => {
  it('reads every page from the hash', () => {
    assert.deepEqual(parseRoute(''), { page: 'repositories', q: '' });
    assert.deepEqual(parseRoute('#/'), { page: 'repositories', q: '' });
    assert.deepEqual(parseRoute('#/?q=lib%2Fal'), { page: 'repositories', q: 'lib/al' });
    assert.deepEqual(parseRoute('#/repo/library/alpine'), { page: 'repository', name: 'library/alpine' });
    assert.deepEqual(parseRoute(`#/image/library/alpine@${digest}`), { page: 'image', name: 'library/alpine', digest });
    assert.deepEqual(parseRoute('#/elsewhere'), { page: 'not-found', hash: '#/elsewhere' });
    assert.equal(parseRoute('#/image/alpine@nodigest').page, 'not-found');
  });

  it('sends names outside the repository-name grammar to not-found, so they never reach the registry', () => {
    for (const hash of ['#/repo/Library/Alpine', '#/repo/a/../b', '#/repo/a/_tags', '#/repo/a%2F..%2Fb', '#/repo/a/', `#/repo/${'a'.repeat(256)}`, `#/image/a/_images@${digest}`, `#/image/UP@${digest}`, '#/image/a@sha256:ab/cd']) {
      assert.equal(parseRoute(hash).page, 'not-found', hash);
    }
    assert.deepEqual(parseRoute('#/repo/a__b/c-d.e'), { page: 'repository', name: 'a__b/c-d.e' });
  });

  it('writes hashes that read back to the same route', () => {
    const routes = [
      [repositoriesHash(), { page: 'repositories', q: '' }],
      [repositoriesHash('a b/c'), { page: 'repositories', q: 'a b/c' }],
      [repositoryHash('a/b-c'), { page: 'repository', name: 'a/b-c' }],
      [imageHash('a/b', digest), { page: 'image', name: 'a/b', digest }],
    ] as const;
    for (const [hash, route] of routes) assert.deepEqual(parseRoute(hash), route, hash);
    assert.equal(repositoryHash('a/b'), '#/repo/a/b');
  });

  it('finds the registry base under any prefix', () => {
    assert.equal(registryBase('/ui/'), '/');
    assert.equal(registryBase('/ui/index.html'), '/');
    assert.equal(registryBase('/registry/ui/'), '/registry/');
    assert.equal(registryBase('/a/ui/b/ui/'), '/a/ui/b/');
    assert.equal(registryBase('/elsewhere'), '/');
  });
});
