import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeyedMutex } from './keyed-mutex.js';

/** A promise to resolve from outside, to hold work open as long as a test needs. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Lets every pending promise callback run, so work that could start has started. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('KeyedMutex', () => {
  test('work on one key runs one at a time, in the order it arrived', async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    const first = gate();
    const one = mutex.run('upload', async () => {
      events.push('one starts');
      await first.opened;
      events.push('one ends');
      return 1;
    });
    const two = mutex.run('upload', async () => {
      events.push('two runs');
      return 2;
    });
    await settle();
    assert.deepEqual(events, ['one starts'], 'the second must wait while the first holds the key');
    first.open();
    assert.deepEqual(await Promise.all([one, two]), [1, 2]);
    assert.deepEqual(events, ['one starts', 'one ends', 'two runs']);
  });

  test('many waiters never overlap and keep their order', async () => {
    const mutex = new KeyedMutex();
    let active = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        mutex.run('key', async () => {
          active++;
          most = Math.max(most, active);
          await settle();
          order.push(i);
          active--;
        }),
      ),
    );
    assert.equal(most, 1);
    assert.deepEqual(order, Array.from({ length: 20 }, (_, i) => i));
  });

  test('different keys do not wait for each other', async () => {
    const mutex = new KeyedMutex();
    const held = gate();
    let aDone = false;
    const a = mutex.run('a', async () => {
      await held.opened;
      aDone = true;
    });
    const b = await mutex.run('b', async () => 'b ran');
    assert.equal(b, 'b ran');
    assert.equal(aDone, false, 'b finished while a still held its key');
    held.open();
    await a;
  });

  test('a throwing task passes its error on and releases the key', async () => {
    const mutex = new KeyedMutex();
    const failure = new Error('chunk failed');
    const failing = mutex.run('upload', async () => {
      await settle();
      throw failure;
    });
    const next = mutex.run('upload', async () => 'next ran');
    await assert.rejects(failing, (error) => error === failure);
    assert.equal(await next, 'next ran');
    assert.equal(await mutex.run('upload', async () => 'and the one after'), 'and the one after');
  });

  test('a task that throws synchronously releases the key too', async () => {
    const mutex = new KeyedMutex();
    await assert.rejects(
      mutex.run('k', () => {
        throw new Error('before any await');
      }),
      /before any await/,
    );
    assert.equal(await mutex.run('k', async () => 'free'), 'free');
  });

  test('keys with no work pending hold no memory', async () => {
    const mutex = new KeyedMutex();
    await Promise.all(Array.from({ length: 50 }, (_, i) => mutex.run(`key-${i % 5}`, async () => settle())));
    await assert.rejects(mutex.run('failing', async () => Promise.reject(new Error('x'))));
    const tails = (mutex as unknown as { tails: Map<string, unknown> }).tails;
    assert.equal(tails.size, 0);
  });
});
