import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { MemoryDriver } from '../memory-driver.js';
import { runDriverSuite } from './driver-suite.js';
import { FaultyDriver, SeededRandom } from './faulty-driver.js';

// With no fault drawn the wrapper is invisible: it keeps the whole driver contract.
runDriverSuite('faulty (no faults)', async () => ({ driver: new FaultyDriver(new MemoryDriver(), { seed: 1, probability: 0 }) }));

test('the same seed draws the same faults', async () => {
  const run = async () => {
    const driver = new FaultyDriver(new MemoryDriver(), { seed: 42, probability: 0.3 });
    const outcomes: string[] = [];
    for (let i = 0; i < 100; i++) {
      outcomes.push(await driver.putContent(`/f/${i}`, Buffer.from('x')).then(() => 'ok', (error: NodeJS.ErrnoException) => error.code!));
    }
    return outcomes;
  };
  const first = await run();
  assert.deepEqual(await run(), first);
  assert.ok(first.includes('ok') && first.includes('EIO') && first.includes('ENOSPC'), first.join(' '));
  assert.notDeepEqual(new SeededRandom(1).next(), new SeededRandom(2).next());
});

test('a writer that fails part way keeps the bytes it passed, and reports ENOSPC as node does', async () => {
  const inner = new MemoryDriver();
  const driver = new FaultyDriver(inner, { seed: 7, probability: 1, operations: ['write'], codes: ['ENOSPC'], maxBytesBeforeFault: 1000 });
  const writer = await driver.writer('/u/data');
  const bytes = Buffer.alloc(5000, 7);
  await assert.rejects(pipeline(Readable.from([bytes.subarray(0, 2500), bytes.subarray(2500)]), writer.stream), (error: NodeJS.ErrnoException) => {
    assert.equal(error.code, 'ENOSPC');
    assert.equal(error.syscall, 'write');
    return true;
  });
  const stored = (await inner.stat('/u/data')).size;
  assert.ok(stored < 1000, `stored ${stored} bytes`);
  assert.deepEqual(await inner.getContent('/u/data'), bytes.subarray(0, stored));
  // Reads never fail with ENOSPC: a full disk still serves what it holds.
  assert.deepEqual(await driver.getContent('/u/data'), bytes.subarray(0, stored));
  assert.deepEqual(driver.counts.byCode, { EIO: 0, ENOSPC: 1 });
});

test('a reader that fails part way passes a prefix of the file, then an I/O error', async () => {
  const inner = new MemoryDriver();
  const content = Buffer.from(Array.from({ length: 4000 }, (_, i) => i % 251));
  await inner.putContent('/r/data', content);
  const driver = new FaultyDriver(inner, { seed: 3, probability: 1, operations: ['read'], maxBytesBeforeFault: 3000 });
  const received: Buffer[] = [];
  await assert.rejects(
    (async () => {
      for await (const chunk of await driver.reader('/r/data')) received.push(chunk as Buffer);
    })(),
    { code: 'EIO' },
  );
  const prefix = Buffer.concat(received);
  assert.ok(prefix.length < 3000);
  assert.deepEqual(prefix, content.subarray(0, prefix.length));
});

test('an "after" fault does the work and still reports the error', async () => {
  const inner = new MemoryDriver();
  // A fault on a write strikes before or after the call: seeds are tried until one strikes after.
  for (let seed = 1; seed < 200; seed++) {
    const driver = new FaultyDriver(inner, { seed, probability: 1, operations: ['rename'], codes: ['EIO'] });
    await inner.putContent(`/a/${seed}`, Buffer.from('moved'));
    const error = await driver.move(`/a/${seed}`, `/b/${seed}`).catch((caught: unknown) => caught);
    assert.ok(error instanceof Error);
    if (driver.counts.byKind.after === 1) {
      assert.deepEqual(await inner.getContent(`/b/${seed}`), Buffer.from('moved'));
      return;
    }
    assert.deepEqual(await inner.getContent(`/a/${seed}`), Buffer.from('moved'), 'a fault before the call leaves storage as it was');
  }
  assert.fail('no seed below 200 drew an after fault');
});
