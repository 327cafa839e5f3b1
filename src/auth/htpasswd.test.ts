import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { createHtpasswdIfMissing, HtpasswdError, HtpasswdUsers, parseHtpasswd, updateHtpasswd } from './htpasswd.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-htpasswd-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Low cost keeps the tests quick; the file format is the same at any cost.
const hash = (password: string, prefix = '$2y$') => bcrypt.hashSync(password, 4).replace(/^\$2[aby]\$/, prefix);

describe('htpasswd parsing', () => {
  test('reads bcrypt entries of all three prefixes, skipping comments and blank lines', () => {
    const users = parseHtpasswd(`# users\nalice:${hash('a', '$2y$')}\n\nbob:${hash('b', '$2a$')}\r\ncarol:${hash('c', '$2b$')}\n`);
    assert.deepEqual([...users.keys()], ['alice', 'bob', 'carol']);
  });

  test('other hash kinds are refused at load, naming the line and the user', () => {
    const cases: [string, RegExp][] = [
      ['dave:$apr1$abc$0123456789012345678901', /line 2 \(user "dave"\): an MD5 \(apr1\) hash/],
      ['dave:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', /line 2 \(user "dave"\): a SHA-1 hash/],
      ['dave:$6$salt$abc', /line 2 \(user "dave"\): a SHA-2 crypt hash/],
      ['dave:plaintext', /line 2 \(user "dave"\): not a bcrypt hash/],
      ['dave:$2y$10$short', /line 2 \(user "dave"\): a malformed bcrypt hash/],
    ];
    for (const [line, message] of cases) {
      assert.throws(() => parseHtpasswd(`alice:${hash('a')}\n${line}\n`), (e: Error) => e instanceof HtpasswdError && message.test(e.message), line);
    }
    assert.throws(() => parseHtpasswd('no-colon-here\n'), /line 1: expected user:hash/);
    assert.throws(() => parseHtpasswd(`a:${hash('x')}\na:${hash('y')}\n`), /appears twice/);
  });
});

describe('htpasswd users', () => {
  test('verifies passwords; a wrong password or unknown user is undefined', async () => {
    const file = join(dir, 'verify');
    await writeFile(file, `alice:${hash('secret')}\n`);
    const users = await HtpasswdUsers.load(file);
    assert.equal(await users.verify('alice', 'secret'), 'alice');
    assert.equal(await users.verify('alice', 'wrong'), undefined);
    assert.equal(await users.verify('nobody', 'secret'), undefined);
    assert.equal(await users.verify('', ''), undefined);
  });

  test('a verified password is remembered: the second check needs no bcrypt', async () => {
    const file = join(dir, 'cache');
    await writeFile(file, `alice:${hash('secret')}\n`);
    const users = await HtpasswdUsers.load(file, { checkIntervalMs: 60_000 });
    assert.equal(await users.verify('alice', 'secret'), 'alice');
    const original = bcrypt.compare;
    let calls = 0;
    (bcrypt as { compare: unknown }).compare = async (...args: Parameters<typeof original>) => {
      calls++;
      return await original(...args);
    };
    try {
      assert.equal(await users.verify('alice', 'secret'), 'alice');
      assert.equal(calls, 0, 'cached');
      assert.equal(await users.verify('alice', 'other'), undefined);
      assert.equal(calls, 1, 'failures are never cached');
    } finally {
      (bcrypt as { compare: unknown }).compare = original;
    }
  });

  test('the cache is bounded', async () => {
    const file = join(dir, 'bounded');
    await writeFile(file, `a:${hash('1')}\nb:${hash('2')}\nc:${hash('3')}\n`);
    const users = await HtpasswdUsers.load(file, { cacheSize: 2, checkIntervalMs: 60_000 });
    for (const [user, password] of [['a', '1'], ['b', '2'], ['c', '3']]) assert.equal(await users.verify(user!, password!), user);
    assert.equal((users as unknown as { verified: Map<string, string> }).verified.size, 2);
  });

  test('the file is read again when it changes, and the cache is emptied', async () => {
    const file = join(dir, 'reload');
    await writeFile(file, `alice:${hash('old')}\n`);
    const users = await HtpasswdUsers.load(file, { checkIntervalMs: 0 });
    assert.equal(await users.verify('alice', 'old'), 'alice');
    await writeFile(file, `alice:${hash('new')}\nbob:${hash('b')}\n`);
    // Make sure the change is visible even on file systems with coarse timestamps.
    const info = await stat(file);
    await utimes(file, info.atime, new Date(info.mtimeMs + 5_000));
    assert.equal(await users.verify('alice', 'old'), undefined, 'the cached old password is forgotten');
    assert.equal(await users.verify('alice', 'new'), 'alice');
    assert.deepEqual(await users.names(), ['alice', 'bob']);
  });

  test('a file that becomes invalid trusts nobody until it is fixed', async () => {
    const file = join(dir, 'broken');
    await writeFile(file, `alice:${hash('pw')}\n`);
    const users = await HtpasswdUsers.load(file, { checkIntervalMs: 0 });
    assert.equal(await users.verify('alice', 'pw'), 'alice');
    await writeFile(file, `alice:$apr1$x$y\n`);
    const info = await stat(file);
    await utimes(file, info.atime, new Date(info.mtimeMs + 5_000));
    await assert.rejects(users.verify('alice', 'pw'), HtpasswdError);
    await writeFile(file, `alice:${hash('pw')}\n`);
    await utimes(file, info.atime, new Date(info.mtimeMs + 10_000));
    assert.equal(await users.verify('alice', 'pw'), 'alice');
  });

  test('loading refuses a file with a non-bcrypt entry', async () => {
    const file = join(dir, 'md5');
    await writeFile(file, 'alice:$apr1$abc$0123456789012345678901\n');
    await assert.rejects(HtpasswdUsers.load(file), /line 1 \(user "alice"\)/);
  });
});

describe('creating and updating the file', () => {
  test('a missing file is created with a generated admin user, once', async () => {
    const file = join(dir, 'sub/dir/created');
    const created = await createHtpasswdIfMissing(file);
    assert.ok(created);
    assert.equal(created.user, 'admin');
    assert.ok(created.password.length >= 24);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const users = await HtpasswdUsers.load(file);
    assert.equal(await users.verify('admin', created.password), 'admin');
    assert.equal(await createHtpasswdIfMissing(file), undefined, 'an existing file is left alone');
    assert.match(await readFile(file, 'utf8'), /^admin:\$2b\$10\$/);
  });

  test('updateHtpasswd rewrites the whole file', async () => {
    const file = join(dir, 'updated');
    await updateHtpasswd(file, (users) => void users.set('x', hash('1')));
    await updateHtpasswd(file, (users) => void users.set('y', hash('2')));
    await updateHtpasswd(file, (users) => void users.delete('x'));
    assert.deepEqual([...parseHtpasswd(await readFile(file, 'utf8')).keys()], ['y']);
  });
});
