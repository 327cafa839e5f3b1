import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { MemoryDriver } from '../storage/memory-driver.js';
import { paths } from '../storage/paths.js';
import { Catalog } from './catalog.js';

test('the catalog walk finds nested repositories and reads a bounded number of directories at once', async () => {
  // A synthetic tree: team-0..team-399, each a repository with a nested repository `app`.
  const tree = new Map<string, string[]>([[paths.repositoriesRoot, []]]);
  for (let i = 0; i < 400; i++) {
    tree.get(paths.repositoriesRoot)!.push(`team-${i}`);
    tree.set(`${paths.repositoriesRoot}/team-${i}`, ['_layers', '_manifests', 'app']);
    tree.set(`${paths.repositoriesRoot}/team-${i}/app`, ['_manifests', '_uploads']);
  }
  let inFlight = 0;
  let mostInFlight = 0;
  const list = async (directory: string): Promise<readonly string[]> => {
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    await sleep(1);
    inFlight--;
    return tree.get(directory) ?? [];
  };
  const names = await new Catalog(new MemoryDriver(), list).all();
  assert.equal(names.length, 800);
  assert.deepEqual(names.slice(0, 3), ['team-0', 'team-0/app', 'team-1']);
  // A walk that starts every read at once holds a whole large store's reads in memory.
  assert.ok(mostInFlight > 1 && mostInFlight <= 32, `directories read at once: ${mostInFlight}`);
});
