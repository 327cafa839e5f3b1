import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StorageDriver } from '../storage/driver.js';
import { MemoryDriver } from '../storage/memory-driver.js';
import { PullLog, pullKey, pullPaths, readPullTimes, savePullTimes } from './pull-record.js';

const digestA = `sha256:${'a'.repeat(64)}`;
const digestB = `sha256:${'b'.repeat(64)}`;

/** A MemoryDriver whose writes fail while `failing` is set. */
class FlakyDriver extends MemoryDriver {
  failing = false;
  override async putContent(path: string, content: Uint8Array): Promise<void> {
    if (this.failing) throw new Error('storage unavailable');
    await super.putContent(path, content);
  }
}

describe('pull record', () => {
  test('each flush writes the pulls since the last one as a new segment; reading merges them, the latest time winning', async () => {
    const driver = new MemoryDriver();
    let clock = 1000;
    const log = new PullLog(driver, { now: () => clock });
    log.record('hub/app', digestA, 10);
    clock = 2000;
    log.record('hub/app', digestA, 10);
    log.record('hub/other', digestB, 20);
    await log.flush();
    await log.flush(); // nothing new: no second segment
    assert.equal((await driver.list(pullPaths.segments)).length, 1);
    // A second process (or this one after a restart) records on its own.
    const other = new PullLog(driver, { now: () => 1500 });
    other.record('hub/app', digestA, 10);
    other.record('hub/app', digestB, 30);
    await other.stop();
    const { times, segments } = await readPullTimes(driver);
    assert.equal(segments.length, 2);
    assert.deepEqual(
      [...times].sort(),
      [
        [pullKey('hub/app', digestA), 2000],
        [pullKey('hub/app', digestB), 1500],
        [pullKey('hub/other', digestB), 2000],
      ].sort(),
    );
  });

  test('saving the merged table deletes only the segments it includes; the table survives a restart', async () => {
    const driver = new MemoryDriver();
    const first = new PullLog(driver, { now: () => 1000 });
    first.record('hub/app', digestA, 1);
    await first.flush();
    const read = await readPullTimes(driver);
    // A pull flushed after the evictor read: its segment must stay for the next round.
    const late = new PullLog(driver, { now: () => 3000 });
    late.record('hub/app', digestB, 1);
    await late.flush();
    await savePullTimes(driver, read.times, read.segments);
    const again = await readPullTimes(driver);
    assert.equal(again.segments.length, 1);
    assert.deepEqual(
      [...again.times].sort(),
      [
        [pullKey('hub/app', digestA), 1000],
        [pullKey('hub/app', digestB), 3000],
      ].sort(),
    );
  });

  test('a failed flush keeps the pulls for the next one; an unreadable table reads as empty', async () => {
    const driver = new FlakyDriver();
    const log = new PullLog(driver, { now: () => 1000 });
    log.record('hub/app', digestA, 1);
    driver.failing = true;
    await assert.rejects(log.flush(), /storage unavailable/);
    driver.failing = false;
    await log.flush();
    assert.deepEqual([...(await readPullTimes(driver)).times], [[pullKey('hub/app', digestA), 1000]]);

    const damaged: StorageDriver = new MemoryDriver();
    await damaged.putContent(pullPaths.merged, Buffer.from('{not json'));
    assert.equal((await readPullTimes(damaged)).times.size, 0);
  });
});
