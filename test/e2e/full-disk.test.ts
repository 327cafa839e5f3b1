// Full disk: Berth (bin/berth.js serve) on filesystem storage on a tmpfs of 8 MiB that the test
// mounts and fills. Uploads and manifests that do not fit fail with 507 (code UNKNOWN) in the
// spec's error format, nothing half-written becomes visible, the process keeps answering, and
// once space is freed the same pushes (HTTP and skopeo) succeed. Needs root (mount).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test, type TestContext } from 'node:test';
import { ensureBuilt } from '../helpers/compiled-cli.js';
import { expectError, fetchBody } from '../helpers/http.js';
import { writeTestLayout } from '../helpers/image-layout.js';
import { digestOf, locationOf, mediaTypes, pushImage, putManifest, withDigest } from '../helpers/push.js';
import { storageProblems } from '../helpers/storage-check.js';
import { forgetKnownBlobs } from './support/clients.js';
import { startRegistry, type RunningRegistry } from './support/registries.js';
import { defer, Diagnostics, run } from './support/run.js';

const diag = new Diagnostics();
const MiB = 1024 * 1024;

before(() => ensureBuilt(), { timeout: 180_000 });

test(
  'a full disk gives 507 (code UNKNOWN), leaves nothing half-written, and pushes work once space is freed',
  { timeout: 240_000 },
  diag.explained(async (t) => {
    const { work, disk, storage, registry } = await berthOnTmpfs(t, 'size=8m');
    const base = registry.url;

    // Content pushed while there is room: it must survive the full disk untouched.
    const earlier = await pushImage(base, 'full/base', 'v1');
    const layout = join(work, 'layout');
    const image = await writeTestLayout(layout, [[{ name: 'payload.bin', content: randomBytes(MiB + MiB / 2) }]], 'v1');
    const blob = randomBytes(2 * MiB);
    const blobDigest = digestOf(blob);

    const session = await fetch(`${base}/v2/full/chunked/blobs/uploads/`, { method: 'POST' });
    assert.equal(session.status, 202);
    const location = locationOf(session, base);

    // Leave less room than any of the pushes below needs.
    const fillers = [join(disk, 'filler-1'), join(disk, 'filler-2')];
    await fill(fillers[0]!, (await freeBytes(disk)) - MiB / 2);

    // A monolithic upload that does not fit: 507, and no blob appears.
    const monolithic = await fetch(`${base}/v2/full/blob/blobs/uploads/?digest=${blobDigest}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: fetchBody(blob),
    });
    await expectError(monolithic, 507, 'UNKNOWN', { message: /storage is full/ });
    assert.equal((await fetch(`${base}/v2/full/blob/blobs/${blobDigest}`, { method: 'HEAD' })).status, 404);

    // skopeo (a real client) fails cleanly, says why, and no tag appears.
    await forgetKnownBlobs();
    const target = `docker://${registry.hostPort}/full/skopeo:v1`;
    const skopeoCopy = ['copy', '--dest-tls-verify=false', `oci:${layout}:v1`, target];
    const refused = await diag.run('skopeo', skopeoCopy, { allowFailure: true, timeoutMs: 60_000 });
    assert.notEqual(refused.code, 0, 'skopeo copy to a full disk must fail');
    // Its upload starts (there is room for that) and its layer's PATCH runs out of space; skopeo
    // shows the status line (not the body) of an unexpected answer.
    assert.match(refused.stderr, /507 Insufficient Storage/, 'skopeo shows why');
    assert.equal((await fetch(`${base}/v2/full/skopeo/manifests/v1`, { method: 'HEAD' })).status, 404);

    // A chunk that does not fit (its session opened while there was room): 507; the session
    // keeps what was stored, to resume from.
    const patch = await fetch(location, { method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream' }, body: fetchBody(blob) });
    await expectError(patch, 507, 'UNKNOWN');

    // Not a byte left: even a small manifest cannot be stored, and no tag appears.
    await fill(fillers[1]!, await freeBytes(disk));
    // The same blobs as the image pushed before, under a new tag: only the manifest needs room.
    const manifest = { ...(JSON.parse(earlier.bytes.toString()) as object), annotations: { purpose: 'pushed on a full disk' } };
    const manifestOnFullDisk = await putManifest(base, 'full/base', 'v2', manifest);
    await expectError(manifestOnFullDisk, 507, 'UNKNOWN');
    const tags = (await (await fetch(`${base}/v2/full/base/tags/list`)).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, ['v1']);

    // The process is up, what was pushed before still reads back, and nothing half-written shows.
    assert.equal((await fetch(`${base}/v2/`)).status, 200);
    await expectManifest(base, 'full/base', 'v1', earlier.digest);
    assert.deepEqual(await storageProblems(storage), []);

    // Space freed: the same pushes succeed.
    for (const filler of fillers) await rm(filler);
    const retried = await fetch(`${base}/v2/full/blob/blobs/uploads/?digest=${blobDigest}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: fetchBody(blob),
    });
    assert.equal(retried.status, 201, await retried.text());
    await expectBlob(base, 'full/blob', blob);
    await resumeAndComplete(base, location, blob);
    await expectBlob(base, 'full/chunked', blob);
    const manifestAfter = await putManifest(base, 'full/base', 'v2', manifest);
    assert.equal(manifestAfter.status, 201, await manifestAfter.text());
    await forgetKnownBlobs();
    await diag.run('skopeo', skopeoCopy, { timeoutMs: 60_000 });
    await expectManifest(base, 'full/skopeo', 'v1', image.manifest.digest);
    for (const [digest, bytes] of image.blobs) {
      if (digest !== image.manifest.digest) await expectBlob(base, 'full/skopeo', bytes);
    }
    assert.deepEqual(await storageProblems(storage), []);
    await stillServing(registry);
  }),
);

test(
  'running out of inodes (mkdir and file creation fail with ENOSPC) gives 507 too, and pushes work once files are freed',
  { timeout: 120_000 },
  diag.explained(async (t) => {
    // Room for bytes, few inodes: what fails first is creating a directory or a file.
    const { disk, storage, registry } = await berthOnTmpfs(t, 'size=8m,nr_inodes=400');
    const base = registry.url;
    const earlier = await pushImage(base, 'inodes/base', 'v1');
    const fillers = join(disk, 'fillers');
    await mkdir(fillers);
    let made = 0;
    for (; made < 1000; made++) {
      const outcome = await writeFile(join(fillers, String(made)), '').catch((error: NodeJS.ErrnoException) => error.code);
      if (outcome === 'ENOSPC') break;
    }
    assert.ok(made < 1000, 'the inodes ran out');
    const blob = randomBytes(64 * 1024);
    const refused = await fetch(`${base}/v2/inodes/new/blobs/uploads/?digest=${digestOf(blob)}`, { method: 'POST', body: fetchBody(blob) });
    await expectError(refused, 507, 'UNKNOWN');
    const manifest = { ...(JSON.parse(earlier.bytes.toString()) as object), annotations: { purpose: 'no inodes left' } };
    await expectError(await putManifest(base, 'inodes/base', 'v2', manifest), 507, 'UNKNOWN');
    assert.deepEqual(await storageProblems(storage), []);
    assert.equal((await fetch(`${base}/v2/`)).status, 200);

    await rm(fillers, { recursive: true });
    const accepted = await fetch(`${base}/v2/inodes/new/blobs/uploads/?digest=${digestOf(blob)}`, { method: 'POST', body: fetchBody(blob) });
    assert.equal(accepted.status, 201, await accepted.text());
    await expectBlob(base, 'inodes/new', blob);
    assert.equal((await putManifest(base, 'inodes/base', 'v2', manifest)).status, 201);
    assert.deepEqual(await storageProblems(storage), []);
    await stillServing(registry);
  }),
);

/**
 * Mounts a tmpfs with the given options in a fresh work directory and starts Berth with its
 * storage there. Everything is undone when the test ends, pass or fail: Berth stopped, the
 * tmpfs unmounted, the directory removed.
 */
async function berthOnTmpfs(t: TestContext, options: string): Promise<{ work: string; disk: string; storage: string; registry: RunningRegistry }> {
  const work = await mkdtemp(join(tmpdir(), 'berth-full-disk-'));
  defer(t, () => rm(work, { recursive: true, force: true }));
  const disk = join(work, 'disk');
  await mkdir(disk);
  await run('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', disk]);
  defer(t, () => unmount(disk));
  const storage = join(disk, 'storage');
  // The log stays off the small disk: Berth must be able to say what went wrong.
  const registry = await startRegistry('berth', storage, work);
  diag.watch(registry, t);
  defer(t, () => registry.stop());
  return { work, disk, storage, registry };
}

/** The continuation of an interrupted chunked upload: ask where it stands, send the rest, close it. */
async function resumeAndComplete(base: string, location: URL, blob: Buffer): Promise<void> {
  const status = await fetch(location);
  assert.equal(status.status, 204);
  const range = /^0-(\d+)$/.exec(status.headers.get('range') ?? '');
  assert.ok(range, `Range of the upload: ${status.headers.get('range')}`);
  // `0-0` is also an empty upload; sending from 0 then is right either way only if nothing is stored.
  const stored = Number(range[1]) === 0 ? 0 : Number(range[1]) + 1;
  assert.ok(stored < blob.length, 'the chunk cannot have been stored whole');
  const rest = blob.subarray(stored);
  const patched = await fetch(location, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${stored}-${blob.length - 1}` },
    body: fetchBody(rest),
  });
  assert.equal(patched.status, 202, await patched.text());
  const done = await fetch(withDigest(locationOf(patched, base), digestOf(blob)), { method: 'PUT' });
  assert.equal(done.status, 201, await done.text());
}

async function expectBlob(base: string, name: string, bytes: Buffer): Promise<void> {
  const response = await fetch(`${base}/v2/${name}/blobs/${digestOf(bytes)}`);
  assert.equal(response.status, 200);
  assert.equal(digestOf(Buffer.from(await response.arrayBuffer())), digestOf(bytes));
}

async function expectManifest(base: string, name: string, reference: string, digest: string): Promise<void> {
  const response = await fetch(`${base}/v2/${name}/manifests/${reference}`, {
    headers: { Accept: [mediaTypes.ociManifest, mediaTypes.dockerManifest].join(', ') },
  });
  assert.equal(response.status, 200);
  assert.equal(digestOf(Buffer.from(await response.arrayBuffer())), digest);
}

async function stillServing(registry: RunningRegistry): Promise<void> {
  assert.equal((await fetch(`${registry.url}/v2/`)).status, 200);
  assert.doesNotMatch(registry.text(), /uncaught|unhandled/i);
}

async function freeBytes(path: string): Promise<number> {
  const info = await statfs(path);
  return info.bavail * info.bsize;
}

/**
 * Writes about `bytes` bytes to a new file, stopping without error when the disk is full: the
 * test wants the disk full, not the filler exact.
 */
async function fill(path: string, bytes: number): Promise<void> {
  const file = await open(path, 'w');
  try {
    const chunk = Buffer.alloc(64 * 1024, 1);
    for (let written = 0; written < bytes; ) {
      const size = Math.min(chunk.length, bytes - written);
      try {
        written += (await file.write(chunk, 0, size)).bytesWritten;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') return;
        throw error;
      }
    }
  } finally {
    await file.close();
  }
}

/** Unmounts the test's tmpfs; lazily if something still holds it, so the test never leaves it mounted. */
async function unmount(path: string): Promise<void> {
  const plain = await run('umount', [path], { allowFailure: true });
  if (plain.code !== 0) await run('umount', ['-l', path]);
}
