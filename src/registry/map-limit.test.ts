import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapLimit } from './map-limit.js';

test('mapLimit keeps the order and never runs more than limit calls at once', async () => {
  let running = 0;
  let most = 0;
  const results = await mapLimit([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
    running++;
    most = Math.max(most, running);
    await new Promise((resolve) => setTimeout(resolve, n));
    running--;
    return n * 10;
  });
  assert.deepEqual(results, [50, 10, 40, 20, 30, 0, 60]);
  assert.equal(most, 3);
});

test('mapLimit of nothing is nothing; a limit below 1 still makes progress', async () => {
  assert.deepEqual(await mapLimit([], 4, async () => 1), []);
  assert.deepEqual(await mapLimit(['a', 'b'], 0, async (s) => s.toUpperCase()), ['A', 'B']);
});
