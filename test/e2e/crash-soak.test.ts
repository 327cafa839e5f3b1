// Crash consistency (issue #9): Berth is killed with SIGKILL at random moments, and on purpose in
// the middle of a blob chunk and of a manifest PUT, while pushers and pullers work, and restarted
// on the same storage each time (test/e2e/support/crash-soak.ts). Afterwards every acknowledged
// push pulls in full with its digests (with the in-repo client and with skopeo), no body served
// during the soak had other content than its digest, interrupted uploads went on from their
// offset, the temporaries and sessions the kills left are cleaned up, and pushes still work.
//
// CI size here; scripts/crash-soak.sh runs longer (CRASH_KILLS, CRASH_CLIENTS, CRASH_SEED, and
// CRASH_REPORT=FILE for the figures as one JSON line).
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { temporaryPrefix } from '../../src/storage/driver.js';
import { paths } from '../../src/storage/paths.js';
import { ensureBuilt } from '../helpers/compiled-cli.js';
import { randomSeed } from '../helpers/fuzz/random.js';
import { expectError, fetchBody } from '../helpers/http.js';
import { digestOf, startUpload, uniqueBytes, withDigest } from '../helpers/push.js';
import { startTestRegistry } from '../helpers/registry-server.js';
import { runCrashSoak } from './support/crash-soak.js';

const integer = (name: string, fallback: number, least: number): number => {
  const value = Number(process.env[name] ?? fallback);
  assert.ok(Number.isSafeInteger(value) && value >= least, `${name} must be an integer of at least ${least}, not ${process.env[name]}`);
  return value;
};
const kills = integer('CRASH_KILLS', 8, 1);
const clients = integer('CRASH_CLIENTS', 3, 1);
const seed = integer('CRASH_SEED', randomSeed(), 0);

let work: string;
before(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'berth-crash-soak-'));
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test(`SIGKILL soak: ${kills} kills, ${clients} pushers and pullers, seed ${seed} (CRASH_SEED=${seed} repeats it)`, { timeout: 120_000 + kills * 10_000 }, async (t) => {
  t.diagnostic(`seed ${seed}`);
  const figures = await runCrashSoak({
    seed,
    kills,
    clients,
    maxKillPhaseMs: 20_000 + kills * 5_000,
    skopeoImages: 2,
    workDir: work,
    log: (line) => t.diagnostic(line),
  });
  t.diagnostic(`figures: ${JSON.stringify(figures)}`);
  if (process.env.CRASH_REPORT) await appendFile(process.env.CRASH_REPORT, `${JSON.stringify(figures)}\n`);

  const delivered = figures.kills.random + figures.kills['mid-blob'] + figures.kills['mid-manifest'];
  assert.equal(delivered, kills, 'every kill was delivered within the time bound');
  assert.equal(figures.restarts, kills + 3, 'a restart after each kill, besides the first start, the cleanup run and the one after it');
  assert.ok(figures.pushesAcknowledged >= clients, `pushes went through between kills (${figures.pushesAcknowledged})`);

  // Nothing acknowledged is lost, nothing served is wrong.
  assert.deepEqual(figures.lostSamples, []);
  assert.equal(figures.lost, 0);
  assert.equal(figures.verified, figures.pushesAcknowledged);
  assert.equal(figures.skopeoVerified, 2);
  assert.equal(figures.wrongContent, 0, 'every body served matched its digest');
  assert.equal(figures.acknowledgedMissing, 0, 'acknowledged content was never missing after a restart');
  assert.equal(figures.digestInvalid, 0, 'resumed sessions held exactly the bytes sent');
  assert.equal(figures.unknownListed, 0, 'the catalog and tag lists show only what was pushed');
  assert.deepEqual(figures.serverErrorSamples, [], 'no 5xx from a restarted registry');

  // A session cut by a kill in mid-chunk goes on from the offset the restarted registry reports.
  if (figures.kills['mid-blob'] > 0) assert.ok(figures.uploadsResumed >= 1, 'an interrupted upload was resumed');

  // The kills' leftovers are gone once the cleanup has run; garbage-collect saw the same.
  assert.equal(figures.gcDryRunTemporaries, figures.temporariesBefore);
  assert.equal(figures.temporariesAfter, 0);
  assert.equal(figures.uploadSessionsAfter, 0);
  assert.ok(figures.pushAfterCleanup, 'the registry takes pushes after the soak');
});

// The states a SIGKILL can leave an upload session in, made on disk between two registries on
// one storage root (the second has none of the first's in-memory digests, as after a restart):
// the soak above meets them at random, here each is checked every time.
test('a session cut by a kill is resumed from its stored bytes, or refused cleanly when its files are missing', async () => {
  const name = 'crash/sessions';
  const first = await startTestRegistry({ root: join(work, 'sessions') });
  const session = async () => {
    const location = await startUpload(first.url, name);
    return { location, dir: join(first.root, paths.upload(name, location.pathname.split('/').at(-1)!)) };
  };
  const partial = await session(); // killed during a PATCH: a prefix of the chunk is stored
  const noData = await session(); // killed in POST between its two files
  const onlyTemporary = await session(); // killed in POST before either file was in place
  const content = uniqueBytes(100_000);
  const patch = await fetch(partial.location, {
    method: 'PATCH',
    headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${content.length - 1}` },
    body: fetchBody(content),
  });
  assert.equal(patch.status, 202);
  await first.close();
  const kept = 37_123;
  await truncate(join(partial.dir, 'data'), kept);
  await unlink(join(noData.dir, 'data'));
  await unlink(join(onlyTemporary.dir, 'data'));
  await unlink(join(onlyTemporary.dir, 'startedat'));
  await writeFile(join(onlyTemporary.dir, `${temporaryPrefix}0011223344556677`), '2026-');

  const second = await startTestRegistry({ root: first.root });
  // The sessions' URLs on the restarted registry (a test registry has a new port).
  for (const cut of [partial, noData, onlyTemporary]) cut.location = new URL(`${cut.location.pathname}${cut.location.search}`, second.url);
  try {
    const status = await fetch(partial.location);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), `0-${kept - 1}`);
    const rest = await fetch(partial.location, {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${kept}-${content.length - 1}` },
      body: fetchBody(content.subarray(kept)),
    });
    assert.equal(rest.status, 202);
    const digest = digestOf(content);
    assert.equal((await fetch(withDigest(partial.location, digest), { method: 'PUT' })).status, 201);
    assert.ok(Buffer.from(await (await fetch(`${second.url}/v2/${name}/blobs/${digest}`)).arrayBuffer()).equals(content));

    for (const lost of [noData, onlyTemporary]) {
      await expectError(await fetch(lost.location), 404, 'BLOB_UPLOAD_UNKNOWN');
      await expectError(
        await fetch(lost.location, { method: 'PATCH', headers: { 'content-type': 'application/octet-stream' }, body: 'x' }),
        404,
        'BLOB_UPLOAD_UNKNOWN',
      );
      await expectError(await fetch(withDigest(lost.location, digestOf('x')), { method: 'PUT', body: 'x' }), 404, 'BLOB_UPLOAD_UNKNOWN');
    }
  } finally {
    await second.close();
  }
});
