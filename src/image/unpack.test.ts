import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { listTree } from '../../test/helpers/files.js';
import { makeTar, sha256, writeTestLayout, type TarFixtureEntry } from '../../test/helpers/image-layout.js';
import { ContentMismatchError, InvalidImageError, UnsupportedFormatError } from './image-errors.js';
import { OciLayoutSource } from './oci-layout.js';
import { LayerUnpacker, unpackLayers } from './unpack.js';

const run = promisify(execFile);

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-unpack-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

async function applyAll(root: string, layers: TarFixtureEntry[][]): Promise<void> {
  const unpacker = new LayerUnpacker(root);
  for (const entries of layers) await unpacker.applyLayer(Readable.from([await makeTar(entries)]));
  await unpacker.finish();
}

describe('unpacking a malicious layer', () => {
  test('writes nothing outside the directory, whatever names, symlinks and links say', async () => {
    const base = await mkdtemp(join(work, 'evil-'));
    const root = join(base, 'root');
    const sentinel = join(base, 'sentinel');
    await mkdir(sentinel);
    await writeFile(join(sentinel, 'keep'), 'original');
    const before = await listTree(base);

    await applyAll(root, [
      [
        { name: '../escape', content: 'x' },
        { name: '../../../../../../escape2', content: 'x' },
        { name: '/abs/file', content: 'x' },
        { name: 'link', type: 'symlink', linkname: '/' },
        { name: 'link/etc/x', content: 'via link' },
        { name: 'up', type: 'symlink', linkname: '../../..' },
        { name: 'up/x', content: 'via up' },
        { name: 'hostdir', type: 'symlink', linkname: base },
        { name: 'hostdir/sentinel/keep', content: 'overwritten?' },
        { name: 'hostdir/newdir', type: 'directory' },
        { name: 'evil', type: 'symlink', linkname: join(sentinel, 'keep') },
        { name: 'evil', content: 'replaces the link, not its target' },
        { name: 'etc/passwd', content: 'inside' },
        { name: 'hard', type: 'link', linkname: '../../etc/passwd' },
        { name: '../.wh.sentinel' },
        { name: 'up/.wh.sentinel' },
        { name: 'hostdir/.wh.sentinel' },
        { name: '.wh...' },
        { name: 'up/../../sibling', type: 'directory' },
      ],
      // A symlink made by an earlier layer is still resolved inside the root.
      [{ name: 'link/etc/y', content: 'second layer' }, { name: 'hostdir/sentinel/z', content: 'x' }],
    ]);

    assert.deepEqual(await listTree(base).then((tree) => tree.filter((path) => !path.startsWith('root/'))), before.filter((path) => !path.startsWith('root/')));
    assert.equal(await readFile(join(sentinel, 'keep'), 'utf8'), 'original');
    assert.equal(await readFile(join(root, 'escape'), 'utf8'), 'x');
    assert.equal(await readFile(join(root, 'escape2'), 'utf8'), 'x');
    assert.equal(await readFile(join(root, 'abs/file'), 'utf8'), 'x');
    assert.equal(await readFile(join(root, 'etc/x'), 'utf8'), 'via link');
    assert.equal(await readFile(join(root, 'etc/y'), 'utf8'), 'second layer');
    assert.equal(await readFile(join(root, 'x'), 'utf8'), 'via up');
    // The whiteout through `hostdir` removed the copy inside the root; the second layer wrote z there.
    assert.deepEqual(await readdir(join(root, base, 'sentinel')), ['z']);
    assert.ok((await stat(join(root, base, 'newdir'))).isDirectory());
    assert.ok((await lstat(join(root, 'evil'))).isFile());
    assert.equal((await stat(join(root, 'hard'))).ino, (await stat(join(root, 'etc/passwd'))).ino);
    assert.ok((await stat(join(root, 'sibling'))).isDirectory());
  });

  test('refuses a hard link to a host file rather than linking outside', async () => {
    const base = await mkdtemp(join(work, 'evil-link-'));
    const root = join(base, 'root');
    await writeFile(join(base, 'secret'), 'secret');
    await assert.rejects(applyAll(root, [[{ name: 'steal', type: 'link', linkname: join(base, 'secret') }]]), InvalidImageError);
    assert.deepEqual(await readdir(root), []);
    assert.equal((await stat(join(base, 'secret'))).nlink, 1);
  });

  test('a symlinked parent created by a lower layer cannot redirect a whiteout', async () => {
    const base = await mkdtemp(join(work, 'evil-wh-'));
    const root = join(base, 'root');
    await mkdir(join(base, 'victim'));
    await writeFile(join(base, 'victim', 'file'), 'still here');
    await applyAll(root, [[{ name: 'p', type: 'symlink', linkname: base }], [{ name: 'p/victim/.wh..wh..opq' }, { name: 'p/.wh.victim' }]]);
    assert.equal(await readFile(join(base, 'victim', 'file'), 'utf8'), 'still here');
  });
});

