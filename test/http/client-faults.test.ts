import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { purgeStaleUploads } from '../../src/registry/upload-purger.js';
import { FilesystemDriver } from '../../src/storage/filesystem-driver.js';
import { listTree, openFilesUnder } from '../helpers/files.js';
import {
  digestOf,
  imageManifest,
  manifestBytes,
  pushBlob,
  pushImage,
  startUpload,
  uniqueBytes,
  withDigest,
  mediaTypes,
  descriptorOf,
} from '../helpers/push.js';
import { openRaw } from '../helpers/raw-connection.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

/**
 * Clients that vanish part way: in an upload's PATCH, in a monolithic PUT, in a blob GET and in a
 * manifest PUT, many times over. Afterwards nothing is left behind: no open file under the
 * storage root, no heap growth past a bound, no upload session once the purge age is over, and
 * the registry serves as before.
 */
const rounds = Number(process.env.BERTH_CLIENT_FAULT_ROUNDS ?? 25);
/**
 * Heap growth over the measured rounds that counts as a leak. The collector's steady state moves by
 * about a MiB from run to run whatever the round count (measured: 0.5 to 1.4 MiB over 25 and
 * over 100 rounds); a request left holding its 16 KiB stream buffers would add 6 MiB over 25
 * rounds of 4 cut requests, and more with every round.
 */
const heapBound = 4 * 1024 * 1024;
const warmUpRounds = 3;

// A collector the test can call, without starting node with --expose-gc.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

describe('clients that disconnect mid-request', { timeout: 300_000 }, () => {
  let reg: TestRegistry;
  let blob: { digest: string; content: Buffer };
  let manifest: Buffer;
  before(async () => {
    reg = await startTestRegistry();
    const content = uniqueBytes(4 * 1024 * 1024);
    blob = { digest: (await pushBlob(reg.url, 'faults/get', content)).digest, content };
    const config = await pushBlob(reg.url, 'faults/manifest', JSON.stringify({ architecture: 'amd64', os: 'linux' }), mediaTypes.ociConfig);
    const layer = await pushBlob(reg.url, 'faults/manifest', uniqueBytes(1024), mediaTypes.ociLayer);
    manifest = manifestBytes(imageManifest(config, [layer]));
  });
  after(() => reg.close());

  const port = () => reg.listener.port!;

  /** A request head and part of its body, then the connection dropped without a word. */
  async function sendPartThenVanish(head: string, body: Buffer, sendBytes: number): Promise<void> {
    const conn = await openRaw(port());
    conn.socket.write(head);
    await new Promise<void>((resolve) => conn.socket.write(body.subarray(0, sendBytes), () => resolve()));
    // Let the registry start on the body before the client goes.
    await new Promise((resolve) => setTimeout(resolve, 5));
    conn.socket.destroy();
    await conn.closed;
  }

  async function midPatch(): Promise<void> {
    const location = await startUpload(reg.url, 'faults/patch');
    const body = uniqueBytes(1024 * 1024);
    await sendPartThenVanish(
      `PATCH ${location.pathname}${location.search} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`,
      body,
      256 * 1024,
    );
  }

  async function midMonolithicPut(): Promise<void> {
    const location = await startUpload(reg.url, 'faults/put');
    const body = uniqueBytes(1024 * 1024);
    const target = withDigest(location, digestOf(body));
    await sendPartThenVanish(
      `PUT ${target.pathname}${target.search} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`,
      body,
      512 * 1024,
    );
  }

  async function midBlobGet(): Promise<void> {
    const conn = await openRaw(port());
    conn.socket.write(`GET /v2/faults/get/blobs/${blob.digest} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    while (conn.received().length < 64 * 1024) await new Promise((resolve) => setTimeout(resolve, 2));
    conn.socket.destroy();
    await conn.closed;
  }

  async function midManifestPut(tag: string): Promise<void> {
    await sendPartThenVanish(
      `PUT /v2/faults/manifest/manifests/${tag} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${mediaTypes.ociManifest}\r\nContent-Length: ${manifest.length}\r\n\r\n`,
      manifest,
      Math.floor(manifest.length / 2),
    );
  }

  async function oneRound(i: number): Promise<void> {
    await Promise.all([midPatch(), midMonolithicPut(), midBlobGet(), midManifestPut(`t${i}`)]);
  }

  test(`${rounds} rounds of disconnects leave no open file, no heap growth and no session past the purge age`, async (t) => {
    // First rounds warm up what is cached for good (code, pools), so the heap is measured after them.
    for (let i = 1; i <= warmUpRounds; i++) await oneRound(-i);
    await waitForNoOpenFiles(reg.root);
    const heapBefore = settledHeap();
    for (let i = 0; i < rounds; i++) await oneRound(i);
    await waitForNoOpenFiles(reg.root);
    const growth = settledHeap() - heapBefore;
    t.diagnostic(`${rounds} rounds (${rounds * 4} cut requests): heap grew by ${growth} bytes`);
    assert.ok(growth < heapBound, `heap grew by ${growth} bytes over ${rounds} rounds`);

    // No manifest PUT that was cut became a tag.
    const tags = await fetch(`${reg.url}/v2/faults/manifest/tags/list`);
    const listed = tags.status === 200 ? ((await tags.json()) as { tags: string[] | null }).tags : null;
    assert.deepEqual(listed ?? [], [], 'no tag exists: every manifest PUT was cut');

    // The sessions the clients abandoned stay until the purge age, then the purger removes them all.
    const driver = new FilesystemDriver(reg.root);
    const age = 60 * 60 * 1000;
    const early = await purgeStaleUploads(driver, { age, dryRun: false });
    assert.equal(early.stale.length, 0);
    assert.equal(early.kept, 2 * (rounds + warmUpRounds));
    const late = await purgeStaleUploads(driver, { age, dryRun: false, now: () => new Date(Date.now() + age + 1000) });
    assert.equal(late.stale.length, 2 * (rounds + warmUpRounds));
    for (const name of ['faults/patch', 'faults/put']) {
      assert.deepEqual(await listTree(`${reg.root}/docker/registry/v2/repositories/${name}/_uploads`), []);
    }

    // And the registry serves as before.
    const image = await pushImage(reg.url, 'faults/after', 'v1');
    const pulled = await fetch(`${reg.url}/v2/faults/after/manifests/v1`, { headers: { Accept: mediaTypes.ociManifest } });
    assert.equal(pulled.status, 200);
    assert.ok(Buffer.from(await pulled.arrayBuffer()).equals(image.bytes));
    const whole = await fetch(`${reg.url}/v2/faults/get/blobs/${blob.digest}`);
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(blob.content));
    assert.equal(descriptorOf(mediaTypes.ociLayer, blob.content).digest, blob.digest);
  });
});

/** heapUsed once the collector has run to a steady state. */
function settledHeap(): number {
  for (let i = 0; i < 3; i++) collect();
  return process.memoryUsage().heapUsed;
}

/** Waits (bounded) until no descriptor of this process is open on a file under the storage root. */
async function waitForNoOpenFiles(root: string): Promise<void> {
  const deadline = performance.now() + 5000;
  let open = openFilesUnder(root);
  while (open > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    open = openFilesUnder(root);
  }
  assert.equal(open, 0, 'files under the storage root are still open');
}
