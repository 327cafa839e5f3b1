import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AccessPolicy, AccessPolicyError } from './access-policy.js';
import { compareSpecificity, RepositoryGlob } from './repository-glob.js';
import { catalogScope, repositoryScope } from './scope.js';

describe('repository globs', () => {
  test('* stays within one path component, ** crosses components', () => {
    const one = new RepositoryGlob('team/*');
    assert.ok(one.matches('team/app'));
    assert.ok(!one.matches('team/app/api'));
    assert.ok(!one.matches('team'));
    assert.ok(!one.matches('other/app'));
    const deep = new RepositoryGlob('team/**');
    assert.ok(deep.matches('team/app'));
    assert.ok(deep.matches('team/app/api'));
    assert.ok(!deep.matches('team'));
    const any = new RepositoryGlob('**');
    assert.ok(any.matches('a') && any.matches('a/b/c'));
    const middle = new RepositoryGlob('*/cache/**');
    assert.ok(middle.matches('x/cache/y/z'));
    assert.ok(!middle.matches('x/y/cache/z'));
  });

  test('dots and dashes are literal, not regex syntax', () => {
    const glob = new RepositoryGlob('a.b-c');
    assert.ok(glob.matches('a.b-c'));
    assert.ok(!glob.matches('aXb-c'));
  });

  test('patterns with other characters are refused', () => {
    assert.throws(() => new RepositoryGlob('Team/*'), /may hold only/);
    assert.throws(() => new RepositoryGlob('a/?'), /may hold only/);
    assert.throws(() => new RepositoryGlob(''), /empty/);
    assert.throws(() => new RepositoryGlob('a/***'), /not \*\*\*/);
  });

  test('specificity: more literal characters first, then fewer **, then fewer *', () => {
    const sorted = ['**', 'team/**', 'team/*', 'team/app', 'team/*/api', '*/app']
      .map((p) => new RepositoryGlob(p))
      .sort(compareSpecificity)
      .map((g) => g.pattern);
    assert.deepEqual(sorted, ['team/*/api', 'team/app', 'team/*', 'team/**', '*/app', '**']);
  });
});

describe('access policy', () => {
  test('without an access section: logged-in users may do everything, anonymous nothing', () => {
    const policy = new AccessPolicy(undefined);
    assert.ok(policy.allows('anyone', repositoryScope('a/b', 'pull', 'push', 'delete')));
    assert.ok(policy.allows('anyone', catalogScope));
    assert.ok(!policy.allows(undefined, repositoryScope('a/b', 'pull')));
    assert.ok(!policy.allows(undefined, catalogScope));
  });

  const policy = new AccessPolicy({
    admins: ['root'],
    groups: { devs: ['alice', 'bob'], ops: ['carol'] },
    rules: [
      { repository: '**', authenticated: ['pull'] },
      { repository: 'public/**', anonymous: ['pull'], groups: { devs: ['push'] } },
      { repository: 'team/*', users: { alice: ['pull', 'push'] }, groups: { ops: ['*'] } },
      { repository: 'team/secret', users: { bob: ['pull'] } },
      { repository: 'team/*', users: { bob: ['push'] } },
    ],
  });

  test('admins may do everything, the catalog included', () => {
    assert.ok(policy.allows('root', repositoryScope('anything/at/all', 'pull', 'push', 'delete')));
    assert.ok(policy.allows('root', catalogScope));
  });

  test('the catalog is open to logged-in users, not to anonymous requests', () => {
    assert.ok(policy.allows('alice', catalogScope));
    assert.ok(!policy.allows(undefined, catalogScope));
  });

  test('anonymous rules apply to everyone; authenticated to every logged-in user', () => {
    assert.deepEqual(policy.actionsFor(undefined, repositoryScope('public/x', 'pull')), ['pull']);
    assert.ok(!policy.allows(undefined, repositoryScope('public/x', 'push')));
    assert.ok(policy.allows('dave', repositoryScope('public/x', 'pull')));
    assert.ok(policy.allows('dave', repositoryScope('other/x', 'pull')));
    assert.ok(!policy.allows(undefined, repositoryScope('other/x', 'pull')));
  });

  test('users and groups add their actions; * means all', () => {
    assert.ok(policy.allows('alice', repositoryScope('public/x', 'pull', 'push')));
    assert.ok(!policy.allows('carol', repositoryScope('public/x', 'push')));
    assert.ok(policy.allows('carol', repositoryScope('team/app', 'pull', 'push', 'delete')));
    assert.ok(policy.allows('alice', repositoryScope('team/app', 'pull', 'push')));
    assert.ok(!policy.allows('alice', repositoryScope('team/app', 'delete')));
  });

  test('only the most specific matching rule decides (no inheritance from broader rules)', () => {
    // team/secret names bob only: alice, carol and the ** rule's "authenticated: pull" do not apply.
    assert.equal(policy.ruleFor('team/secret')?.repository, 'team/secret');
    assert.ok(policy.allows('bob', repositoryScope('team/secret', 'pull')));
    assert.ok(!policy.allows('alice', repositoryScope('team/secret', 'pull')));
    assert.ok(!policy.allows('carol', repositoryScope('team/secret', 'pull')));
    // Between two rules with the same pattern, the first in the file wins.
    assert.equal(policy.ruleFor('team/app')?.index, 2);
    assert.ok(!policy.allows('bob', repositoryScope('team/app', 'push')));
    // team/* is more specific than public/** and ** for team/app; public/** than ** for public/x.
    assert.equal(policy.ruleFor('public/x')?.repository, 'public/**');
    assert.equal(policy.ruleFor('elsewhere')?.repository, '**');
  });

  test('no matching rule: nothing', () => {
    const narrow = new AccessPolicy({ rules: [{ repository: 'only/this', authenticated: ['*'] }] });
    assert.ok(!narrow.allows('alice', repositoryScope('other', 'pull')));
    assert.ok(narrow.allows('alice', repositoryScope('only/this', 'delete')));
  });

  test('grantable cuts a request down to what is allowed, never more', () => {
    assert.deepEqual(policy.grantable('dave', repositoryScope('public/x', 'pull', 'push')), ['pull']);
    assert.deepEqual(policy.grantable(undefined, repositoryScope('other', 'pull')), []);
    assert.deepEqual(policy.grantable('root', repositoryScope('x', 'pull')), ['pull']);
  });

  test('bad rules are refused with the rule and key named', () => {
    assert.throws(() => new AccessPolicy({ rules: [{ repository: 'A' }] }), (e: Error) => e instanceof AccessPolicyError && /access\.rules\[0\]\.repository/.test(e.message));
    assert.throws(() => new AccessPolicy({ rules: [{ repository: 'a', anonymous: ['read'] }] }), /access\.rules\[0\]\.anonymous: unknown action "read"/);
    assert.throws(() => new AccessPolicy({ rules: [{ repository: 'a', groups: { nope: ['pull'] } }] }), /access\.rules\[0\]\.groups\.nope/);
  });
});
