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

  it('writes hashes that read back to the same route', () => {
    for (const hash of [repositoriesHash(), repositoriesHash('a b/c'), repositoryHash('a/b-c'), imageHash('a/b', digest)]) {
      const route = parseRoute(hash);
      assert.notEqual(route.page, 'not-found', hash);
    }
    assert.deepEqual(parseRoute(repositoriesHash('a b/c')), { page: 'repositories', q: 'a b/c' });
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
