import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { berthBin, ensureBuilt } from '../../test/helpers/compiled-cli.js';
import { digestOf, newHash, type Digest } from '../protocol/digest.js';
import { writeLink } from '../registry/links.js';
import { FilesystemDriver } from '../storage/filesystem-driver.js';
import { paths } from '../storage/paths.js';

/** `berth repo delete` and `berth du` as users run them: the compiled CLI on a real storage directory. */
let directory: string;
let driver: FilesystemDriver;

async function berth(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return await new Promise((resolve) => {
    execFile(process.execPath, [berthBin, ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function blob(size: number, fill: string): Promise<Digest> {
  const bytes = Buffer.alloc(size, fill);
  const digest = digestOf(newHash('sha256').update(bytes), 'sha256');
  await driver.putContent(paths.blobData(digest), bytes);
  return digest;
}

async function config(name: string, deletes: boolean): Promise<string> {
  const file = join(directory, name);
  await writeFile(file, `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${join(directory, 'data')}\n  delete:\n    enabled: ${deletes}\n`);
  return file;
}

before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'berth-repo-du-'));
  driver = new FilesystemDriver(join(directory, 'data'));
  await ensureBuilt();
  const shared = await blob(2048, 's');
  const own = await blob(100, 'o');
  const manifest = await blob(10, 'm');
  await writeLink(driver, paths.layerLink('app', shared), shared);
  await writeLink(driver, paths.layerLink('app', own), own);
  await writeLink(driver, paths.revisionLink('app', manifest), manifest);
  await writeLink(driver, paths.tagCurrentLink('app', 'v1'), manifest);
  await writeLink(driver, paths.layerLink('tools/base', shared), shared);
});
after(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('berth du and berth repo delete', { timeout: 120_000 }, () => {
  test('du --json: per repository, shared and exclusive bytes, totals', async () => {
    const { code, stdout, stderr } = await berth(['du', await config('on.yml', true), '--json']);
    assert.equal(code, 0, stderr);
    const usage = JSON.parse(stdout) as Record<string, unknown>;
    assert.deepEqual(usage, {
      repositories: [
        { name: 'app', blobs: 3, bytes: 2158, sharedBytes: 2048, exclusiveBytes: 110, missing: 0 },
        { name: 'tools/base', blobs: 1, bytes: 2048, sharedBytes: 2048, exclusiveBytes: 0, missing: 0 },
      ],
      linkedBytes: 4206,
      uniqueBlobs: 3,
      uniqueBytes: 2158,
    });
  });

  test('du prints a table with a row per repository and the totals', async () => {
    const { code, stdout, stderr } = await berth(['du', await config('on.yml', true)]);
    assert.equal(code, 0, stderr);
    const lines = stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^REPOSITORY\s+BLOBS\s+SIZE\s+SHARED\s+EXCLUSIVE$/);
    assert.match(lines[1]!, /^app\s+3\s+2\.1 KiB\s+2\.0 KiB\s+110 B$/);
    assert.match(lines[2]!, /^tools\/base\s+1\s+2\.0 KiB\s+2\.0 KiB\s+0 B$/);
    assert.match(lines[3]!, /^TOTAL \(linked\)\s+4\.1 KiB$/);
    assert.match(lines[4]!, /^UNIQUE \(stored\)\s+3\s+2\.1 KiB$/);
  });

  test('repo delete refuses when deletes are disabled, and for an unknown repository', async () => {
    const off = await berth(['repo', 'delete', 'app', await config('off.yml', false)]);
    assert.equal(off.code, 1);
    assert.match(off.stderr, /^berth: deletes are disabled .*storage\.delete\.enabled/);
    const unknown = await berth(['repo', 'delete', 'no/such', await config('on.yml', true)]);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, 'berth: no repository no/such\n');
  });

  test('repo delete removes the repository; du then counts only what is left', async () => {
    const file = await config('on.yml', true);
    const { code, stderr } = await berth(['repo', 'delete', 'app', file]);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /deleted repository app/);
    const after = await berth(['du', file, '--json']);
    const usage = JSON.parse(after.stdout) as { repositories: { name: string; exclusiveBytes: number }[] };
    assert.deepEqual(
      usage.repositories.map((r) => [r.name, r.exclusiveBytes]),
      [['tools/base', 2048]],
    );
  });
});
