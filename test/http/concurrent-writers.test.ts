import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { listTree } from '../helpers/files.js';
import { fetchBody } from '../helpers/http.js';
import {
  digestOf,
  imageManifest,
  manifestBytes,
  mediaTypes,
  pushBlob,
  putManifest,
  startUpload,
  uniqueBytes,
  withDigest,
} from '../helpers/push.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

/**
 * Many clients writing the same thing at once: the same blob, the same manifest, different
 * manifests to one tag. Two registries share one storage root, as `serve --workers` processes
 * (or replicas) do, so locks held in one process's memory cannot be what keeps it consistent.
 * Every request succeeds or fails in the spec's format; at the end every blob reads back whole,
 * the tag names one of the manifests pushed, and no temporary file is left.
 */
const writers = Number(process.env.BERTH_CONCURRENT_WRITERS ?? 8);

describe('concurrent writers', { timeout: 300_000 }, () => {
  let first: TestRegistry;
  let second: TestRegistry;
  before(async () => {
    first = await startTestRegistry();
    second = await startTestRegistry({ root: first.root });
  });
  after(async () => {
    await second.close();
    await first.close();
  });

  /** The registry writer i talks to: alternately one and the other. */
  const via = (i: number) => (i % 2 === 0 ? first : second).url;

  test(`${writers} clients push the same blob at once, in chunks and whole`, async (t) => {
    const content = uniqueBytes(2 * 1024 * 1024);
    const digest = digestOf(content);
    const answers = await Promise.all(
      Array.from({ length: writers }, async (_, i) => {
        const base = via(i);
        if (i % 4 === 3) {
          // Monolithic: POST with ?digest= and the whole body.
          return await fetch(`${base}/v2/race/blob/blobs/uploads/?digest=${digest}`, { method: 'POST', body: fetchBody(content) });
        }
        const location = await startUpload(base, 'race/blob');
        const half = content.length / 2;
        const patch = await fetch(location, {
          method: 'PATCH',
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `0-${half - 1}` },
          body: fetchBody(content.subarray(0, half)),
        });
        assert.equal(patch.status, 202, await patch.text());
        const next = new URL(patch.headers.get('location')!, base);
        return await fetch(withDigest(next, digest), { method: 'PUT', body: fetchBody(content.subarray(half)) });
      }),
    );
    for (const answer of answers) await assertCreatedOrCleanError(answer);
    t.diagnostic(`statuses: ${statusCounts(answers)}`);
    assert.ok(answers.some((answer) => answer.status === 201));
    for (const base of [first.url, second.url]) {
      const back = await fetch(`${base}/v2/race/blob/blobs/${digest}`);
      assert.equal(back.status, 200);
      assert.ok(Buffer.from(await back.arrayBuffer()).equals(content), 'the blob reads back whole');
    }
    await assertNoLeftovers(first.root);
  });

  test(`${writers} clients push the same manifest to the same tag at once`, async () => {
    const manifest = await pushedImageManifest('race/same');
    const answers = await Promise.all(Array.from({ length: writers }, (_, i) => putManifest(via(i), 'race/same', 'latest', manifest)));
    for (const answer of answers) {
      assert.equal(answer.status, 201, await answer.text());
      assert.equal(answer.headers.get('docker-content-digest'), digestOf(manifest));
    }
    await assertTagIsOneOf('race/same', 'latest', [manifest]);
    await assertNoLeftovers(first.root);
  });

  test(`${writers} clients push different manifests to the same tag at once`, async (t) => {
    const manifests: Buffer[] = [];
    for (let i = 0; i < writers; i++) manifests.push(await pushedImageManifest('race/different'));
    const answers = await Promise.all(manifests.map((manifest, i) => putManifest(via(i), 'race/different', 'latest', manifest)));
    for (const answer of answers) await assertCreatedOrCleanError(answer);
    t.diagnostic(`statuses: ${statusCounts(answers)}`);
    const acknowledged = manifests.filter((_, i) => answers[i]!.status === 201);
    assert.ok(acknowledged.length > 0);
    await assertTagIsOneOf('race/different', 'latest', acknowledged);
    // Every acknowledged manifest can be fetched by its digest, from either registry.
    for (const manifest of acknowledged) {
      for (const base of [first.url, second.url]) {
        const back = await fetch(`${base}/v2/race/different/manifests/${digestOf(manifest)}`, { headers: { Accept: mediaTypes.ociManifest } });
        assert.equal(back.status, 200);
        assert.ok(Buffer.from(await back.arrayBuffer()).equals(manifest));
      }
    }
    await assertNoLeftovers(first.root);
  });

  test('rounds of racing tag pushes with reads in between: every read is one of the manifests pushed', async () => {
    const manifests: Buffer[] = [];
    for (let i = 0; i < 4; i++) manifests.push(await pushedImageManifest('race/rounds'));
    const digests = new Set(manifests.map((manifest) => digestOf(manifest)));
    for (let round = 0; round < 5; round++) {
      const reads = Array.from({ length: writers }, async (_, i) => {
        const answer = await fetch(`${via(i)}/v2/race/rounds/manifests/v`, { headers: { Accept: mediaTypes.ociManifest } });
        if (answer.status === 404) return; // before the first push lands
        assert.equal(answer.status, 200);
        const bytes = Buffer.from(await answer.arrayBuffer());
        assert.ok(digests.has(digestOf(bytes)), 'a read returned bytes no client pushed');
        assert.equal(answer.headers.get('docker-content-digest'), digestOf(bytes));
      });
      const writes = manifests.map((manifest, i) => putManifest(via(i + round), 'race/rounds', 'v', manifest));
      const [answers] = await Promise.all([Promise.all(writes), Promise.all(reads)]);
      for (const answer of answers) await assertCreatedOrCleanError(answer);
      await assertTagIsOneOf('race/rounds', 'v', manifests);
    }
    await assertNoLeftovers(first.root);
  });

  /** An image manifest whose config and layer are pushed (through the first registry). */
  async function pushedImageManifest(name: string): Promise<Buffer> {
    const config = await pushBlob(first.url, name, JSON.stringify({ architecture: 'amd64', os: 'linux', n: uniqueBytes(8).toString('hex') }), mediaTypes.ociConfig);
    const layer = await pushBlob(first.url, name, uniqueBytes(512), mediaTypes.ociLayer);
    return manifestBytes(imageManifest(config, [layer]));
  }

  /** Both registries resolve the tag to the same manifest, one of `candidates`, with matching digest. */
  async function assertTagIsOneOf(name: string, tag: string, candidates: Buffer[]): Promise<void> {
    const seen: string[] = [];
    for (const base of [first.url, second.url]) {
      const answer = await fetch(`${base}/v2/${name}/manifests/${tag}`, { headers: { Accept: mediaTypes.ociManifest } });
      assert.equal(answer.status, 200);
      const bytes = Buffer.from(await answer.arrayBuffer());
      assert.ok(candidates.some((candidate) => candidate.equals(bytes)), 'the tag names a manifest that was pushed');
      assert.equal(answer.headers.get('docker-content-digest'), digestOf(bytes));
      seen.push(digestOf(bytes));
    }
    assert.equal(seen[0], seen[1], 'both registries see the same tag');
  }
});

