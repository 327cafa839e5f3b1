// End to end on S3: Berth (bin/berth.js serve) with `storage.s3` on the local Ceph RADOS Gateway
// that `npm test` starts (scripts/services/ceph-up.sh). Real clients push and pull, blob GETs are
// redirected to presigned URLs of the store, and one chunked upload goes through two Berth
// processes sharing the bucket, as replicas behind a load balancer would.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, test, type TestContext } from 'node:test';
import { freePort, spawnRegistry, type SpawnedRegistry } from '../helpers/registry-server.js';
import { missingS3Message, randomRoot, rawClient, removePrefix, s3TestEnv, type S3TestEnv } from '../../src/storage/testing/s3-test-env.js';
import { forgetKnownBlobs } from './support/clients.js';
import { dockerdForSuite } from './support/daemons.js';
import { buildTestImages, helloText, type TestImages } from './support/images.js';
import { headManifest, ociIndexType, ociManifestType, readLayoutBlob, readLayoutManifest, sha256 } from './support/oci.js';
import { defer, Diagnostics } from './support/run.js';

const env = s3TestEnv();
const testTimeout = { timeout: 180_000 };

interface Berth {
  readonly url: string;
  readonly hostPort: string;
  readonly name: string;
  text(): string;
  stop(): Promise<void>;
}

