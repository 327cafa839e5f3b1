import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { buffer } from 'node:stream/consumers';
import { InvalidImageError, UnsupportedFormatError } from './image-errors.js';
import { TarIndex } from './tar-index.js';

const run = promisify(execFile);

let work: string;
let tree: string;
const longDir = `${'d'.repeat(120)}/${'e'.repeat(120)}`;
const longName = `${longDir}/${'f'.repeat(140)}.txt`;
const files: Record<string, Buffer> = {
  'small.txt': Buffer.from('hello'),
  'empty': Buffer.alloc(0),
  'block.bin': Buffer.alloc(512, 7),
  'big.bin': Buffer.alloc(70_000, 3),
  [longName]: Buffer.from('long name'),
};

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-tar-'));
  tree = join(work, 'tree');
  await mkdir(join(tree, longDir), { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(tree, name), content);
  await symlink('small.txt', join(tree, 'link'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('TarIndex', () => {
  // GNU tar writes long names as PAX records (pax), `L` entries (gnu), or the ustar prefix field.
  for (const format of ['pax', 'gnu']) {
    test(`indexes every entry of a ${format} archive, long names included, and reads them at offsets`, async () => {
      const archive = join(work, `${format}.tar`);
      await run('tar', [`--format=${format}`, '-C', tree, '-cf', archive, '.'], { timeout: 30_000 });
      const index = await TarIndex.open(archive);
      for (const [name, content] of Object.entries(files)) {
        const entry = index.get(name);
        assert.ok(entry, name);
        assert.equal(entry.type, 'file');
        assert.equal(entry.size, content.length);
        assert.deepEqual(await buffer(index.openEntry(entry)), content, name);
        assert.deepEqual(await buffer(index.openEntry(entry, 3)), content.subarray(3), name);
      }
      assert.equal(index.get(longDir)?.type, 'directory');
      assert.equal(index.get('link')?.type, 'symlink');
      assert.equal(index.resolve('link')?.name, 'small.txt');
    });
  }

  test('uses the ustar prefix field for names longer than 100 bytes', async () => {
    const archive = join(work, 'ustar.tar');
    const name = `${'p'.repeat(120)}/short.txt`;
    await mkdir(join(work, 'ustar', 'p'.repeat(120)), { recursive: true });
    await writeFile(join(work, 'ustar', name), 'prefixed');
    await run('tar', ['--format=ustar', '-C', join(work, 'ustar'), '-cf', archive, name], { timeout: 30_000 });
    const index = await TarIndex.open(archive);
    assert.deepEqual(await buffer(index.openEntry(index.get(name)!)), Buffer.from('prefixed'));
  });

  test('says a compressed archive is unsupported and refuses what is not a tar', async () => {
    const gz = join(work, 'x.tar.gz');
    await writeFile(gz, gzipSync(Buffer.alloc(1024)));
    await assert.rejects(TarIndex.open(gz), UnsupportedFormatError);
    const junk = join(work, 'junk');
    await writeFile(junk, Buffer.alloc(2048, 'x'));
    await assert.rejects(TarIndex.open(junk), InvalidImageError);
  });
});
