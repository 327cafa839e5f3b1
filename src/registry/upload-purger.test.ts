import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { FilesystemDriver } from '../storage/filesystem-driver.js';
import { paths } from '../storage/paths.js';
import { exists } from './links.js';
import { parseStartedAt, purgeStaleUploads, UploadPurger, type PurgeTimers } from './upload-purger.js';

const hour = 3_600_000;
const now = new Date('2025-03-10T12:00:00Z');
const clock = () => now;
const ids = {
  berthOld: '00000000-0000-4000-8000-000000000001',
  dockerOld: '00000000-0000-4000-8000-000000000002',
  dockerOffset: '00000000-0000-4000-8000-000000000003',
  fresh: '00000000-0000-4000-8000-000000000004',
  noStartedAtOld: '00000000-0000-4000-8000-000000000005',
  garbledFresh: '00000000-0000-4000-8000-000000000006',
};

describe('upload purging', () => {
  let root: string;
  let driver: FilesystemDriver;

  const put = async (name: string, id: string, startedAt: string | undefined, mtime: Date = now) => {
    if (startedAt !== undefined) await driver.putContent(paths.uploadStartedAt(name, id), Buffer.from(startedAt));
    await driver.putContent(paths.uploadData(name, id), Buffer.from('partial'));
    await utimes(join(root, paths.uploadData(name, id)), mtime, mtime);
  };
  const present = (name: string, id: string) => exists(driver, paths.upload(name, id));

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-purge-'));
    driver = new FilesystemDriver(root);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('parseStartedAt reads Berth and docker-registry start times, and nothing else', () => {
    assert.equal(parseStartedAt('2025-03-01T10:00:00.123Z')?.toISOString(), '2025-03-01T10:00:00.123Z');
    // Go's time.RFC3339 and RFC3339Nano, with a zone offset.
    assert.equal(parseStartedAt('2025-03-01T10:00:00Z')?.toISOString(), '2025-03-01T10:00:00.000Z');
    assert.equal(parseStartedAt('2025-03-01T12:00:00.987654321+02:00\n')?.toISOString(), '2025-03-01T10:00:00.987Z');
    assert.equal(parseStartedAt('March 1, 2025'), undefined);
    assert.equal(parseStartedAt(''), undefined);
  });

  test('removes sessions older than age (startedat, else the data mtime) and keeps the rest; dry run only reports', async () => {
    const old = new Date(now.getTime() - 200 * hour);
    await put('team/app', ids.berthOld, new Date(now.getTime() - 169 * hour).toISOString());
    await put('team/app', ids.dockerOld, '2025-02-01T08:30:00Z'); // as docker-registry writes it
    await put('other', ids.dockerOffset, '2025-03-01T10:00:00.5+01:00');
    await put('team/app', ids.fresh, new Date(now.getTime() - hour).toISOString(), old);
    await put('uploads-only/x', ids.noStartedAtOld, undefined, old);
    await put('team/app', ids.garbledFresh, 'not a time', now);

    const dry = await purgeStaleUploads(driver, { age: 168 * hour, dryRun: true, now: clock });
    assert.equal(dry.stale.length, 4);
    assert.equal(dry.kept, 2);
    for (const id of Object.values(ids)) {
      assert.ok((await present('team/app', id)) || (await present('other', id)) || (await present('uploads-only/x', id)));
    }

    const result = await purgeStaleUploads(driver, { age: 168 * hour, dryRun: false, now: clock });
    assert.deepEqual(
      result.stale.map((s) => [s.repository, s.id, s.source]).sort(),
      [
        ['other', ids.dockerOffset, 'startedat'],
        ['team/app', ids.berthOld, 'startedat'],
        ['team/app', ids.dockerOld, 'startedat'],
        ['uploads-only/x', ids.noStartedAtOld, 'mtime'],
      ].sort(),
    );
    assert.equal(await present('team/app', ids.berthOld), false);
    assert.equal(await present('team/app', ids.dockerOld), false);
    assert.equal(await present('other', ids.dockerOffset), false);
    assert.equal(await present('uploads-only/x', ids.noStartedAtOld), false);
    // A recent startedat wins over an old mtime; an unreadable one falls back to a recent mtime.
    assert.equal(await present('team/app', ids.fresh), true);
    assert.equal(await present('team/app', ids.garbledFresh), true);
  });

  test('the scheduled purger runs a round when its timer fires; stop waits for it and schedules nothing more', async () => {
    const name = 'sched/app';
    const id = '00000000-0000-4000-8000-0000000000aa';
    await put(name, id, '2020-01-01T00:00:00Z');
    const pending: { run: () => void; ms: number }[] = [];
    const timers: PurgeTimers = {
      setTimeout: (run, ms) => {
        pending.push({ run, ms });
        return {};
      },
      clearTimeout: () => undefined,
    };
    const purger = new UploadPurger(driver, { age: hour, interval: 24 * hour, dryRun: false, now: clock }, pino({ level: 'silent' }), timers);
    purger.start();
    assert.equal(pending.length, 1);
    assert.ok(pending[0]!.ms <= 60_000);
    pending.shift()!.run();
    await purger.stop(); // waits for the round in progress
    assert.equal(await present(name, id), false);
    assert.equal(pending.length, 0);
  });
});