/** Berth on the bucket under `root`, its output kept in a log file under work. */
async function startBerthOnS3(s3: S3TestEnv, root: string, work: string): Promise<Berth> {
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log:',
    '  level: info',
    'storage:',
    '  s3:',
    `    accesskey: ${s3.accessKey}`,
    `    secretkey: ${s3.secretKey}`,
    `    region: ${s3.region}`,
    `    regionendpoint: ${s3.endpoint}`,
    `    bucket: ${s3.bucket}`,
    '    forcepathstyle: true',
    '    secure: false',
    `    rootdirectory: /${root}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n');
  const spawned: SpawnedRegistry = await spawnRegistry('berth', config, work, port);
  const logFile = join(work, `berth-s3-${port}.log`);
  writeFileSync(logFile, spawned.output());
  const append = (chunk: Buffer) => {
    try {
      appendFileSync(logFile, chunk);
    } catch {
      // the work directory is gone already
    }
  };
  spawned.process.stdout!.on('data', append);
  spawned.process.stderr!.on('data', append);
  return {
    url: spawned.url,
    hostPort: spawned.hostPort,
    name: `berth on s3 (${spawned.hostPort}, ${logFile})`,
    text: () => readFileSync(logFile, 'utf8'),
    stop: () => spawned.stop(),
  };
}

if (!env) {
  test('berth on s3: a local S3 is needed', () => {
    assert.fail(missingS3Message);
  });
} else {
  const s3 = env;
  const raw = rawClient(s3);
  const diag = new Diagnostics();
  const root = randomRoot('e2e');
  let work: string;
  let images: TestImages;
  let first: Berth;
  let second: Berth;

  before(
    async () => {
      work = await mkdtemp(join(tmpdir(), 'berth-e2e-s3-'));
      images = await buildTestImages(join(work, 'images'));
      first = await startBerthOnS3(s3, root, work);
      diag.watch(first);
      second = await startBerthOnS3(s3, root, work);
      diag.watch(second);
    },
    { timeout: 120_000 },
  );

  after(
    async () => {
      await first?.stop();
      await second?.stop();
      await removePrefix(raw, s3.bucket, `${root}/`);
      raw.destroy();
      if (work) await rm(work, { recursive: true, force: true });
    },
    { timeout: 60_000 },
  );

  const sh = (file: string, args: string[], options?: Parameters<Diagnostics['run']>[2]) => diag.run(file, args, options);
  const ref = (repoAndTag: string) => `${first.hostPort}/${repoAndTag}`;
  const scratch = async (t: TestContext, label: string) => {
    const dir = await mkdtemp(join(work, `${label}-`));
    defer(t, () => rm(dir, { recursive: true, force: true }));
    return dir;
  };
  const push = async (source: string, repoAndTag: string, all = false) => {
    await forgetKnownBlobs();
    await sh('skopeo', ['copy', '-q', ...(all ? ['--all'] : []), '--dest-tls-verify=false', source, `docker://${ref(repoAndTag)}`]);
  };

  describe('berth on s3: skopeo', () => {
    it(
      'pushes an image and pulls it back (blobs come from the store by redirect)',
      testTimeout,
      diag.explained(async (t: TestContext) => {
        const dir = await scratch(t, 'single');
        await push(images.single.layout, 's3/skopeo:v1');
        const head = await headManifest(first.url, 's3/skopeo', 'v1');
        assert.deepEqual(head, { status: 200, digest: images.single.manifest.digest, mediaType: ociManifestType });
        // Pulled through the second process: the first one's writes are in the bucket.
        await sh('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${second.hostPort}/s3/skopeo:v1`, `oci:${dir}/pulled:v1`]);
        const pulled = await readLayoutManifest(join(dir, 'pulled'), 'v1');
        assert.ok(pulled.bytes.equals(images.single.manifest.bytes));
        const layer = await readLayoutBlob(join(dir, 'pulled'), images.single.layer.digest);
        assert.equal(sha256(layer), images.single.layer.digest);
      }),
    );

    it(
      'copies a multi-arch index with --all and pulls both platforms back',
      testTimeout,
      diag.explained(async (t: TestContext) => {
        const dir = await scratch(t, 'multi');
        const { index, children } = images.multi;
        await push(images.multi.layout, 's3/multi:list', true);
        assert.deepEqual(await headManifest(first.url, 's3/multi', 'list'), { status: 200, digest: index.digest, mediaType: ociIndexType });
        await sh('skopeo', ['copy', '-q', '--all', '--src-tls-verify=false', `docker://${ref('s3/multi:list')}`, `oci:${dir}/pulled:list`]);
        const pulled = await readLayoutManifest(join(dir, 'pulled'), 'list');
        assert.equal(pulled.digest, index.digest);
        for (const child of Object.values(children)) {
          assert.equal(sha256(await readLayoutBlob(join(dir, 'pulled'), child.digest)), child.digest);
        }
      }),
    );
  });

  describe('berth on s3: blob redirect', () => {
    it(
      'answers a blob GET with 307 to a presigned URL of the store, which serves the blob',
      testTimeout,
      diag.explained(async () => {
        await push(images.single.layout, 's3/redirect:v1');
        const digest = images.single.layer.digest;
        const url = `${first.url}/v2/s3/redirect/blobs/${digest}`;
        const answer = await fetch(url, { redirect: 'manual' });
        await answer.arrayBuffer();
        assert.equal(answer.status, 307);
        const location = answer.headers.get('location') ?? '';
        assert.ok(location.startsWith(`${s3.endpoint}/${s3.bucket}/${root}/docker/registry/v2/blobs/`), location);
        assert.ok(location.includes('X-Amz-Signature='), location);
        const followed = await fetch(url);
        assert.equal(followed.status, 200);
        assert.equal(sha256(Buffer.from(await followed.arrayBuffer())), digest);
        // And with curl -L, as a plain HTTP client would.
        const file = join(work, 'curled-blob');
        await sh('curl', ['-sSfL', '-o', file, url]);
        assert.equal(sha256(readFileSync(file)), digest);
      }),
    );
  });

  describe('berth on s3: two processes', () => {
    it(
      'a chunked upload started in one process is continued and finished in the other',
      testTimeout,
      diag.explained(async () => {
        // Chunks around S3's 5 MiB part minimum: the completed blob is assembled from all of them.
        const chunks = [randomBytes(6 * 1024 * 1024 + 11), randomBytes(1024), randomBytes(5 * 1024 * 1024), randomBytes(77)];
        const whole = Buffer.concat(chunks);
        const digest = `sha256:${createHash('sha256').update(whole).digest('hex')}`;
        const started = await fetch(`${first.url}/v2/s3/two/blobs/uploads/`, { method: 'POST' });
        await started.arrayBuffer();
        assert.equal(started.status, 202);
        let location = new URL(started.headers.get('location')!, first.url);
        let offset = 0;
        for (const [i, chunk] of chunks.entries()) {
          // Alternate between the processes, as a load balancer might.
          const target = new URL(location.pathname + location.search, i % 2 === 0 ? second.url : first.url);
          const patched = await fetch(target, {
            method: 'PATCH',
            headers: {
              'content-type': 'application/octet-stream',
              'content-range': `${offset}-${offset + chunk.length - 1}`,
              'content-length': String(chunk.length),
            },
            body: chunk,
          });
          const text = await patched.text();
          assert.equal(patched.status, 202, `chunk ${i}: ${text}`);
          offset += chunk.length;
          assert.equal(patched.headers.get('range'), `0-${offset - 1}`, `chunk ${i}`);
          location = new URL(patched.headers.get('location')!, target);
        }
        const finish = new URL(location.pathname + location.search, second.url);
        finish.searchParams.set('digest', digest);
        const put = await fetch(finish, { method: 'PUT' });
        assert.equal(put.status, 201, await put.text());
        for (const berth of [first, second]) {
          const got = await fetch(`${berth.url}/v2/s3/two/blobs/${digest}`);
          assert.equal(got.status, 200);
          const bytes = Buffer.from(await got.arrayBuffer());
          assert.equal(bytes.length, whole.length);
          assert.equal(sha256(bytes), digest);
        }
      }),
    );
  });

  describe('berth on s3: docker (dockerd)', () => {
    const docker = dockerdForSuite(() => join(work, 'docker'), diag);

    it(
      'pushes an image, then pulls and runs it',
      testTimeout,
      diag.explained(async () => {
        const pushRef = ref('s3/docker:v1');
        await docker('load', '-q', '-i', images.single.archive);
        await docker('tag', images.single.archiveName, pushRef);
        await docker('push', '-q', pushRef);
        await docker('rmi', pushRef, images.single.archiveName);
        await docker('pull', '-q', pushRef);
        const ran = await docker('run', '--rm', '--network', 'none', pushRef);
        assert.equal(ran.stdout.trim(), helloText);
      }),
    );
  });
}
