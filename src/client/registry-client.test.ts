import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { bufferSource, pushImage, readStream, sha256 } from '../../test/helpers/client-content.js';
import { freePort, startTestRegistry, type TestRegistry } from '../../test/helpers/registry-server.js';
import { mediaTypes } from '../image/descriptor.js';
import { ConnectionFailedError, RegistryError, SourceSizeError } from './registry-error.js';
import { RegistryClient } from './registry-client.js';

describe('RegistryClient against Berth', { timeout: 60_000 }, () => {
  let server: TestRegistry;
  let client: RegistryClient;

  before(async () => {
    server = await startTestRegistry();
    client = new RegistryClient(server.hostPort, { insecure: true });
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  it('pings, and round-trips a manifest by tag and by digest', async () => {
    await client.ping();
    const { digest } = await pushImage(client, 'round/trip', 'v1');
    const byTag = await client.getManifest('round/trip', 'v1');
    assert.equal(byTag.descriptor.digest, digest);
    assert.equal(byTag.descriptor.mediaType, mediaTypes.ociManifest);
    assert.equal(byTag.descriptor.size, byTag.bytes.length);
    assert.equal(sha256(byTag.bytes), digest);
    const byDigest = await client.getManifest('round/trip', digest);
    assert.deepEqual(byDigest.bytes, byTag.bytes);
    assert.deepEqual(await client.headManifest('round/trip', 'v1'), byTag.descriptor);
    assert.equal(await client.headManifest('round/trip', 'nope'), undefined);
  });

  it('reports an unknown manifest as a RegistryError with the code and a hint', async () => {
    await pushImage(client, 'known/repo', 'v1');
    const error = await client.getManifest('known/repo', 'missing').catch((e: unknown) => e);
    assert.ok(error instanceof RegistryError);
    assert.equal(error.status, 404);
    assert.equal(error.code, 'MANIFEST_UNKNOWN');
    assert.match(error.message, new RegExp(`^${server.hostPort}: MANIFEST_UNKNOWN: .* \\(HTTP 404\\)$`));
    assert.match(error.hint ?? '', /tag or digest/);
  });


  it('uploads monolithically, then stats and reads the blob whole and from an offset', async () => {
    const blob = randomBytes(200_000);
    const digest = sha256(blob);
    assert.equal(await client.statBlob('mono/blob', digest), undefined);
    const progress: number[] = [];
    await client.uploadBlob('mono/blob', { digest, size: blob.length }, bufferSource(blob), { onProgress: (n) => progress.push(n) });
    assert.equal(progress.at(-1), blob.length);
    assert.equal(await client.statBlob('mono/blob', digest), blob.length);
    assert.deepEqual(await readStream(await client.openBlob('mono/blob', digest)), blob);
    assert.deepEqual(await readStream(await client.openBlob('mono/blob', digest, { offset: 123_456 })), blob.subarray(123_456));
  });

  it('uploads in chunks that do not divide the size, and an empty blob', async () => {
    const blob = randomBytes(250_001);
    const digest = sha256(blob);
    const progress: number[] = [];
    await client.uploadBlob('chunk/blob', { digest, size: blob.length }, bufferSource(blob, 7_000), { chunkSize: 64 * 1024, onProgress: (n) => progress.push(n) });
    assert.equal(progress.at(-1), blob.length);
    assert.deepEqual(await readStream(await client.openBlob('chunk/blob', digest)), blob);
    const empty = Buffer.alloc(0);
    await client.uploadBlob('chunk/blob', { digest: sha256(empty), size: 0 }, bufferSource(empty), { chunkSize: 1024 });
    assert.equal(await client.statBlob('chunk/blob', sha256(empty)), 0);
  });

  it('resumes a chunked upload after the source fails half way through a chunk', async () => {
    const blob = randomBytes(300_000);
    const digest = sha256(blob);
    const opened: number[] = [];
    const open = async (offset: number) => {
      opened.push(offset);
      const rest = blob.subarray(offset);
      if (opened.length > 1) return Readable.from([rest]);
      // First attempt: 150,000 bytes (half way through the second 100,000-byte chunk), then a failure.
      return Readable.from(
        (async function* () {
          yield rest.subarray(0, 100_000);
          yield rest.subarray(100_000, 150_000);
          await new Promise((resolve) => setTimeout(resolve, 50));
          throw new Error('disk went away');
        })(),
      );
    };
    await client.uploadBlob('resume/blob', { digest, size: blob.length }, open, { chunkSize: 100_000 });
    assert.equal(opened.length, 2);
    assert.equal(opened[0], 0);
    // The registry has at least the first chunk, and at most what was sent before the failure.
    assert.ok(opened[1]! >= 100_000 && opened[1]! <= 150_000, `reopened at ${opened[1]}`);
    assert.deepEqual(await readStream(await client.openBlob('resume/blob', digest)), blob);
  });

  it('gives up after the retries, and refuses a source of the wrong size', async () => {
    const blob = randomBytes(10_000);
    const failing = async () => Readable.from((async function* () { yield blob.subarray(0, 10); throw new Error('always broken'); })());
    await assert.rejects(client.uploadBlob('fail/blob', { digest: sha256(blob), size: blob.length }, failing, { chunkSize: 4096, retries: 2 }), /always broken/);
    for (const chunkSize of [undefined, 4096]) {
      await assert.rejects(
        client.uploadBlob('fail/blob', { digest: sha256(blob), size: blob.length + 1 }, bufferSource(blob), { chunkSize }),
        (error) => error instanceof SourceSizeError && error.expected === blob.length + 1,
      );
      await assert.rejects(
        client.uploadBlob('fail/blob', { digest: sha256(blob), size: blob.length - 1 }, bufferSource(blob), { chunkSize }),
        (error) => error instanceof SourceSizeError,
      );
    }
    assert.equal(await client.statBlob('fail/blob', sha256(blob)), undefined);
  });

  it('rejects an upload whose content does not match its digest (the registry checks)', async () => {
    const blob = randomBytes(5000);
    const error = await client.uploadBlob('bad/digest', { digest: sha256('something else'), size: blob.length }, bufferSource(blob)).catch((e: unknown) => e);
    assert.ok(error instanceof RegistryError);
    assert.equal(error.code, 'DIGEST_INVALID');
  });

  it('mounts a blob from another repository, and declines an unknown one', async () => {
    const { layer } = await pushImage(client, 'mount/source', 'v1');
    assert.equal(await client.statBlob('mount/target', sha256(layer)), undefined);
    assert.equal(await client.mountBlob('mount/target', sha256(layer), 'mount/source'), true);
    assert.equal(await client.statBlob('mount/target', sha256(layer)), layer.length);
    assert.equal(await client.mountBlob('mount/target', sha256('not there'), 'mount/source'), false);
  });

  it('follows tag and catalog pages', async () => {
    const { digest } = await pushImage(client, 'paged/a', 't0');
    const manifest = await client.getManifest('paged/a', digest);
    for (const tag of ['t1', 't2', 't3', 't4']) await client.putManifest('paged/a', tag, manifest.bytes, manifest.descriptor.mediaType);
    assert.deepEqual(await client.tags('paged/a', { pageSize: 2 }), ['t0', 't1', 't2', 't3', 't4']);
    assert.deepEqual(await client.tags('paged/a'), ['t0', 't1', 't2', 't3', 't4']);
    const all = await client.catalog();
    assert.ok(all.includes('paged/a'));
    assert.deepEqual(await client.catalog({ pageSize: 2 }), all);
    const error = await client.tags('paged/none').catch((e: unknown) => e);
    assert.ok(error instanceof RegistryError && error.code === 'NAME_UNKNOWN');
  });

  it('deletes a manifest by tag and by digest', async () => {
    const first = await pushImage(client, 'del/repo', 'one');
    const second = await pushImage(client, 'del/repo', 'two');
    await client.deleteManifest('del/repo', 'one');
    assert.equal(await client.headManifest('del/repo', 'one'), undefined);
    await client.deleteManifest('del/repo', second.digest);
    assert.equal(await client.headManifest('del/repo', second.digest), undefined);
    assert.equal(await client.headManifest('del/repo', 'two'), undefined);
    assert.notEqual(first.digest, second.digest);
  });

  it('lists referrers, filtered by artifact type', async () => {
    const { digest, config } = await pushImage(client, 'refs/repo', 'v1');
    assert.deepEqual(await client.referrers('refs/repo', digest), []);
    const empty = Buffer.from('{}');
    await client.uploadBlob('refs/repo', { digest: sha256(empty), size: 2 }, bufferSource(empty));
    const subject = { mediaType: mediaTypes.ociManifest, digest, size: (await client.getManifest('refs/repo', digest)).bytes.length };
    const referrer = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: mediaTypes.ociManifest,
        artifactType: 'application/x.test',
        config: { mediaType: mediaTypes.ociEmpty, digest: sha256(empty), size: 2 },
        layers: [{ mediaType: mediaTypes.ociEmpty, digest: sha256(empty), size: 2 }],
        subject,
      }),
    );
    const referrerDigest = await client.putManifest('refs/repo', sha256(referrer), referrer, mediaTypes.ociManifest);
    const found = await client.referrers('refs/repo', digest);
    assert.deepEqual(found.map((d) => [d.digest, d.artifactType]), [[referrerDigest, 'application/x.test']]);
    assert.deepEqual(await client.referrers('refs/repo', digest, 'application/x.other'), []);
    assert.equal((await client.referrers('refs/repo', digest, 'application/x.test')).length, 1);
    assert.ok(config.length > 0);
  });

  it('sends single requests through request(), whatever the answer', async () => {
    const { digest } = await pushImage(client, 'low/level', 'v1');
    const ok = await client.request('HEAD', `/v2/low/level/manifests/v1`, { headers: { accept: mediaTypes.ociManifest } });
    ok.body.resume();
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['docker-content-digest'], digest);
    const missing = await client.request('GET', '/v2/low/level/manifests/nope');
    assert.equal(missing.status, 404);
    assert.match((await readStream(missing.body)).toString(), /MANIFEST_UNKNOWN/);
  });
});

describe('RegistryClient connection failures', { timeout: 30_000 }, () => {
  it('says nothing listens, with a hint', async () => {
    const port = await freePort();
    const client = new RegistryClient(`127.0.0.1:${port}`, { insecure: true });
    try {
      const error = await client.ping().catch((e: unknown) => e);
      assert.ok(error instanceof ConnectionFailedError, String(error));
      assert.equal(error.code, 'ECONNREFUSED');
      assert.match(error.hint, /nothing listens/);
    } finally {
      await client.close();
    }
  });
});
