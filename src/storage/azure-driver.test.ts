import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, test } from 'node:test';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { AzureDriver, appendBlockSize, type AzureDriverOptions } from './azure-driver.js';
import type { FileWriter } from './driver.js';
import { runDriverSuite } from './testing/driver-suite.js';

/**
 * Runs against the Azurite that `npm test` starts (scripts/services/azurite-up.sh). Each test gets
 * a container of its own, deleted afterwards.
 */
function azurite(): { serviceURL: string; accountName: string; accountKey: string } {
  const { BERTH_TEST_AZURE_URL: serviceURL, BERTH_TEST_AZURE_ACCOUNT: accountName, BERTH_TEST_AZURE_KEY: accountKey } =
    process.env;
  if (!serviceURL || !accountName || !accountKey) {
    throw new Error(
      'BERTH_TEST_AZURE_URL, BERTH_TEST_AZURE_ACCOUNT and BERTH_TEST_AZURE_KEY are not set: run this test through `npm test`, ' +
        'which starts Azurite (or start it with scripts/services/azurite-up.sh DIR and source DIR/env)',
    );
  }
  return { serviceURL, accountName, accountKey };
}

function service(): BlobServiceClient {
  const { serviceURL, accountName, accountKey } = azurite();
  return new BlobServiceClient(serviceURL, new StorageSharedKeyCredential(accountName, accountKey));
}

/** A driver on a container of its own; `cleanup` deletes the container. */
async function freshDriver(extra: Partial<AzureDriverOptions> = {}) {
  const container = `berth-test-${randomBytes(6).toString('hex')}`;
  const options: AzureDriverOptions = { ...azurite(), container, ...extra };
  const driver = new AzureDriver(options);
  const cleanup = async () => {
    await service().getContainerClient(container).deleteIfExists();
  };
  return { driver, options, container, cleanup };
}

runDriverSuite('azure (Azurite)', () => freshDriver());

