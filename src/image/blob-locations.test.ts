import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobLocations } from './blob-locations.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-locations-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('BlobLocations', () => {
  it('remembers repositories per registry, most recent first, across processes (the file)', async () => {
    const file = join(dir, 'a', 'locations.json');
    const first = new BlobLocations(file);
    await first.remember('reg:5000', 'team/base', 'sha256:aa');
    await first.remember('other:443', 'x/y', 'sha256:aa');
    await first.remember('reg:5000', 'team/app', 'sha256:aa');
    await first.save();
    const second = new BlobLocations(file);
    assert.deepEqual(await second.repositoriesOf('reg:5000', 'sha256:aa'), ['team/app', 'team/base']);
    assert.deepEqual(await second.repositoriesOf('other:443', 'sha256:aa'), ['x/y']);
    assert.deepEqual(await second.repositoriesOf('reg:5000', 'sha256:bb'), []);
  });

  it('stays bounded, and treats a damaged file as empty', async () => {
    const file = join(dir, 'bounded.json');
    const locations = new BlobLocations(file);
    for (let i = 0; i < 20; i++) await locations.remember('reg', `repo${i}`, 'sha256:aa');
    assert.equal((await locations.repositoriesOf('reg', 'sha256:aa')).length, 8);
    await writeFile(join(dir, 'damaged.json'), '{not json');
    assert.deepEqual(await new BlobLocations(join(dir, 'damaged.json')).repositoriesOf('reg', 'sha256:aa'), []);
  });
});
