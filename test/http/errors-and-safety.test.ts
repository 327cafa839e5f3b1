import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listTree } from '../helpers/files.js';
import { expectError, rawRequest, type RawRequest } from '../helpers/http.js';
import { digestOf, manifestBytes, imageManifest, mediaTypes, pushBlob, pushImage, startUpload } from '../helpers/push.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

const someDigest = digestOf('some content');

describe('grammar errors and unsupported requests', { timeout: 60_000 }, () => {
  let registry: TestRegistry;
  let url: string;
  before(async () => {
    registry = await startTestRegistry();
    url = registry.url;
  });
  after(async () => {
    await registry.close();
  });

  /** One request per endpoint that takes a name, for the given raw name segment. */
  function nameRequests(name: string): RawRequest[] {
    return [
      { path: `/v2/${name}/tags/list` },
      { path: `/v2/${name}/manifests/latest` },
      { method: 'HEAD', path: `/v2/${name}/manifests/latest` },
      { method: 'PUT', path: `/v2/${name}/manifests/latest`, headers: { 'Content-Type': mediaTypes.ociManifest }, body: '{}' },
      { method: 'DELETE', path: `/v2/${name}/manifests/${someDigest}` },
      { path: `/v2/${name}/blobs/${someDigest}` },
      { method: 'DELETE', path: `/v2/${name}/blobs/${someDigest}` },
      { method: 'POST', path: `/v2/${name}/blobs/uploads/` },
      { method: 'POST', path: `/v2/${name}/blobs/uploads/?digest=${digestOf('x')}`, body: 'x' },
      { path: `/v2/${name}/blobs/uploads/00000000-0000-4000-8000-000000000000` },
      { path: `/v2/${name}/referrers/${someDigest}` },
    ];
  }

  test('invalid repository names are 400 NAME_INVALID on every endpoint', async () => {
    const names = [
      'Upper',
      'a/Bar',
      '_lead',
      'a/_b',
      'a//b',
      'a/',
      '-a',
      'a-',
      'a..b',
      'a.',
      '.a',
      'a___b',
      'a%20b',
      'a%00b',
      '%C3%A4',
      'a:b',
      'a'.repeat(256),
      `${'abcdefghij/'.repeat(23)}abc`,
    ];
    for (const name of names) {
      for (const request of nameRequests(name)) {
        const response = await rawRequest(url, request);
        await expectError(response, 400, 'NAME_INVALID', { head: request.method === 'HEAD' });
      }
    }
    const entry = await expectError(await fetch(`${url}/v2/Upper/tags/list`), 400, 'NAME_INVALID');
    assert.deepEqual(entry!.detail, { name: 'Upper' });
  });

  test('names at the edge of the grammar are accepted', async () => {
    const names = ['a'.repeat(255), 'a__b', 'a---b', 'a.b_c-d/e0', '0/1/2/3', 'x'];
    for (const name of names) {
      await expectError(await fetch(`${url}/v2/${name}/tags/list`), 404, 'NAME_UNKNOWN');
    }
    await pushBlob(url, 'a'.repeat(255), 'long name content');
  });

  test('invalid digests are 400 DIGEST_INVALID', async () => {
    const digests = [
      'sha256:abc',
      `sha256:${'A'.repeat(64)}`,
      `sha256:${'0'.repeat(65)}`,
      `sha512:${'0'.repeat(64)}`,
      `md5:${'0'.repeat(32)}`,
      `SHA256:${'0'.repeat(64)}`,
      'latest',
      'sha256:',
      `sha256:${'0'.repeat(63)}g`,
    ];
    for (const digest of digests) {
      for (const method of ['GET', 'DELETE']) {
        const response = await rawRequest(url, { method, path: `/v2/errors/repo/blobs/${digest}` });
        await expectError(response, 400, 'DIGEST_INVALID');
      }
      await expectError(await rawRequest(url, { method: 'HEAD', path: `/v2/errors/repo/blobs/${digest}` }), 400, 'DIGEST_INVALID', {
        head: true,
      });
    }
    // On the manifest endpoint, a reference with the digest grammar must be a valid digest.
    for (const reference of ['sha256:abc', `md5:${'0'.repeat(32)}`, `sha256:${'A'.repeat(64)}`]) {
      await expectError(await fetch(`${url}/v2/errors/repo/manifests/${reference}`), 400, 'DIGEST_INVALID');
    }
  });

  test('invalid tags are 400 TAG_INVALID', async () => {
    const image = await pushImage(url, 'errors/tags', 'ok');
    const tags = ['-dash', '.dot', 'x'.repeat(129), 'a%2Fb', 'sp%20ace', '%2e%2e', 't%00'];
    for (const tag of tags) {
      for (const method of ['GET', 'HEAD', 'DELETE']) {
        const response = await rawRequest(url, { method, path: `/v2/errors/tags/manifests/${tag}` });
        await expectError(response, 400, 'TAG_INVALID', { head: method === 'HEAD' });
      }
      const put = await rawRequest(url, {
        method: 'PUT',
        path: `/v2/errors/tags/manifests/${tag}`,
        headers: { 'Content-Type': mediaTypes.ociManifest },
        body: image.bytes,
      });
      await expectError(put, 400, 'TAG_INVALID');
    }
    // The longest valid tag is fine.
    const longest = `_${'x'.repeat(127)}`;
    const response = await rawRequest(url, {
      method: 'PUT',
      path: `/v2/errors/tags/manifests/${longest}`,
      headers: { 'Content-Type': mediaTypes.ociManifest },
      body: image.bytes,
    });
    assert.equal(response.status, 201);
  });

  test('an unsupported method on a known endpoint is 405 UNSUPPORTED with Allow', async () => {
    const cases: [string, string, string][] = [
      ['PATCH', '/v2/', 'GET, HEAD'],
      ['DELETE', '/v2/_catalog', 'GET'],
      ['POST', '/v2/errors/repo/tags/list', 'GET'],
      ['POST', '/v2/errors/repo/manifests/latest', 'GET, HEAD, PUT, DELETE'],
      ['PATCH', `/v2/errors/repo/blobs/${someDigest}`, 'GET, HEAD, DELETE'],
      ['PUT', `/v2/errors/repo/blobs/${someDigest}`, 'GET, HEAD, DELETE'],
      ['GET', '/v2/errors/repo/blobs/uploads/', 'POST'],
      ['POST', '/v2/errors/repo/blobs/uploads/00000000-0000-4000-8000-000000000000', 'GET, PATCH, PUT, DELETE'],
      ['PUT', `/v2/errors/repo/referrers/${someDigest}`, 'GET'],
    ];
    for (const [method, path, allow] of cases) {
      const response = await rawRequest(url, { method, path });
      await expectError(response, 405, 'UNSUPPORTED');
      assert.equal(response.headers.get('allow'), allow, `${method} ${path}`);
    }
  });

  test('an unknown path is 404 in the error format', async () => {
    for (const path of ['/v3/', '/v2/errors/repo', '/v2/errors/repo/manifests/', '/v2/errors/repo/blobs/', '/v2/errors/repo/tags', '/favicon.ico']) {
      const entry = await expectError(await rawRequest(url, { path }), 404, 'UNSUPPORTED');
      assert.match(entry!.message, /no API endpoint/);
    }
  });
});

