import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatScope, mergeScopes, parseScopes, repositoryScope } from './scope.js';

test('scopes as token requests carry them: several per value, names with host:port, classes dropped', () => {
  assert.deepEqual(parseScopes('repository:a/b:pull,push registry:catalog:*'), [
    { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
    { type: 'registry', name: 'catalog', actions: ['*'] },
  ]);
  assert.deepEqual(parseScopes('repository:localhost:5000/x:pull'), [{ type: 'repository', name: 'localhost:5000/x', actions: ['pull'] }]);
  assert.deepEqual(parseScopes('repository(plugin):p:pull'), [{ type: 'repository', name: 'p', actions: ['pull'] }]);
  assert.deepEqual(parseScopes('repository:a:read,pull,pull'), [{ type: 'repository', name: 'a', actions: ['pull'] }]);
  assert.deepEqual(parseScopes('garbage repository:a: other:x:pull'), []);
});

test('scopes on one resource merge', () => {
  const merged = mergeScopes([repositoryScope('a', 'pull'), repositoryScope('b', 'pull'), repositoryScope('a', 'push', 'pull')]);
  assert.deepEqual(merged.map(formatScope), ['repository:a:pull,push', 'repository:b:pull']);
});
