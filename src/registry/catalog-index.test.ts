import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { digestBytes } from '../protocol/digest.js';
import { FilesystemDriver } from '../storage/filesystem-driver.js';
import { CatalogIndex } from './catalog-index.js';
import { Registry } from './registry.js';

const digest = digestBytes(Buffer.from('a layer'));

describe('CatalogIndex', () => {
  const roots: string[] = [];
  after(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  async function storage() {
    const root = await mkdtemp(join(tmpdir(), 'berth-catalog-'));
    roots.push(root);
    return new FilesystemDriver(root);
  }

  async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
    for (let turn = 0; turn < 200; turn++) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.fail(`${what} within 2 s`);
  }

  test('what this process writes or deletes is listed (or not) at once, nested names in code-point order', async () => {
    const driver = await storage();
    const registry = new Registry(driver, { deleteEnabled: true });
    await registry.blobs.link('a', digest);
    assert.deepEqual(await registry.repositories(), ['a']);
    await registry.blobs.link('a/b', digest);
    await registry.blobs.link('a-c', digest);
    assert.deepEqual(await registry.repositories(), ['a', 'a-c', 'a/b']);
    await registry.deleteRepository('a-c');
    assert.deepEqual(await registry.repositories(), ['a', 'a/b']);
  });

  test('repositories created and deleted by another process show up after a refresh', async () => {
    const driver = await storage();
    const other = new Registry(driver, { deleteEnabled: true });
    await other.blobs.link('one', digest);
    const index = new CatalogIndex(driver, { refreshMs: 0 });
    assert.deepEqual(await index.current(), ['one']);
    await other.blobs.link('two/nested', digest);
    await eventually(async () => (await index.current()).includes('two/nested'), 'the new repository was listed');
    await other.deleteRepository('one');
    await eventually(async () => !(await index.current()).includes('one'), 'the deleted repository left the list');
    assert.deepEqual(await index.current(), ['two/nested']);
  });

  test('a directory with only an upload in progress is not a repository', async () => {
    const driver = await storage();
    const registry = new Registry(driver, { deleteEnabled: true });
    await registry.uploads.start('uploading');
    await registry.blobs.link('done', digest);
    assert.deepEqual(await registry.repositories(), ['done']);
  });

  test('a note taken while a walk runs is not lost when the walk ends', async () => {
    const driver = await storage();
    const index = new CatalogIndex(driver, { refreshMs: 0 });
    const walk = index.current();
    index.noteRepository('written/during/walk');
    await walk;
    assert.deepEqual(await index.current(), ['written/during/walk']);
  });
});
