import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { berthBin, ensureBuilt } from '../../test/helpers/compiled-cli.js';
import { HtpasswdUsers } from '../auth/htpasswd.js';

// Runs the compiled CLI (npm run build first; cli.test.ts rebuilds a stale dist/).
const bin = berthBin;
let dir: string;

async function berth(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-user-cli-'));
  await ensureBuilt();
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('berth user', { timeout: 60_000 }, () => {
  test('add, passwd, list and remove manage bcrypt entries (cost 10) in the file', async () => {
    const file = join(dir, 'htpasswd');
    assert.equal((await berth(['user', 'add', 'alice', '--file', file, '--password-stdin'], 'first\n')).code, 0);
    assert.equal((await berth(['user', 'add', 'bob', '--file', file, '--password-stdin'], 'bobpw')).code, 0);
    assert.match(await readFile(file, 'utf8'), /^alice:\$2b\$10\$.{53}\nbob:\$2b\$10\$/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const duplicate = await berth(['user', 'add', 'alice', '--file', file, '--password-stdin'], 'x');
    assert.equal(duplicate.code, 1);
    assert.match(duplicate.stderr, /^berth: user alice already exists/);
    assert.equal((await berth(['user', 'passwd', 'alice', '--file', file, '--password-stdin'], 'second\n')).code, 0);
    const users = await HtpasswdUsers.load(file);
    assert.equal(await users.verify('alice', 'second'), 'alice');
    assert.equal(await users.verify('alice', 'first'), undefined);
    assert.equal((await berth(['user', 'list', '--file', file])).stdout, 'alice\nbob\n');
    assert.equal((await berth(['user', 'remove', 'bob', '--file', file])).code, 0);
    assert.equal((await berth(['user', 'list', '--file', file])).stdout, 'alice\n');
    assert.match((await berth(['user', 'remove', 'bob', '--file', file])).stderr, /no user bob/);
  });

  test('without --password-stdin and no terminal, it refuses rather than read argv or wait', async () => {
    const result = await berth(['user', 'add', 'carol', '--file', join(dir, 'other')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /use --password-stdin/);
  });

  test('the file can come from the config (auth.htpasswd.path)', async () => {
    const file = join(dir, 'from-config');
    const config = join(dir, 'config.yml');
    await writeFile(config, `version: 0.1\nstorage:\n  inmemory:\nauth:\n  htpasswd:\n    realm: r\n    path: ${file}\n`);
    assert.equal((await berth(['user', 'add', 'dave', '--config', config, '--password-stdin'], 'pw')).code, 0);
    assert.equal((await berth(['user', 'list', '--config', config])).stdout, 'dave\n');
  });

  test('serve creates a missing htpasswd file with a generated admin user and prints the password once', async () => {
    const file = join(dir, 'generated/htpasswd');
    const config = join(dir, 'serve.yml');
    await writeFile(config, `version: 0.1\nstorage:\n  inmemory:\nhttp:\n  addr: 127.0.0.1:0\nauth:\n  htpasswd:\n    realm: r\n    path: ${file}\n`);
    const child = spawn(process.execPath, [bin, 'serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const printed = new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        const match = /user "admin", password: (\S+)/.exec(stderr);
        if (match) resolve(match[1]!);
      });
      child.on('exit', () => reject(new Error(`serve exited: ${stderr}${stdout}`)));
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    try {
      const password = await printed;
      const users = await HtpasswdUsers.load(file);
      assert.equal(await users.verify('admin', password), 'admin');
      assert.ok(!stdout.includes(password), 'the password is not in the JSON log');
    } finally {
      clearTimeout(timer);
      child.kill('SIGTERM');
      await once(child, 'close');
    }
  });
});
