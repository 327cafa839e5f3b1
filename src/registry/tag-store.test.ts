import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { digestBytes } from '../protocol/digest.js';
import { FilesystemDriver } from '../storage/filesystem-driver.js';
import { paths } from '../storage/paths.js';
import { TagStore } from './tag-store.js';

const digest = digestBytes(Buffer.from('a manifest'));

describe('TagStore.list keeps its last listing and sees every change made by another process', () => {
  const roots: string[] = [];
  after(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  async function setup() {
    const root = await mkdtemp(join(tmpdir(), 'berth-tags-'));
    roots.push(root);
    const driver = new FilesystemDriver(root);
    let lists = 0;
    // Counts directory reads of the reader's driver: a kept listing costs none.
    const counted = Object.assign(Object.create(driver) as FilesystemDriver, {
      list: async (path: string) => {
        lists++;
        return await driver.list(path);
      },
    });
    const directory = join(root, paths.tags('app'));
    // Makes the tag directory look unchanged for a while, so its change token can be trusted.
    const settle = async (times?: { atime: Date; mtime: Date }) => {
      const past = new Date(Date.now() - 10_000);
      await utimes(directory, times?.atime ?? past, times?.mtime ?? past);
    };
    return { reader: new TagStore(counted), writer: new TagStore(driver), settle, directory, lists: () => lists };
  }

  test('an unchanged directory is not read again; added and removed tags are seen at once', async () => {
    const { reader, writer, settle, lists } = await setup();
    await writer.set('app', 'one', digest);
    await settle();
    assert.deepEqual(await reader.list('app'), ['one']);
    const read = lists();
    assert.deepEqual(await reader.list('app'), ['one']);
    assert.equal(lists(), read, 'the kept listing was used');
    await writer.set('app', 'two', digest);
    assert.deepEqual(await reader.list('app'), ['one', 'two']);
    await settle();
    await writer.remove('app', 'one');
    assert.deepEqual(await reader.list('app'), ['two']);
  });

  test('a tag added within the same clock tick as the last listing is still seen', async () => {
    const { reader, writer, settle, directory } = await setup();
    await writer.set('app', 'one', digest);
    await settle();
    const before = await stat(directory);
    assert.deepEqual(await reader.list('app'), ['one']);
    await writer.set('app', 'two', digest);
    // The same times as before the change: as if the kernel's coarse clock had not moved.
    await settle({ atime: before.atime, mtime: before.mtime });
    assert.deepEqual(await reader.list('app'), ['one', 'two']);
  });

  test('a tag directory without a current link is listed once the link is written', async () => {
    const root = await mkdtemp(join(tmpdir(), 'berth-tags-'));
    roots.push(root);
    const driver = new FilesystemDriver(root);
    const tags = new TagStore(driver);
    await tags.set('app', 'one', digest);
    await mkdir(join(root, paths.tagIndexLink('app', 'half', digest), '..'), { recursive: true });
    const past = new Date(Date.now() - 10_000);
    await utimes(join(root, paths.tags('app')), past, past);
    assert.deepEqual(await tags.list('app'), ['one']);
    // The push's second write: inside the tag's directory, so the tags directory does not change.
    await driver.putContent(paths.tagCurrentLink('app', 'half'), Buffer.from(digest.text));
    await utimes(join(root, paths.tags('app')), past, past);
    assert.deepEqual(await tags.list('app'), ['half', 'one']);
  });

  test('a repository without tags lists none', async () => {
    const { reader } = await setup();
    assert.deepEqual(await reader.list('app'), []);
  });
});