describe('path traversal cannot leave or litter the storage root', { timeout: 60_000 }, () => {
  /** A directory that holds only the storage root: anything else appearing here escaped it. */
  let sentinel: string;
  let registry: TestRegistry;
  let url: string;
  /** A name nothing legitimate would create, looked for everywhere afterwards. */
  const marker = `berth-escape-${randomBytes(6).toString('hex')}`;
  let openUpload: URL;
  let manifest: Buffer;
  let treeBefore: string[];

  before(async () => {
    sentinel = await mkdtemp(join(tmpdir(), 'berth-sentinel-'));
    await mkdir(join(sentinel, 'root'));
    registry = await startTestRegistry({ root: join(sentinel, 'root') });
    url = registry.url;
    const config = await pushBlob(url, 'safe/repo', '{"os":"linux"}', mediaTypes.ociConfig);
    const layer = await pushBlob(url, 'safe/repo', 'layer', mediaTypes.ociLayer);
    manifest = manifestBytes(imageManifest(config, [layer]));
    await pushImage(url, 'safe/repo', 'latest');
    openUpload = await startUpload(url, 'safe/repo');
    treeBefore = await listTree(registry.root);
    assert.deepEqual(await readdir(sentinel), ['root']);
  });
  after(async () => {
    await registry.close();
    await rm(sentinel, { recursive: true, force: true });
  });

  async function assertNothingEscaped(): Promise<void> {
    assert.deepEqual(await readdir(sentinel), ['root']);
    assert.equal(existsSync(join(tmpdir(), marker)), false);
    assert.equal(existsSync(join('/tmp', marker)), false);
    assert.equal(existsSync(join(registry.root, marker)), false);
  }

  test('requests with traversal in the path are refused with 4xx and touch nothing', async () => {
    const up = '../'.repeat(8);
    const encodedUp = '%2e%2e%2f'.repeat(8);
    const m = marker;
    const put = { method: 'PUT', headers: { 'Content-Type': mediaTypes.ociManifest } };
    const uploadId = openUpload.pathname.split('/').at(-1)!;
    const attacks: RawRequest[] = [
      // Names
      { method: 'POST', path: `/v2/${up}${m}/blobs/uploads/` },
      { method: 'POST', path: `/v2/a/${up}${m}/blobs/uploads/?digest=${digestOf('x')}`, body: 'x' },
      { method: 'POST', path: `/v2/${'%2e%2e/'.repeat(8)}${m}/blobs/uploads/` },
      { method: 'POST', path: `/v2/${'%2E%2E%2F'.repeat(8)}${m}/blobs/uploads/` },
      { method: 'POST', path: `/v2/${encodedUp}${m}/blobs/uploads/?digest=${digestOf('x')}`, body: 'x' },
      { path: `/v2/a%2F..%2F..%2F..%2F..%2F..%2F..%2F${m}/tags/list` },
      { method: 'POST', path: `/v2//tmp/${m}/blobs/uploads/` },
      { method: 'POST', path: `/v2/%2Ftmp%2F${m}/blobs/uploads/` },
      { method: 'POST', path: `/v2/..%5C..%5C..%5C${m}/blobs/uploads/` },
      { method: 'POST', path: `/v2/%252e%252e/%252e%252e/${m}/blobs/uploads/` },
      { method: 'POST', path: `/v2/%c0%ae%c0%ae/%c0%ae%c0%ae/${m}/blobs/uploads/` },
      { method: 'POST', path: `/v2/./${m}/blobs/uploads/` },
      { method: 'POST', path: `/v2/safe/./repo/blobs/uploads/` },
      { method: 'POST', path: `/v2/safe/repo/${up}${m}/blobs/uploads/` },
      { method: 'POST', path: `/v2/safe%00/repo/blobs/uploads/` },
      { ...put, path: `/v2/${up}${m}/manifests/latest`, body: manifest },
      { ...put, path: `/v2/${encodedUp}${m}/manifests/latest`, body: manifest },
      { path: `/v2/${up}${m}/referrers/${someDigest}` },
      { method: 'DELETE', path: `/v2/${encodedUp}${m}/blobs/${someDigest}` },
      { method: 'POST', path: `http://127.0.0.1/v2/${up}${m}/blobs/uploads/` },
      // Upload ids
      { method: 'PATCH', path: `/v2/safe/repo/blobs/uploads/${up}${m}`, body: 'data' },
      { method: 'PATCH', path: `/v2/safe/repo/blobs/uploads/${encodedUp}${m}`, body: 'data' },
      { method: 'PATCH', path: `/v2/safe/repo/blobs/uploads/${encodedUp}${m}`, body: ['chunked ', 'data'] },
      { method: 'PUT', path: `/v2/safe/repo/blobs/uploads/${encodedUp}${m}?digest=${digestOf('data')}`, body: 'data' },
      { method: 'PUT', path: `/v2/safe/repo/blobs/uploads/..?digest=${digestOf('data')}`, body: 'data' },
      { method: 'PUT', path: `/v2/safe/repo/blobs/uploads/%2e%2e?digest=${digestOf('data')}`, body: 'data' },
      { path: `/v2/safe/repo/blobs/uploads/..` },
      { method: 'DELETE', path: `/v2/safe/repo/blobs/uploads/..` },
      { method: 'DELETE', path: `/v2/safe/repo/blobs/uploads/%2e%2e%2f%2e%2e%2f_uploads` },
      { method: 'DELETE', path: `/v2/safe/repo/blobs/uploads/${uploadId}%2f..%2f..` },
      { method: 'PUT', path: `/v2/safe/repo/blobs/uploads/${uploadId}?digest=sha256:..%2F..%2F${m}`, body: 'data' },
      // Tags
      { ...put, path: '/v2/safe/repo/manifests/..', body: manifest },
      { ...put, path: '/v2/safe/repo/manifests/%2e%2e', body: manifest },
      { ...put, path: `/v2/safe/repo/manifests/..%2F..%2F..%2F${m}`, body: manifest },
      { ...put, path: `/v2/safe/repo/manifests/${up}${m}`, body: manifest },
      { ...put, path: `/v2/safe/repo/manifests/${digestOf(manifest)}?tag=..%2F..%2F${m}`, body: manifest },
      { ...put, path: `/v2/safe/repo/manifests/${digestOf(manifest)}?tag=..`, body: manifest },
      { method: 'DELETE', path: '/v2/safe/repo/manifests/..' },
      { method: 'DELETE', path: '/v2/safe/repo/manifests/%2e%2e%2f_layers' },
      // Digests
      { path: `/v2/safe/repo/blobs/sha256:..%2F..%2F${m}` },
      { method: 'DELETE', path: `/v2/safe/repo/blobs/sha256%3A..%2F..%2F..%2F${m}` },
      { method: 'DELETE', path: `/v2/safe/repo/manifests/sha256:..%2F..%2F${m}` },
      { method: 'POST', path: `/v2/safe/repo/blobs/uploads/?digest=sha256:..%2F..%2F${m}`, body: 'x' },
      { method: 'POST', path: `/v2/safe/repo/blobs/uploads/?digest-algorithm=..%2F..%2F${m}` },
      { path: `/v2/safe/repo/referrers/sha256:..%2F..%2F${m}` },
    ];
    for (const attack of attacks) {
      const response = await rawRequest(url, attack);
      const what = `${attack.method ?? 'GET'} ${attack.path}`;
      assert.ok(response.status >= 400 && response.status < 500, `${what} answered ${response.status}`);
      assert.equal(response.headers.get('docker-distribution-api-version'), 'registry/2.0', what);
      const body = (await response.json()) as { errors: { code: string }[] };
      assert.match(body.errors[0]!.code, /^[A-Z_]+$/, what);
    }
    assert.deepEqual(await listTree(registry.root), treeBefore);
    await assertNothingEscaped();
  });

  test('the attacks cost the legitimate content nothing', async () => {
    const tag = await fetch(`${url}/v2/safe/repo/manifests/latest`);
    assert.equal(tag.status, 200);
    const status = await fetch(openUpload);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-0');
  });

  test('harmless queries carrying traversal text answer normally and write nothing', async () => {
    const tags = await rawRequest(url, { path: `/v2/safe/repo/tags/list?last=..%2F..%2F${marker}` });
    assert.equal(tags.status, 200);
    assert.deepEqual(await tags.json(), { name: 'safe/repo', tags: ['latest'] });
    const catalog = await rawRequest(url, { path: `/v2/_catalog?last=..%2F..` });
    assert.equal(catalog.status, 200);
    const referrers = await rawRequest(url, { path: `/v2/safe/repo/referrers/${someDigest}?artifactType=..%2F..%2F${marker}` });
    assert.equal(referrers.status, 200);
    assert.deepEqual(await listTree(registry.root), treeBefore);
    await assertNothingEscaped();
  });

  test('a mount from a traversing name falls back to a session inside the target repository only', async () => {
    const response = await rawRequest(url, {
      method: 'POST',
      path: `/v2/safe/repo/blobs/uploads/?mount=${someDigest}&from=..%2F..%2F..%2F${marker}`,
    });
    assert.equal(response.status, 202);
    const location = response.headers.get('location')!;
    const id = location.split('/').at(-1)!;
    const added = (await listTree(registry.root)).filter((path) => !treeBefore.includes(path));
    const uploads = 'docker/registry/v2/repositories/safe/repo/_uploads';
    assert.deepEqual(added, [`${uploads}/${id}/`, `${uploads}/${id}/data`, `${uploads}/${id}/startedat`]);
    assert.equal((await fetch(new URL(location, url), { method: 'DELETE' })).status, 204);
    assert.deepEqual(await listTree(registry.root), treeBefore);
    await assertNothingEscaped();
  });
});