describe('azure driver specifics', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });
  const fresh = async (extra: Partial<AzureDriverOptions> = {}) => {
    const made = await freshDriver(extra);
    cleanups.push(made.cleanup);
    return made;
  };

  test('appends from two replicas (two driver instances) add up, each seeing the other', async () => {
    const { driver: one, options } = await fresh();
    const two = new AzureDriver(options);
    const path = '/docker/registry/v2/repositories/app/_uploads/u1/data';
    const first = await one.writer(path, { append: true });
    await writeAll(first, [Buffer.from('from one|')]);
    assert.equal((await two.stat(path)).size, 9);
    const second = await two.writer(path, { append: true });
    assert.equal(second.size, 9);
    await writeAll(second, [Buffer.from('from two|')]);
    await second.commit();
    const third = await one.writer(path, { append: true });
    assert.equal(third.size, 18);
    await writeAll(third, [Buffer.from('one again')]);
    await third.commit();
    assert.deepEqual(await one.getContent(path), Buffer.from('from one|from two|one again'));
    assert.deepEqual(await readAll(await two.reader(path, { offset: 9 })), Buffer.from('from two|one again'));
  });

  test('two writers appending at once never interleave: one of them fails', async () => {
    const { driver: one, options } = await fresh();
    const two = new AzureDriver(options);
    const a = await one.writer('/race', { append: true });
    const b = await two.writer('/race', { append: true });
    await writeAll(a, [Buffer.from('aaaa')]);
    // Same length on purpose: the size alone would not tell the two writers' blocks apart.
    await assert.rejects(() => writeAll(b, [Buffer.from('bbbb')]), { statusCode: 412 });
    assert.deepEqual(await one.getContent('/race'), Buffer.from('aaaa'));
  });

  test('a stream larger than one append block is split into blocks and reads back whole', async () => {
    const { driver, container } = await fresh();
    const content = randomBytes(2 * appendBlockSize + 12_345);
    const writer = await driver.writer('/big', { append: true });
    // One chunk larger than two blocks, then small ones: both ways of reaching the block limit.
    await writeAll(writer, [content.subarray(0, 2 * appendBlockSize + 100), content.subarray(2 * appendBlockSize + 100)]);
    await writer.commit();
    assert.equal(writer.size, content.length);
    assert.equal((await driver.stat('/big')).size, content.length);
    assert.equal(sha256(await readAll(await driver.reader('/big'))), sha256(content));
    const properties = await service().getContainerClient(container).getBlobClient('big').getProperties();
    assert.equal(properties.blobType, 'AppendBlob');
    assert.ok((properties.blobCommittedBlockCount ?? 0) >= 3, `blocks: ${properties.blobCommittedBlockCount}`);
  });

  test('appending to a file putContent wrote keeps its content', async () => {
    const { driver } = await fresh();
    await driver.putContent('/small', Buffer.from('put|'));
    const writer = await driver.writer('/small', { append: true });
    assert.equal(writer.size, 4);
    await writeAll(writer, [Buffer.from('appended')]);
    assert.deepEqual(await driver.getContent('/small'), Buffer.from('put|appended'));
  });

  test('move of a 20 MiB upload is a server-side copy', async () => {
    const { driver, container } = await fresh();
    const content = randomBytes(20 * 1024 * 1024);
    const writer = await driver.writer('/_uploads/x/data', { append: true });
    await writeAll(writer, [content]);
    await writer.commit();
    await driver.move('/_uploads/x/data', '/blobs/sha256/ab/abcd/data');
    await assert.rejects(() => driver.stat('/_uploads/x/data'));
    assert.equal((await driver.stat('/blobs/sha256/ab/abcd/data')).size, content.length);
    assert.equal(sha256(await readAll(await driver.reader('/blobs/sha256/ab/abcd/data'))), sha256(content));
    // The service records a copy on the target: the bytes went from blob to blob, not through Berth.
    const properties = await service().getContainerClient(container).getBlobClient('blobs/sha256/ab/abcd/data').getProperties();
    assert.equal(properties.copyStatus, 'success');
    assert.ok(properties.copyId);
  });

  test('move replaces a target of the other blob type', async () => {
    const { driver } = await fresh();
    await driver.putContent('/target', Buffer.from('block blob'));
    const writer = await driver.writer('/source');
    await writeAll(writer, [Buffer.from('append blob')]);
    await driver.move('/source', '/target');
    assert.deepEqual(await driver.getContent('/target'), Buffer.from('append blob'));
  });

  test('blob names are rootdirectory/path, as Distribution names them', async () => {
    const { driver, container } = await fresh({ rootDirectory: '/registry/root/' });
    await driver.putContent('/docker/registry/v2/file', Buffer.from('x'));
    const names: string[] = [];
    for await (const blob of service().getContainerClient(container).listBlobsFlat()) names.push(blob.name);
    assert.deepEqual(names, ['registry/root/docker/registry/v2/file']);
    assert.deepEqual(await driver.list('/docker/registry'), ['v2']);
  });

  test('delete of a directory with more blobs than one batch takes', async () => {
    const { driver } = await fresh();
    const paths = Array.from({ length: 300 }, (_, i) => `/tree/${i % 3}/file${i}`);
    for (let at = 0; at < paths.length; at += 50) {
      await Promise.all(paths.slice(at, at + 50).map((path) => driver.putContent(path, Buffer.from(path))));
    }
    await driver.putContent('/tree-sibling', Buffer.from('kept'));
    await driver.delete('/tree');
    await assert.rejects(() => driver.stat('/tree'), { name: 'PathNotFoundError' });
    assert.deepEqual(await driver.getContent('/tree-sibling'), Buffer.from('kept'));
  });

  test('redirectURL is a read-only SAS URL: fetchable as is, refused when tampered with or expired', async () => {
    const { driver, options } = await fresh();
    const content = randomBytes(100_000);
    await driver.putContent('/blobs/data', content);
    const url = await driver.redirectURL('/blobs/data');
    assert.ok(url?.startsWith(`${options.serviceURL}/`), url);
    assert.ok(url);
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), content);

    const ranged = await fetch(url, { headers: { range: 'bytes=10-19' } });
    assert.equal(ranged.status, 206);
    assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), content.subarray(10, 20));

    const tampered = new URL(url);
    tampered.searchParams.set('sp', 'rw'); // ask for write permission with the read-only signature
    assert.equal((await fetch(tampered)).status, 403);
    const otherBlob = url.replace('/blobs/data?', '/blobs/other?');
    assert.equal((await fetch(otherBlob)).status, 403);
    const put = await fetch(url, { method: 'PUT', headers: { 'x-ms-blob-type': 'BlockBlob' }, body: 'overwrite' });
    assert.equal(put.status, 403);
    assert.deepEqual(await driver.getContent('/blobs/data'), content);

    const expiredDriver = new AzureDriver({ ...options, redirectLifetime: -60_000 });
    const expired = await expiredDriver.redirectURL('/blobs/data');
    assert.equal((await fetch(expired!)).status, 403);
  });
});

async function writeAll(writer: FileWriter, chunks: Buffer[]): Promise<void> {
  await pipeline(Readable.from(chunks), writer.stream);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
