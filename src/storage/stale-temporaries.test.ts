import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { UploadPurger } from '../registry/upload-purger.js';
import { temporaryPrefix, type StorageDriver } from './driver.js';
import { FilesystemDriver } from './filesystem-driver.js';
import { MemoryDriver } from './memory-driver.js';
import { InstrumentedDriver } from '../ops/instrumented-driver.js';
import { removeStaleTemporaries } from './stale-temporaries.js';

const hour = 3_600_000;

describe('stale temporary files', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-temporaries-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** A file at `relative` below `base`, last modified `ageMs` ago. */
  const file = async (base: string, relative: string, ageMs: number) => {
    const full = join(base, relative);
    await mkdir(join(full, '..'), { recursive: true });
    await writeFile(full, 'x');
    const time = new Date(Date.now() - ageMs);
    await utimes(full, time, time);
  };
  const filesUnder = async (base: string) => (await readdir(base, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();

  test('removes only temporary files older than the cutoff, at any depth; a dry run only counts', async () => {
    const base = join(root, 'sweep');
    const blobDir = 'docker/registry/v2/blobs/sha256/ab/abcd';
    await file(base, `${blobDir}/${temporaryPrefix}old1`, 2 * hour);
    await file(base, `docker/registry/v2/repositories/a/b/_manifests/tags/v1/current/${temporaryPrefix}old2`, 3 * hour);
    await file(base, `${blobDir}/${temporaryPrefix}young`, 0);
    await file(base, `${blobDir}/data`, 5 * hour); // old, but not a temporary
    await file(base, 'docker/registry/v2/repositories/a/b/_layers/sha256/ef/link', 5 * hour);
    const olderThan = new Date(Date.now() - hour);

    const dry = await removeStaleTemporaries(base, { olderThan, dryRun: true });
    assert.equal(dry.stale, 2);
    assert.equal(dry.young, 1);
    assert.equal((await filesUnder(base)).length, 5);

    const swept = await removeStaleTemporaries(base, { olderThan });
    assert.equal(swept.stale, 2);
    assert.equal(swept.young, 1);
    assert.ok(swept.directories >= 10, `walked ${swept.directories} directories`);
    assert.deepEqual(await filesUnder(base), [`${temporaryPrefix}young`, 'data', 'link'].sort());
  });

  test('a missing root is an empty sweep; an aborted one stops', async () => {
    assert.deepEqual(await removeStaleTemporaries(join(root, 'absent'), { olderThan: new Date() }), { stale: 0, young: 0, directories: 0 });
    const base = join(root, 'aborted');
    await file(base, `x/${temporaryPrefix}old`, 2 * hour);
    const swept = await removeStaleTemporaries(base, { olderThan: new Date(), signal: AbortSignal.abort() });
    assert.equal(swept.stale, 0);
    assert.deepEqual(await filesUnder(base), [`${temporaryPrefix}old`]);
  });

  test('the upload purger sweeps them with its age on the filesystem driver; other drivers have none', async () => {
    const base = join(root, 'purger');
    await file(base, `docker/registry/v2/blobs/sha256/12/1234/${temporaryPrefix}old`, 3 * hour);
    await file(base, `docker/registry/v2/blobs/sha256/12/1234/${temporaryPrefix}fresh`, 0);
    // A session whose creation was killed before either of its files was in place: the
    // directory's time dates it, and it goes with its temporary.
    const session = 'docker/registry/v2/repositories/team/app/_uploads/00000000-0000-4000-8000-00000000000a';
    await file(base, `${session}/${temporaryPrefix}startedat`, 3 * hour);
    const old = new Date(Date.now() - 3 * hour);
    await utimes(join(base, session), old, old);
    const driver = new FilesystemDriver(base);
    assert.equal((new MemoryDriver() as StorageDriver).sweepTemporaries, undefined);
    // Wrapped for metrics and tracing, as `serve` does, the driver still sweeps.
    const purger = new UploadPurger(new InstrumentedDriver(driver, undefined), { age: 2 * hour, interval: 24 * hour, dryRun: false }, pino({ level: 'silent' }));
    await purger.runOnce();
    assert.deepEqual(await filesUnder(base), [`${temporaryPrefix}fresh`]);
    assert.deepEqual(await readdir(join(base, session, '..')), []);
  });
});
