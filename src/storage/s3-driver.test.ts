import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, test } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { FileWriter } from './driver.js';
import { planParts, S3Driver, type S3DriverOptions } from './s3-driver.js';
import { runDriverSuite } from './testing/driver-suite.js';
import { keysUnder, missingS3Message, randomRoot, rawClient, removePrefix, s3TestEnv } from './testing/s3-test-env.js';

const MiB = 1024 * 1024;
const env = s3TestEnv();

if (!env) {
  test('s3 driver: a local S3 is needed', () => {
    assert.fail(missingS3Message);
  });
} else {
  const raw = rawClient(env);
  const made: S3Driver[] = [];
  after(() => {
    for (const driver of made) driver.destroy();
    raw.destroy();
  });

  /** A driver on the local RGW under a fresh root, and how to remove what it stored. */
  const fresh = (options: Partial<S3DriverOptions> = {}) => {
    const root = randomRoot('driver-test');
    const driver = new S3Driver({
      bucket: env.bucket,
      region: env.region,
      regionEndpoint: env.endpoint,
      forcePathStyle: true,
      accessKey: env.accessKey,
      secretKey: env.secretKey,
      rootDirectory: `/${root}`,
      // The smallest part size S3 allows, so that the suite's 8 MiB write is a multipart upload.
      chunkSize: 5 * MiB,
      ...options,
    });
    made.push(driver);
    return { driver, root, cleanup: () => removePrefix(raw, env.bucket, `${root}/`) };
  };

  runDriverSuite('s3', async () => fresh());

  describe('s3 driver specifics', () => {
    test('appends are segments that read back as one file, from another driver instance too', async () => {
      const { driver, root, cleanup } = fresh();
      try {
        const chunks = [randomBytes(100), randomBytes(6 * MiB + 3), randomBytes(50), randomBytes(MiB)];
        await driver.putContent('/up/data', new Uint8Array());
        for (const chunk of chunks) await append(driver, '/up/data', chunk);
        const whole = Buffer.concat(chunks);

        // Each append is a complete object of its own; none of them is listed as a file.
        const stored = await keysUnder(raw, env.bucket, `${root}/up/`);
        assert.equal(stored.length, 1 + chunks.length, stored.join(', '));
        assert.deepEqual(await driver.list('/up'), ['data']);

        // Another process (here, another client) sees the appended bytes at once.
        const { driver: other } = fresh({ rootDirectory: root });
        assert.equal((await other.stat('/up/data')).size, whole.length);
        assert.equal(sha256(await readAll(await other.reader('/up/data'))), sha256(whole));
        // Ranges across segment boundaries.
        for (const [offset, end] of [
          [0, 99],
          [99, 100],
          [90, 6 * MiB + 200],
          [6 * MiB + 100, 6 * MiB + 160],
          [5, whole.length - 1],
        ] as const) {
          const read = await readAll(await other.reader('/up/data', { offset, end }));
          assert.ok(read.equals(whole.subarray(offset, end + 1)), `range ${offset}-${end}`);
        }
        assert.ok((await other.getContent('/up/data')).equals(whole));

        // And an append made by the other instance goes after them all.
        await append(other, '/up/data', Buffer.from('tail'));
        assert.equal((await driver.stat('/up/data')).size, whole.length + 4);
      } finally {
        await cleanup();
      }
    });

    test('move assembles many segments, small and large, into one object server-side', async () => {
      // A low copy threshold and chunk: the large segments are copied in several ranges.
      const { driver, root, cleanup } = fresh({ multipartCopyThresholdSize: 5 * MiB, multipartCopyChunkSize: 5 * MiB });
      try {
        const sizes = [1024, 2 * MiB, 7 * MiB, 3 * MiB, 12 * MiB + 5, 10, 20, 5 * MiB, 4 * MiB];
        const chunks = sizes.map((size) => randomBytes(size));
        for (const chunk of chunks) await append(driver, '/m/_uploads/id/data', chunk);
        const whole = Buffer.concat(chunks);
        await driver.move('/m/_uploads/id/data', '/m/blobs/data');

        assert.deepEqual(await keysUnder(raw, env.bucket, `${root}/m/`), [`${root}/m/blobs/data`]);
        const head = await raw.send(new HeadObjectCommand({ Bucket: env.bucket, Key: `${root}/m/blobs/data` }));
        assert.equal(head.ContentLength, whole.length);
        assert.match(head.ETag ?? '', /-\d+"?$/, 'a multipart object');
        assert.equal(sha256(await readAll(await driver.reader('/m/blobs/data'))), sha256(whole));
        assert.deepEqual(await driver.list('/m'), ['blobs']);
      } finally {
        await cleanup();
      }
    });

    test('move of one segment above the copy threshold is a multipart copy; below it, one copy', async () => {
      const { driver, root, cleanup } = fresh({ multipartCopyThresholdSize: 6 * MiB, multipartCopyChunkSize: 5 * MiB });
      try {
        const large = randomBytes(13 * MiB + 1);
        await driver.putContent('/c/upload', new Uint8Array());
        await append(driver, '/c/upload', large);
        await driver.move('/c/upload', '/c/large');
        const head = await raw.send(new HeadObjectCommand({ Bucket: env.bucket, Key: `${root}/c/large` }));
        assert.match(head.ETag ?? '', /-\d+"?$/, 'a multipart object');
        assert.equal(sha256(await readAll(await driver.reader('/c/large'))), sha256(large));

        const small = randomBytes(MiB);
        await append(driver, '/c/upload2', small);
        await driver.move('/c/upload2', '/c/small');
        assert.ok((await driver.getContent('/c/small')).equals(small));
        assert.deepEqual(await keysUnder(raw, env.bucket, `${root}/c/`), [`${root}/c/large`, `${root}/c/small`]);
      } finally {
        await cleanup();
      }
    });

    test('a presigned redirect URL serves the file with plain fetch; a tampered one is refused', async () => {
      const { driver, cleanup } = fresh();
      try {
        const content = randomBytes(64 * 1024);
        await append(driver, '/blob/upload', content);
        await driver.move('/blob/upload', '/blob/data');
        const url = await driver.redirectURL('/blob/data');
        assert.ok(url?.startsWith(`${env.endpoint}/`), url);
        const response = await fetch(url!);
        assert.equal(response.status, 200);
        assert.ok(Buffer.from(await response.arrayBuffer()).equals(content));

        const tampered = new URL(url!);
        const signature = tampered.searchParams.get('X-Amz-Signature')!;
        tampered.searchParams.set('X-Amz-Signature', `${signature[0] === 'a' ? 'b' : 'a'}${signature.slice(1)}`);
        const refused = await fetch(tampered);
        await refused.arrayBuffer();
        assert.equal(refused.status, 403);
      } finally {
        await cleanup();
      }
    });

    test('without keys in the config, credentials come from the AWS environment variables', async () => {
      const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
      const restore = () => {
        for (const [name, value] of [
          ['AWS_ACCESS_KEY_ID', saved.id],
          ['AWS_SECRET_ACCESS_KEY', saved.secret],
        ] as const) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      };
      const { root, cleanup } = fresh();
      try {
        process.env.AWS_ACCESS_KEY_ID = env.accessKey;
        process.env.AWS_SECRET_ACCESS_KEY = env.secretKey;
        const { driver } = fresh({ accessKey: undefined, secretKey: undefined, rootDirectory: root });
        await driver.putContent('/file', Buffer.from('signed with the environment'));
        assert.deepEqual(await driver.getContent('/file'), Buffer.from('signed with the environment'));
        await driver.delete('/file');

        process.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret';
        const { driver: wrong } = fresh({ accessKey: undefined, secretKey: undefined });
        await assert.rejects(() => wrong.putContent('/file', Buffer.from('x')), /signature|denied|forbidden/i);
      } finally {
        restore();
        await cleanup();
      }
    });

    test('a writer interrupted part way keeps what it received, even past one part', async () => {
      const { driver, cleanup } = fresh();
      try {
        const first = randomBytes(6 * MiB);
        const writer = await driver.writer('/i/data', { append: true });
        await new Promise<void>((resolve, reject) =>
          writer.stream.write(first, (error) => (error ? reject(error) : resolve())),
        );
        const failed = new Promise<unknown>((resolve) => writer.stream.once('error', resolve));
        writer.stream.destroy(new Error('client went away'));
        await failed;
        assert.equal((await driver.stat('/i/data')).size, first.length);
        await append(driver, '/i/data', Buffer.from('more'));
        assert.equal(sha256(await driver.getContent('/i/data')), sha256(Buffer.concat([first, Buffer.from('more')])));
      } finally {
        await cleanup();
      }
    });

    test('v4auth: false is refused with the key named', () => {
      assert.throws(
        () => new S3Driver({ bucket: 'b', region: env.region, v4auth: false }),
        /storage\.s3\.v4auth/,
      );
    });
  });
}

describe('s3 driver: planning the parts of an assembled file', () => {
  const plan = (sizes: number[], chunk = 32 * MiB) =>
    planParts(
      sizes.map((size, i) => ({ key: `k${i}`, size })),
      chunk,
    );
  const partSize = (part: ReturnType<typeof planParts>[number]) =>
    part.kind === 'copy' ? part.end - part.start + 1 : part.size;

  test('every part but the last is at least 5 MiB, and the parts cover every byte in order', () => {
    const cases = [
      [1, 2, 3],
      [6 * MiB, 1, 6 * MiB],
      [MiB, 5 * MiB, MiB],
      [4 * MiB, 5 * MiB + 1, 3 * MiB],
      [4 * MiB, 20 * MiB, 100, 100, 9 * MiB],
      [100 * MiB + 7],
      [0, 5 * MiB, 0, 2 * MiB],
    ];
    for (const sizes of cases) {
      const parts = plan(sizes, 8 * MiB);
      const label = sizes.join(',');
      parts.slice(0, -1).forEach((part) => assert.ok(partSize(part) >= 5 * MiB, `${label}: small part`));
      const covered = parts.flatMap((part) =>
        part.kind === 'copy' ? [{ key: part.key, start: part.start, end: part.end }] : part.ranges,
      );
      let expected = sizes.flatMap((size, i) => (size > 0 ? [{ key: `k${i}`, next: 0, size }] : []));
      for (const range of covered) {
        const head = expected[0]!;
        assert.equal(range.key, head.key, label);
        assert.equal(range.start, head.next, label);
        head.next = range.end + 1;
        if (head.next === head.size) expected = expected.slice(1);
      }
      assert.equal(expected.length, 0, `${label}: every byte is in some part`);
    }
  });

  test('large segments are copied; only small ones and a bounded top-up are read back', () => {
    const parts = plan([MiB, 40 * MiB, 50 * MiB]);
    const uploaded = parts.filter((part) => part.kind === 'upload').reduce((sum, part) => sum + partSize(part), 0);
    assert.equal(uploaded, 5 * MiB);
    assert.ok(parts.filter((part) => part.kind === 'copy').length >= 2);
  });
});

async function append(driver: S3Driver, path: string, content: Buffer): Promise<void> {
  const writer: FileWriter = await driver.writer(path, { append: true });
  // Odd-sized pieces, as a client's chunk arrives.
  const pieces: Buffer[] = [];
  for (let at = 0; at < content.length; at += 70_001) pieces.push(content.subarray(at, at + 70_001));
  await pipeline(Readable.from(pieces), writer.stream);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
