import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InvalidPathError, PathNotFoundError, temporaryPrefix } from './driver.js';
import { FilesystemDriver } from './filesystem-driver.js';
import { runDriverSuite } from './testing/driver-suite.js';

runDriverSuite('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-fs-driver-'));
  return { driver: new FilesystemDriver(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('filesystem driver specifics', () => {
  let base: string;
  let root: string;
  let driver: FilesystemDriver;

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'berth-fs-specific-'));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  const fresh = async (name: string) => {
    root = join(base, name, 'root');
    await mkdir(root, { recursive: true });
    driver = new FilesystemDriver(root);
  };

  test('removers racing on one directory each end done or not found, never with another error', async () => {
    // A manifest DELETE and the garbage collector may remove the same revision at once; a
    // remover that saw a directory (EISDIR) which the other took away before its listing
    // answered that EISDIR, a 500 to the client.
    await fresh('racing-removers');
    const unexpected: unknown[] = [];
    for (let round = 0; round < 200; round++) {
      const dir = `/docker/registry/v2/repositories/app/_manifests/revisions/sha256/r${round}`;
      await driver.putContent(`${dir}/link`, Buffer.from('sha256:r'));
      await Promise.all(
        Array.from({ length: 6 }, () =>
          driver.delete(dir).catch((error: unknown) => {
            if (!(error instanceof PathNotFoundError)) unexpected.push(error);
          }),
        ),
      );
    }
    assert.deepEqual(unexpected, []);
  });

  test('one driver path is one file under the root, as Distribution lays them out', async () => {
    await fresh('layout');
    await driver.putContent('/docker/registry/v2/repositories/app/_layers/sha256/ab/link', Buffer.from('sha256:ab'));
    const onDisk = join(root, 'docker/registry/v2/repositories/app/_layers/sha256/ab/link');
    assert.equal(await readFile(onDisk, 'utf8'), 'sha256:ab');
    // And what another registry wrote on disk is read as is.
    await mkdir(join(root, 'docker/registry/v2/blobs'), { recursive: true });
    await writeFile(join(root, 'docker/registry/v2/blobs/data'), 'from elsewhere');
    assert.deepEqual(await driver.getContent('/docker/registry/v2/blobs/data'), Buffer.from('from elsewhere'));
  });

  test('the root directory is created on the first write', async () => {
    root = join(base, 'later', 'not', 'yet');
    driver = new FilesystemDriver(root);
    await driver.putContent('/file', Buffer.from('x'));
    assert.equal(await readFile(join(root, 'file'), 'utf8'), 'x');
  });

  test('putContent leaves no temporary file behind, and never a partial file at the final name', async () => {
    await fresh('atomic');
    await driver.putContent('/dir/file', Buffer.from('old'));
    // What a process killed in the middle of putContent leaves: a temporary file beside the target.
    await writeFile(join(root, 'dir', `${temporaryPrefix}0123456789abcdef`), 'half of the new con');
    assert.deepEqual(await driver.list('/dir'), ['file']);
    assert.deepEqual(await driver.getContent('/dir/file'), Buffer.from('old'));

    await Promise.all(Array.from({ length: 8 }, (_, i) => driver.putContent('/dir/file', Buffer.alloc(4096, i))));
    const onDisk = await readdir(join(root, 'dir'));
    assert.deepEqual(onDisk.filter((name) => !name.startsWith(temporaryPrefix)), ['file']);
    assert.equal(onDisk.length, 2, 'only the file and the leftover of the simulated crash');
  });

  test('a failed putContent removes its temporary file', async () => {
    await fresh('failed');
    // A non-empty directory at the target makes the final rename fail.
    await driver.putContent('/dir/target/inside', Buffer.from('x'));
    await assert.rejects(() => driver.putContent('/dir/target', Buffer.from('new')));
    assert.deepEqual(await readdir(join(root, 'dir')), ['target']);
    assert.deepEqual(await driver.getContent('/dir/target/inside'), Buffer.from('x'));
  });

  test('no path reaches outside the root', async () => {
    await fresh('escape');
    await driver.putContent('/inside', Buffer.from('kept'));
    await writeFile(join(base, 'escape', 'outside'), 'not for the driver');
    const escapes = ['/../outside', '/../escaped', '/a/../../escaped', '/..', '/../..', '/.'];
    for (const path of escapes) {
      await assert.rejects(() => driver.getContent(path), InvalidPathError);
      await assert.rejects(() => driver.putContent(path, Buffer.from('x')), InvalidPathError);
      await assert.rejects(() => driver.writer(path, { append: true }), InvalidPathError);
      await assert.rejects(() => driver.move('/inside', path), InvalidPathError);
      await assert.rejects(() => driver.delete(path), InvalidPathError);
      await assert.rejects(() => driver.list(path), InvalidPathError);
    }
    await assert.rejects(() => driver.delete('/'), InvalidPathError);
    assert.deepEqual((await readdir(join(base, 'escape'))).sort(), ['outside', 'root']);
    assert.equal(await readFile(join(base, 'escape', 'outside'), 'utf8'), 'not for the driver');
    assert.deepEqual(await readdir(root), ['inside']);
  });
});