describe('whiteouts', () => {
  test('remove lower entries, and an opaque directory keeps only what its own layer wrote', async () => {
    const root = join(await mkdtemp(join(work, 'wh-')), 'root');
    await applyAll(root, [
      [
        { name: 'a/1', content: '1' },
        { name: 'a/2', content: '2' },
        { name: 'b/sub/3', content: '3' },
        { name: 'b/old', content: 'old' },
        { name: 'c/4', content: '4' },
        { name: 'd/5', content: '5' },
        { name: 'keep', content: 'k' },
        { name: 'sl', type: 'symlink', linkname: 'a' },
      ],
      [
        { name: 'a/.wh.1' },
        { name: 'b/new', content: 'new' },
        { name: 'b/sub/kept', content: 'kept' },
        { name: 'b/.wh..wh..opq' },
        { name: '.wh.c' },
        { name: 'd', type: 'directory' },
        { name: 'd/.wh..wh..opq' },
        { name: '.wh.sl' },
      ],
    ]);
    assert.deepEqual(await listTree(root), ['a/', 'a/2', 'b/', 'b/new', 'b/sub/', 'b/sub/kept', 'd/', 'keep']);
  });
});

describe('layer media types and digests', () => {
  test('checks the layer digest, and says zstd and unknown media types are unsupported', async () => {
    const root = join(await mkdtemp(join(work, 'types-')), 'root');
    const bytes = await makeTar([{ name: 'a', content: 'a' }]);
    const unpacker = new LayerUnpacker(root);
    const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(bytes), size: bytes.length };
    await unpacker.applyLayer(Readable.from([bytes]), layer);
    await assert.rejects(unpacker.applyLayer(Readable.from([bytes]), { ...layer, digest: sha256(Buffer.from('other')) }), ContentMismatchError);
    await assert.rejects(unpacker.applyLayer(Readable.from([bytes]), { ...layer, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }), UnsupportedFormatError);
    await assert.rejects(unpacker.applyLayer(Readable.from([bytes]), { ...layer, mediaType: 'application/x-unknown' }), UnsupportedFormatError);
  });
});

/** Every path below `dir` (type, mode, mtime, link target, content, link count) with what a comparison of two unpacked trees should look at. */
async function describeTree(dir: string, undatedDirs: string[]): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  const walk = async (relative: string): Promise<void> => {
    for (const name of (await readdir(join(dir, relative))).sort()) {
      const path = relative ? `${relative}/${name}` : name;
      const info = await lstat(join(dir, path));
      // A directory no entry declares gets the time it was made, which differs between two runs.
      const dated = !(info.isDirectory() && undatedDirs.includes(path));
      const mode = `${(info.mode & 0o7777).toString(8)}${dated ? ` ${info.mtime.toISOString()}` : ''}`;
      if (info.isSymbolicLink()) found[path] = `symlink -> ${await readlink(join(dir, path))}`;
      else if (info.isDirectory()) {
        found[path] = `dir ${mode}`;
        await walk(path);
      } else if (!info.isFile()) found[path] = 'special';
      else found[path] = `file ${mode} links=${info.nlink} ${await readFile(join(dir, path), 'utf8')}`;
    }
  };
  await walk('');
  return found;
}

describe('unpackLayers', () => {
  test('builds the same tree as umoci unpack', async () => {
    const base = await mkdtemp(join(work, 'umoci-'));
    const layout = join(base, 'layout');
    await writeTestLayout(layout, [
      [
        { name: 'bin/', type: 'directory' },
        { name: 'etc/', type: 'directory' },
        { name: 'etc/conf', content: 'conf', mode: 0o600 },
        { name: 'etc/gone', content: 'gone' },
        { name: 'usr/lib/libx', content: 'lib v1', mode: 0o755 },
        { name: 'link', type: 'symlink', linkname: 'usr/lib/libx' },
        { name: 'abs', type: 'symlink', linkname: '/etc/conf' },
        { name: 'opt/a/1', content: '1' },
        { name: 'opt/2', content: '2' },
        { name: 'hard', type: 'link', linkname: 'etc/conf' },
        { name: 'tmp/', type: 'directory', mode: 0o1777 },
        { name: 'ro/', type: 'directory', mode: 0o555 },
        { name: 'ro/file', content: 'read only', mode: 0o444 },
        { name: 'fifo', type: 'fifo' },
      ],
      [
        { name: 'etc/.wh.gone' },
        { name: 'opt/.wh..wh..opq' },
        { name: 'opt/b', content: 'b' },
        { name: 'usr/lib/libx', content: 'lib v2', mode: 0o700 },
        { name: 'newdir/deep/file', content: 'deep' },
        { name: 'link2', type: 'symlink', linkname: '../etc' },
        { name: 'ro/added', content: 'added in a read-only dir' },
      ],
      [{ name: 'newdir/deep/.wh.file' }, { name: 'script', content: '#!/bin/sh\n', mode: 0o4755 }],
    ]);
    const bundle = join(base, 'bundle');
    await run('/usr/bin/umoci', ['unpack', '--rootless', '--image', `${layout}:latest`, bundle], { timeout: 60_000 });

    const ours = join(base, 'ours');
    const source = new OciLayoutSource(layout, 'latest');
    await unpackLayers(source, await source.root(), ours);

    const undated = ['usr', 'usr/lib', 'newdir', 'newdir/deep', 'opt'];
    const expected = await describeTree(join(bundle, 'rootfs'), undated);
    // umoci makes FIFOs even rootless; unpack skips them by choice (see unpack.ts).
    assert.equal(expected.fifo, 'special');
    delete expected.fifo;
    assert.deepEqual(await describeTree(ours, undated), expected);
  });
});

