import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import {
  InvalidOffsetError,
  InvalidPathError,
  PathNotFoundError,
  type FileWriter,
  type StorageDriver,
} from '../driver.js';

/** A fresh, empty driver for one test, and how to throw it away afterwards. */
export interface DriverUnderTest {
  driver: StorageDriver;
  cleanup?: () => Promise<void>;
}

/** Generous, but bounded: a driver that hangs fails its test instead of the whole run. */
const testTimeout = 120_000;

/**
 * The one suite every StorageDriver passes: each documented point of the contract in driver.ts
 * is a test here. A driver adopts it with one line in its test file:
 *
 *   runDriverSuite('filesystem', async () => ({ driver: new FilesystemDriver(dir), cleanup }));
 *
 * `makeDriver` is called once per test and must return an empty driver (a fresh directory,
 * bucket prefix or container), so tests never see each other's files.
 */
export function runDriverSuite(name: string, makeDriver: () => Promise<DriverUnderTest>): void {
  const check = (title: string, body: (driver: StorageDriver) => Promise<void>) =>
    test(title, { timeout: testTimeout }, async () => {
      const { driver, cleanup } = await makeDriver();
      try {
        await body(driver);
      } finally {
        await cleanup?.();
      }
    });

  describe(`storage driver suite: ${name}`, () => {
    describe('getContent and putContent', () => {
      check('putContent then getContent gives the same bytes back', async (driver) => {
        await driver.putContent('/a/file', Buffer.from('hello, registry'));
        assert.deepEqual(await driver.getContent('/a/file'), Buffer.from('hello, registry'));
      });

      check('putContent replaces the whole previous content, longer or shorter', async (driver) => {
        await driver.putContent('/a/file', Buffer.from('a long first version of the content'));
        await driver.putContent('/a/file', Buffer.from('short'));
        assert.deepEqual(await driver.getContent('/a/file'), Buffer.from('short'));
        await driver.putContent('/a/file', Buffer.from('and now a longer one again'));
        assert.deepEqual(await driver.getContent('/a/file'), Buffer.from('and now a longer one again'));
      });

      check('putContent creates every missing parent directory', async (driver) => {
        await driver.putContent('/deep/ly/nested/dir/file', Buffer.from('x'));
        assert.deepEqual(await driver.getContent('/deep/ly/nested/dir/file'), Buffer.from('x'));
        for (const directory of ['/deep', '/deep/ly', '/deep/ly/nested', '/deep/ly/nested/dir']) {
          assert.equal((await driver.stat(directory)).isDirectory, true, directory);
        }
      });

      check('empty content is an empty file, not a missing one', async (driver) => {
        await driver.putContent('/empty', new Uint8Array());
        assert.deepEqual(await driver.getContent('/empty'), Buffer.alloc(0));
        const info = await driver.stat('/empty');
        assert.equal(info.size, 0);
        assert.equal(info.isDirectory, false);
      });

      check('content is stored by value: later changes to either buffer do not reach storage', async (driver) => {
        const source = Buffer.from('original');
        await driver.putContent('/file', source);
        source.fill(0);
        const read = await driver.getContent('/file');
        read.fill(1);
        assert.deepEqual(await driver.getContent('/file'), Buffer.from('original'));
      });

      check('binary content of every byte value survives unchanged', async (driver) => {
        const bytes = binarySample();
        await driver.putContent('/binary', bytes);
        assert.deepEqual(await driver.getContent('/binary'), bytes);
      });

      check('getContent of a missing file is PathNotFoundError', async (driver) => {
        await assertNotFound(() => driver.getContent('/missing'), '/missing');
        await driver.putContent('/dir/file', Buffer.from('x'));
        await assertNotFound(() => driver.getContent('/dir/other'), '/dir/other');
        await assertNotFound(() => driver.getContent('/dir/file/below'), '/dir/file/below');
      });

      check('getContent of a directory is PathNotFoundError (there is no file at the path)', async (driver) => {
        await driver.putContent('/dir/file', Buffer.from('x'));
        await assertNotFound(() => driver.getContent('/dir'), '/dir');
      });
    });

    describe('reader', () => {
      const content = Buffer.from('0123456789abcdefghij');

      check('reads the whole file by default', async (driver) => {
        await driver.putContent('/r/file', content);
        assert.deepEqual(await readAll(await driver.reader('/r/file')), content);
        assert.deepEqual(await readAll(await driver.reader('/r/file', {})), content);
      });

      check('starts at offset', async (driver) => {
        await driver.putContent('/r/file', content);
        assert.deepEqual(await readAll(await driver.reader('/r/file', { offset: 7 })), content.subarray(7));
        assert.deepEqual(await readAll(await driver.reader('/r/file', { offset: 0 })), content);
      });

      check('stops at end, inclusive', async (driver) => {
        await driver.putContent('/r/file', content);
        assert.deepEqual(await readAll(await driver.reader('/r/file', { offset: 3, end: 9 })), content.subarray(3, 10));
        assert.deepEqual(await readAll(await driver.reader('/r/file', { end: 0 })), content.subarray(0, 1));
        assert.deepEqual(await readAll(await driver.reader('/r/file', { offset: 5, end: 5 })), content.subarray(5, 6));
        const last = content.length - 1;
        assert.deepEqual(await readAll(await driver.reader('/r/file', { offset: 2, end: last })), content.subarray(2));
      });

      check('offset equal to the size gives an empty stream', async (driver) => {
        await driver.putContent('/r/file', content);
        assert.deepEqual(await readAll(await driver.reader('/r/file', { offset: content.length })), Buffer.alloc(0));
        await driver.putContent('/r/empty', new Uint8Array());
        assert.deepEqual(await readAll(await driver.reader('/r/empty')), Buffer.alloc(0));
      });

      check('offset past the end is InvalidOffsetError', async (driver) => {
        await driver.putContent('/r/file', content);
        await assert.rejects(
          () => driver.reader('/r/file', { offset: content.length + 1 }),
          (error: unknown) => {
            assert.ok(error instanceof InvalidOffsetError, `expected InvalidOffsetError, got ${String(error)}`);
            assert.equal(error.path, '/r/file');
            assert.equal(error.offset, content.length + 1);
            return true;
          },
        );
        await driver.putContent('/r/empty', new Uint8Array());
        await assert.rejects(() => driver.reader('/r/empty', { offset: 1 }), InvalidOffsetError);
      });

      check('a missing file is PathNotFoundError from the call itself, not from the stream', async (driver) => {
        await assertNotFound(() => driver.reader('/r/missing'), '/r/missing');
        await assertNotFound(() => driver.reader('/r/missing', { offset: 10 }), '/r/missing');
        await driver.putContent('/r/dir/file', content);
        await assertNotFound(() => driver.reader('/r/dir'), '/r/dir');
      });

      check('binary content of every byte value survives unchanged', async (driver) => {
        const bytes = binarySample();
        await driver.putContent('/binary', bytes);
        assert.deepEqual(await readAll(await driver.reader('/binary')), bytes);
        assert.deepEqual(await readAll(await driver.reader('/binary', { offset: 255, end: 767 })), bytes.subarray(255, 768));
      });
    });

    describe('writer', () => {
      check('writes a new file, creating parents; size counts what was written', async (driver) => {
        const writer = await driver.writer('/w/new/dir/data');
        assert.equal(writer.size, 0);
        await writeAll(writer, ['first ', 'second ', 'third']);
        assert.equal(writer.size, 'first second third'.length);
        await writer.commit();
        assert.deepEqual(await driver.getContent('/w/new/dir/data'), Buffer.from('first second third'));
        assert.equal((await driver.stat('/w/new/dir')).isDirectory, true);
      });

      check('without append, the file starts empty (existing content is dropped)', async (driver) => {
        await driver.putContent('/w/data', Buffer.from('old content that is longer than the new'));
        const writer = await driver.writer('/w/data');
        assert.equal(writer.size, 0);
        await writeAll(writer, ['new']);
        assert.equal(writer.size, 3);
        await writer.commit();
        assert.deepEqual(await driver.getContent('/w/data'), Buffer.from('new'));
      });

      check('with append, bytes go after the existing content; size counts both', async (driver) => {
        await driver.putContent('/w/data', Buffer.from('abc'));
        const writer = await driver.writer('/w/data', { append: true });
        assert.equal(writer.size, 3);
        await writeAll(writer, ['def', 'gh']);
        assert.equal(writer.size, 8);
        await writer.commit();
        assert.deepEqual(await driver.getContent('/w/data'), Buffer.from('abcdefgh'));
        assert.equal((await driver.stat('/w/data')).size, 8);
      });

      check('with append, a missing file counts as empty', async (driver) => {
        const writer = await driver.writer('/w/fresh/data', { append: true });
        assert.equal(writer.size, 0);
        await writeAll(writer, ['xyz']);
        assert.equal(writer.size, 3);
        await writer.commit();
        assert.deepEqual(await driver.getContent('/w/fresh/data'), Buffer.from('xyz'));
      });

      check('appends by successive writers add up, as chunked uploads do', async (driver) => {
        const chunks = ['chunk one|', 'chunk two|', 'chunk three'];
        let expected = 0;
        for (const chunk of chunks) {
          const writer = await driver.writer('/w/upload', { append: true });
          assert.equal(writer.size, expected);
          await writeAll(writer, [chunk]);
          expected += chunk.length;
          assert.equal(writer.size, expected);
          await writer.commit();
        }
        assert.deepEqual(await driver.getContent('/w/upload'), Buffer.from(chunks.join('')));
      });

      check('commit keeps the content, even when nothing was written', async (driver) => {
        const writer = await driver.writer('/w/empty');
        await writer.commit();
        const info = await driver.stat('/w/empty');
        assert.equal(info.size, 0);
        assert.equal(info.isDirectory, false);

        const second = await driver.writer('/w/kept');
        await writeAll(second, ['kept']);
        await second.commit();
        assert.equal((await driver.stat('/w/kept')).size, 4);
        assert.deepEqual(await readAll(await driver.reader('/w/kept')), Buffer.from('kept'));
      });

      check('cancel deletes the file', async (driver) => {
        const writer = await driver.writer('/w/cancelled');
        await writeAll(writer, ['doomed']);
        await writer.cancel();
        await assertNotFound(() => driver.stat('/w/cancelled'), '/w/cancelled');
        await assertNotFound(() => driver.getContent('/w/cancelled'), '/w/cancelled');
      });

      check('cancel of an appending writer deletes the file with what was there before', async (driver) => {
        await driver.putContent('/w/data', Buffer.from('before'));
        const writer = await driver.writer('/w/data', { append: true });
        await writeAll(writer, ['after']);
        await writer.cancel();
        await assertNotFound(() => driver.getContent('/w/data'), '/w/data');
      });

      check('cancel while the stream is still open deletes the file', async (driver) => {
        const writer = await driver.writer('/w/open');
        await writeChunk(writer, Buffer.from('partial'));
        await writer.cancel();
        await assertNotFound(() => driver.stat('/w/open'), '/w/open');
      });

      check('an interrupted stream keeps what it wrote for a later append', async (driver) => {
        await driver.putContent('/w/upload', Buffer.from('[start]'));
        const first = await driver.writer('/w/upload', { append: true });
        await writeChunk(first, Buffer.from('[written]'));
        first.stream.destroy(); // the client went away mid-chunk: neither commit nor cancel
        const second = await driver.writer('/w/upload', { append: true });
        assert.equal(second.size, '[start][written]'.length);
        await writeAll(second, ['[resumed]']);
        assert.equal(second.size, '[start][written][resumed]'.length);
        await second.commit();
        assert.deepEqual(await driver.getContent('/w/upload'), Buffer.from('[start][written][resumed]'));
      });

      check('a stream destroyed with an error keeps what it wrote too', async (driver) => {
        const first = await driver.writer('/w/upload', { append: true });
        await writeChunk(first, Buffer.from('abc'));
        const failed = new Promise<unknown>((resolve) => first.stream.once('error', resolve));
        first.stream.destroy(new Error('connection reset'));
        assert.match(String(await failed), /connection reset/);
        const second = await driver.writer('/w/upload', { append: true });
        assert.equal(second.size, 3);
        await writeAll(second, ['def']);
        await second.commit();
        assert.deepEqual(await driver.getContent('/w/upload'), Buffer.from('abcdef'));
      });

      check('8 MiB streamed through a writer reads back with the same SHA-256', async (driver) => {
        const size = 8 * 1024 * 1024;
        const content = randomBytes(size);
        // Odd chunk sizes, so no driver gets chunks aligned to its own buffers by luck.
        const chunks: Buffer[] = [];
        for (let at = 0; at < size; at += 100_003) chunks.push(content.subarray(at, Math.min(at + 100_003, size)));
        const writer = await driver.writer('/large/data');
        await writeAll(writer, chunks);
        assert.equal(writer.size, size);
        await writer.commit();
        assert.equal((await driver.stat('/large/data')).size, size);
        assert.equal(await sha256Of(await driver.reader('/large/data')), sha256(content));
        const offset = 5 * 1024 * 1024 + 7;
        const end = size - 12_345;
        assert.equal(
          await sha256Of(await driver.reader('/large/data', { offset, end })),
          sha256(content.subarray(offset, end + 1)),
        );
      });

      check('binary content of every byte value survives unchanged', async (driver) => {
        const bytes = binarySample();
        const writer = await driver.writer('/binary');
        await writeAll(writer, [bytes.subarray(0, 300), bytes.subarray(300)]);
        await writer.commit();
        assert.deepEqual(await driver.getContent('/binary'), bytes);
      });
    });

    describe('stat', () => {
      check('a file: its size, not a directory, a modification time', async (driver) => {
        await driver.putContent('/s/file', Buffer.from('12345'));
        const info = await driver.stat('/s/file');
        assert.equal(info.size, 5);
        assert.equal(info.isDirectory, false);
        assert.ok(info.modTime instanceof Date && !Number.isNaN(info.modTime.getTime()));
      });

      check('a directory is a directory', async (driver) => {
        await driver.putContent('/s/dir/sub/file', Buffer.from('x'));
        assert.equal((await driver.stat('/s/dir')).isDirectory, true);
        assert.equal((await driver.stat('/s/dir/sub')).isDirectory, true);
        assert.equal((await driver.stat('/s')).isDirectory, true);
      });

      check('a missing path is PathNotFoundError', async (driver) => {
        await assertNotFound(() => driver.stat('/s/missing'), '/s/missing');
        await driver.putContent('/s/file', Buffer.from('x'));
        await assertNotFound(() => driver.stat('/s/fil'), '/s/fil');
        await assertNotFound(() => driver.stat('/s/file/below'), '/s/file/below');
      });
    });

    describe('list', () => {
      check('names of files and subdirectories, sorted by code point', async (driver) => {
        const names = ['b', 'a', 'B', 'Z', '_under', '-dash', '.dot', '10', '9', 'a.b', 'a-b', 'a_b'];
        for (const entry of names) await driver.putContent(`/l/${entry}`, Buffer.from(entry));
        await driver.putContent('/l/subdir/nested/file', Buffer.from('x'));
        await driver.putContent('/l/other/file', Buffer.from('x'));
        const expected = [...names, 'subdir', 'other'].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
        assert.deepEqual(await driver.list('/l'), expected);
      });

      check('only direct children, each directory once, no paths', async (driver) => {
        await driver.putContent('/l/dir/one', Buffer.from('1'));
        await driver.putContent('/l/dir/two', Buffer.from('2'));
        await driver.putContent('/l/dir/sub/deep/three', Buffer.from('3'));
        await driver.putContent('/l/dirt/four', Buffer.from('4'));
        assert.deepEqual(await driver.list('/l'), ['dir', 'dirt']);
        assert.deepEqual(await driver.list('/l/dir'), ['one', 'sub', 'two']);
        assert.deepEqual(await driver.list('/l/dir/sub'), ['deep']);
      });

      check('shows a file written through a writer', async (driver) => {
        const writer = await driver.writer('/l/uploads/data');
        await writeAll(writer, ['x']);
        await writer.commit();
        await driver.putContent('/l/uploads/startedat', Buffer.from('now'));
        assert.deepEqual(await driver.list('/l/uploads'), ['data', 'startedat']);
      });

      check('a missing directory, or a file, is PathNotFoundError', async (driver) => {
        await assertNotFound(() => driver.list('/l/missing'), '/l/missing');
        await driver.putContent('/l/file', Buffer.from('x'));
        await assertNotFound(() => driver.list('/l/file'), '/l/file');
        await assertNotFound(() => driver.list('/l/fil'), '/l/fil');
      });

      check('never shows temporary files, even while writes are under way', async (driver) => {
        await driver.putContent('/l/busy/seed', Buffer.from('seed'));
        const final = new Set(['seed', ...Array.from({ length: 12 }, (_, i) => `file${i}`)]);
        let writing = true;
        const writes = Promise.all(
          Array.from({ length: 12 }, (_, i) => driver.putContent(`/l/busy/file${i}`, randomBytes(64 * 1024))),
        ).finally(() => (writing = false));
        let listings = 0;
        while (writing || listings === 0) {
          for (const entry of await driver.list('/l/busy')) assert.ok(final.has(entry), `list showed ${entry}`);
          listings++;
        }
        await writes;
        assert.deepEqual(await driver.list('/l/busy'), [...final].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
      });
    });

    describe('move', () => {
      check('moves a file to a new path, creating parents; the source is gone', async (driver) => {
        await driver.putContent('/m/source/file', Buffer.from('moving'));
        await driver.move('/m/source/file', '/m/target/new/dirs/file');
        assert.deepEqual(await driver.getContent('/m/target/new/dirs/file'), Buffer.from('moving'));
        await assertNotFound(() => driver.getContent('/m/source/file'), '/m/source/file');
        await assertNotFound(() => driver.stat('/m/source/file'), '/m/source/file');
        assert.equal((await driver.stat('/m/target/new/dirs')).isDirectory, true);
      });

      check('replaces a file at the target', async (driver) => {
        await driver.putContent('/m/a', Buffer.from('the new content'));
        await driver.putContent('/m/b', Buffer.from('old'));
        await driver.move('/m/a', '/m/b');
        assert.deepEqual(await driver.getContent('/m/b'), Buffer.from('the new content'));
        await assertNotFound(() => driver.getContent('/m/a'), '/m/a');
        assert.deepEqual(await driver.list('/m'), ['b']);
      });

      check('moves what a writer committed, as finished uploads do', async (driver) => {
        const writer = await driver.writer('/m/_uploads/id/data', { append: true });
        await writeAll(writer, ['blob bytes']);
        await writer.commit();
        await driver.move('/m/_uploads/id/data', '/m/blobs/ab/abcdef/data');
        assert.deepEqual(await readAll(await driver.reader('/m/blobs/ab/abcdef/data')), Buffer.from('blob bytes'));
        assert.equal((await driver.stat('/m/blobs/ab/abcdef/data')).size, 10);
      });

      check('a missing source is PathNotFoundError naming the source; the target is untouched', async (driver) => {
        await assertNotFound(() => driver.move('/m/missing', '/m/target'), '/m/missing');
        await driver.putContent('/m/target', Buffer.from('still here'));
        await assertNotFound(() => driver.move('/m/missing', '/m/target'), '/m/missing');
        assert.deepEqual(await driver.getContent('/m/target'), Buffer.from('still here'));
      });
    });

    describe('delete', () => {
      check('deletes a file and only that file', async (driver) => {
        await driver.putContent('/d/file', Buffer.from('x'));
        await driver.putContent('/d/file2', Buffer.from('y'));
        await driver.putContent('/d/fil', Buffer.from('z'));
        await driver.delete('/d/file');
        await assertNotFound(() => driver.getContent('/d/file'), '/d/file');
        await assertNotFound(() => driver.stat('/d/file'), '/d/file');
        assert.deepEqual(await driver.list('/d'), ['fil', 'file2']);
      });

      check('deletes a directory with everything below it, and nothing beside it', async (driver) => {
        await driver.putContent('/d/tree/a', Buffer.from('a'));
        await driver.putContent('/d/tree/sub/b', Buffer.from('b'));
        await driver.putContent('/d/tree/sub/deeper/c', Buffer.from('c'));
        await driver.putContent('/d/treetop', Buffer.from('sibling file'));
        await driver.putContent('/d/tree2/d', Buffer.from('sibling dir'));
        await driver.delete('/d/tree');
        for (const path of ['/d/tree', '/d/tree/a', '/d/tree/sub', '/d/tree/sub/deeper/c']) {
          await assertNotFound(() => driver.stat(path), path);
        }
        await assertNotFound(() => driver.list('/d/tree'), '/d/tree');
        assert.deepEqual(await driver.list('/d'), ['tree2', 'treetop']);
        assert.deepEqual(await driver.getContent('/d/treetop'), Buffer.from('sibling file'));
        assert.deepEqual(await driver.getContent('/d/tree2/d'), Buffer.from('sibling dir'));
      });

      check('a missing path is PathNotFoundError', async (driver) => {
        await assertNotFound(() => driver.delete('/d/missing'), '/d/missing');
        await driver.putContent('/d/file', Buffer.from('x'));
        await driver.delete('/d/file');
        await assertNotFound(() => driver.delete('/d/file'), '/d/file');
      });
    });

    describe('paths', () => {
      check('every character of the grammar is accepted, including dot-led components', async (driver) => {
        const path = '/AZaz09._-/.hidden/..two/.../x.y-z_';
        await driver.putContent(path, Buffer.from('ok'));
        assert.deepEqual(await driver.getContent(path), Buffer.from('ok'));
        assert.deepEqual(await driver.list('/AZaz09._-'), ['.hidden']);
        assert.deepEqual(await driver.list('/AZaz09._-/.hidden'), ['..two']);
      });

      check('invalid paths are InvalidPathError for every method', async (driver) => {
        await driver.putContent('/good/file', Buffer.from('kept'));
        for (const bad of invalidPaths) {
          const label = JSON.stringify(bad).slice(0, 40);
          const calls: [string, () => Promise<unknown>][] = [
            ['getContent', () => driver.getContent(bad)],
            ['putContent', () => driver.putContent(bad, Buffer.from('x'))],
            ['reader', () => driver.reader(bad)],
            ['writer', () => driver.writer(bad)],
            ['writer (append)', () => driver.writer(bad, { append: true })],
            ['stat', () => driver.stat(bad)],
            ['list', () => driver.list(bad)],
            ['move (from)', () => driver.move(bad, '/good/target')],
            ['move (to)', () => driver.move('/good/file', bad)],
            ['delete', () => driver.delete(bad)],
          ];
          for (const [method, call] of calls) {
            await assert.rejects(call, (error: unknown) => {
              assert.ok(error instanceof InvalidPathError, `${method}(${label}): expected InvalidPathError, got ${String(error)}`);
              assert.equal(error.path, bad, `${method}(${label})`);
              return true;
            });
          }
        }
        // Nothing was touched: the source of the refused moves is still there, and no target appeared.
        assert.deepEqual(await driver.getContent('/good/file'), Buffer.from('kept'));
        assert.deepEqual(await driver.list('/good'), ['file']);
      });
    });

    describe('concurrency', () => {
      check('concurrent putContent on one path leaves one whole value; readers never see a mix', async (driver) => {
        // Value i is (i + 1) * 16 KiB of the byte i, so any read can be checked for wholeness.
        const values = Array.from({ length: 16 }, (_, i) => Buffer.alloc((i + 1) * 16 * 1024, i));
        const isWhole = (content: Buffer) =>
          content.length > 0 && content[0]! < values.length && content.equals(values[content[0]!]!);
        await driver.putContent('/c/file', values[0]!);
        let writing = true;
        const writes = Promise.all(values.map((value) => driver.putContent('/c/file', value))).finally(
          () => (writing = false),
        );
        let reads = 0;
        while (writing || reads === 0) {
          const content = await driver.getContent('/c/file');
          assert.ok(isWhole(content), `read ${content.length} bytes that are not one whole value`);
          reads++;
        }
        await writes;
        assert.ok(isWhole(await driver.getContent('/c/file')));
        assert.ok(isWhole(await readAll(await driver.reader('/c/file'))));
        assert.deepEqual(await driver.list('/c'), ['file']);
      });

      check('concurrent writes to different paths do not disturb each other', async (driver) => {
        const values = Array.from({ length: 16 }, (_, i) => randomBytes(8 * 1024 + i));
        await Promise.all(values.map((value, i) => driver.putContent(`/c/many/${i}`, value)));
        for (const [i, value] of values.entries()) assert.deepEqual(await driver.getContent(`/c/many/${i}`), value);
        assert.equal((await driver.list('/c/many')).length, values.length);
      });
    });
  });
}

/** Paths outside the grammar of driver.ts, each one for a different reason. */
const invalidPaths: readonly string[] = [
  '',
  'relative',
  'relative/path',
  '/',
  '//',
  '//a',
  '/a//b',
  '/a/',
  '/a/b/',
  '/.',
  '/..',
  '/a/.',
  '/a/..',
  '/./a',
  '/a/../b',
  '/../escape',
  '/a b',
  '/a:b',
  '/a\\b',
  '/a\u0000b',
  '/a\nb',
  '/caf\u00e9',
  '/a*',
  '/a?b',
  '/a%2Fb',
  '/~user',
  '/a/.tmp-0123456789abcdef',
  `/${'a'.repeat(4096)}`,
];

async function assertNotFound(action: () => Promise<unknown>, path: string): Promise<void> {
  await assert.rejects(action, (error: unknown) => {
    assert.ok(error instanceof PathNotFoundError, `expected PathNotFoundError for ${path}, got ${String(error)}`);
    assert.equal(error.path, path);
    return true;
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

async function writeAll(writer: FileWriter, chunks: readonly (string | Buffer)[]): Promise<void> {
  await pipeline(
    Readable.from(chunks.map((chunk) => Buffer.from(chunk))),
    writer.stream,
  );
}

/** Writes one chunk and waits until the driver has taken it (its write callback), leaving the stream open. */
async function writeChunk(writer: FileWriter, chunk: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => writer.stream.write(chunk, (error) => (error ? reject(error) : resolve())));
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Uint8Array);
  return hash.digest('hex');
}

/** Every byte value, four times over, in a scrambled order (NULs, CR/LF, invalid UTF-8). */
function binarySample(): Buffer {
  const bytes = Buffer.alloc(1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 167 + 13) % 256;
  return bytes;
}