/** `201×7 409×1`: how the racing requests ended. */
function statusCounts(answers: readonly Response[]): string {
  const counts = new Map<number, number>();
  for (const answer of answers) counts.set(answer.status, (counts.get(answer.status) ?? 0) + 1);
  return [...counts].map(([status, count]) => `${status}×${count}`).join(' ');
}

/** A 201, or an error in the spec's format (a clean refusal of a lost race). */
async function assertCreatedOrCleanError(answer: Response): Promise<void> {
  if (answer.status === 201) return;
  assert.ok(answer.status >= 400 && answer.status < 600, `status ${answer.status}`);
  const body = (await answer.json()) as { errors?: { code?: unknown }[] };
  assert.ok(Array.isArray(body.errors) && typeof body.errors[0]?.code === 'string', JSON.stringify(body));
}

/** No temporary file anywhere in the storage, and no upload session left behind. */
async function assertNoLeftovers(root: string): Promise<void> {
  const files = await listTree(root);
  assert.deepEqual(
    files.filter((path) => path.split('/').some((part) => part.startsWith('.tmp-'))),
    [],
    'temporary files left',
  );
  assert.deepEqual(
    files.filter((path) => /\/_uploads\/[^/]+\/$/.test(path)),
    [],
    'upload sessions left',
  );
}
