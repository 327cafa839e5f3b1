import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { digestBytes } from '../protocol/digest.js';
import { MemoryDriver } from '../storage/memory-driver.js';
import { paths } from '../storage/paths.js';
import { BlobStore } from './blob-store.js';
import { UploadSessions } from './uploads.js';

describe('UploadSessions', () => {
  test('chunks appended through one replica are continued and completed by another over the same storage', async () => {
    const driver = new MemoryDriver();
    const first = new UploadSessions(driver, new BlobStore(driver));
    const second = new UploadSessions(driver, new BlobStore(driver));
    const id = await first.start('app');
    assert.equal(await first.append('app', id, Readable.from([Buffer.from('first ')])), 6);
    assert.equal(await second.offset('app', id), 6);
    assert.equal(await second.append('app', id, Readable.from([Buffer.from('second')]), { range: { start: 6, end: 11 } }), 12);
    const expected = digestBytes(Buffer.from('first second'));
    assert.deepEqual(await first.complete('app', id, expected), { digest: expected, size: 12 });
    assert.deepEqual(await driver.getContent(paths.blobData(expected)), Buffer.from('first second'));
  });

  test('a chunk cut off half way keeps its bytes, and the digest is computed again from storage', async () => {
    const driver = new MemoryDriver();
    const uploads = new UploadSessions(driver, new BlobStore(driver));
    const id = await uploads.start('app');
    const dataPath = paths.uploadData('app', id);
    // The client goes away only once its first bytes have reached storage.
    const cut = Readable.from(
      (async function* () {
        yield Buffer.from('kept ');
        for (let turn = 0; (await driver.stat(dataPath)).size < 5; turn++) {
          assert.ok(turn < 10_000, 'the first bytes never reached storage');
          await new Promise((resolve) => setImmediate(resolve));
        }
        throw new Error('client went away');
      })(),
    );
    await assert.rejects(uploads.append('app', id, cut), /client went away/);
    const offset = await uploads.offset('app', id);
    assert.equal(offset, 5);
    await uploads.append('app', id, Readable.from([Buffer.from('and resumed')]), { range: { start: offset, end: offset + 10 } });
    const expected = digestBytes(Buffer.from('kept and resumed'));
    assert.deepEqual(await uploads.complete('app', id, expected), { digest: expected, size: 16 });
  });
});
