import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { digestBytes } from '../../protocol/digest.js';
import { TagStore } from '../../registry/tag-store.js';
import { MemoryDriver } from '../../storage/memory-driver.js';

/** A memory driver that records the most content reads it had in flight at once. */
class ConcurrencyDriver extends MemoryDriver {
  private inFlight = 0;
  mostInFlight = 0;

  override async getContent(path: string): Promise<Buffer> {
    this.mostInFlight = Math.max(this.mostInFlight, ++this.inFlight);
    try {
      return await super.getContent(path);
    } finally {
      this.inFlight--;
    }
  }
}

describe('the tags an image page lists (TagStore.pointingAt)', () => {
  test('are found among hundreds of tags with a bounded number of link reads at once', async () => {
    const driver = new ConcurrencyDriver();
    const tags = new TagStore(driver);
    const shown = digestBytes(Buffer.from('the manifest shown'));
    const other = digestBytes(Buffer.from('another manifest'));
    for (let i = 0; i < 300; i++) await tags.set('team/app', `t${String(i).padStart(3, '0')}`, i % 100 === 7 ? shown : other);
    driver.mostInFlight = 0;
    assert.deepEqual(await tags.pointingAt('team/app', shown), ['t007', 't107', 't207']);
    assert.ok(driver.mostInFlight >= 2 && driver.mostInFlight <= 16, `at most 16 reads at once, not ${driver.mostInFlight}`);
  });
});
