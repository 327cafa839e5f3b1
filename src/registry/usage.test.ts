import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { digestOf, newHash } from '../protocol/digest.js';
import { MemoryDriver } from '../storage/memory-driver.js';
import { paths } from '../storage/paths.js';
import { writeLink } from './links.js';
import { repositoryUsage, storageUsage } from './usage.js';

const sha256 = (bytes: Buffer) => digestOf(newHash('sha256').update(bytes), 'sha256');

describe('storageUsage', () => {
  test('splits each repository into bytes shared with another repository and bytes only it links', async () => {
    const driver = new MemoryDriver();
    const blob = async (size: number, fill: string) => {
      const bytes = Buffer.alloc(size, fill);
      const digest = sha256(bytes);
      await driver.putContent(paths.blobData(digest), bytes);
      return digest;
    };
    const base = await blob(1000, 'b'); // a layer both repositories link
    const onlyA = await blob(300, 'a');
    const onlyB = await blob(50, 'c');
    const manifestA = await blob(20, 'm');
    await blob(5000, 'g'); // linked by nobody: not counted
    const gone = sha256(Buffer.from('never stored'));
    await writeLink(driver, paths.layerLink('a', base), base);
    await writeLink(driver, paths.layerLink('a', onlyA), onlyA);
    await writeLink(driver, paths.revisionLink('a', manifestA), manifestA);
    await writeLink(driver, paths.layerLink('team/b', base), base);
    await writeLink(driver, paths.layerLink('team/b', onlyB), onlyB);
    await writeLink(driver, paths.layerLink('team/b', gone), gone);

    const usage = await storageUsage(driver);
    assert.deepEqual(usage.repositories, [
      { name: 'a', blobs: 3, bytes: 1320, sharedBytes: 1000, exclusiveBytes: 320, missing: 0 },
      { name: 'team/b', blobs: 3, bytes: 1050, sharedBytes: 1000, exclusiveBytes: 50, missing: 1 },
    ]);
    assert.equal(usage.linkedBytes, 2370);
    assert.equal(usage.uniqueBlobs, 5);
    assert.equal(usage.uniqueBytes, 1370);
  });

  test('an empty registry uses nothing', async () => {
    assert.deepEqual(await storageUsage(new MemoryDriver()), { repositories: [], linkedBytes: 0, uniqueBlobs: 0, uniqueBytes: 0 });
  });

  test('repositoryUsage counts one repository alone, and agrees with storageUsage', async () => {
    const driver = new MemoryDriver();
    const stored = async (fill: string, size: number) => {
      const bytes = Buffer.alloc(size, fill);
      const digest = sha256(bytes);
      await driver.putContent(paths.blobData(digest), bytes);
      return digest;
    };
    const shared = await stored('s', 700);
    const own = await stored('o', 40);
    const manifest = await stored('m', 9);
    const gone = sha256(Buffer.from('not stored'));
    await writeLink(driver, paths.layerLink('team/app', shared), shared);
    await writeLink(driver, paths.layerLink('team/app', own), own);
    await writeLink(driver, paths.layerLink('team/app', gone), gone);
    await writeLink(driver, paths.revisionLink('team/app', manifest), manifest);
    await writeLink(driver, paths.layerLink('other', shared), shared);

    const alone = await repositoryUsage(driver, 'team/app');
    assert.deepEqual(alone, { name: 'team/app', blobs: 4, bytes: 749, missing: 1 });
    const whole = (await storageUsage(driver)).repositories.find((r) => r.name === 'team/app')!;
    assert.deepEqual({ name: whole.name, blobs: whole.blobs, bytes: whole.bytes, missing: whole.missing }, alone);
    assert.deepEqual(await repositoryUsage(driver, 'nothing/here'), { name: 'nothing/here', blobs: 0, bytes: 0, missing: 0 });
  });
});
