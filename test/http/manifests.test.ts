import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectError, fetchBody, rawRequest } from '../helpers/http.js';
import {
  descriptorOf,
  digestOf,
  emptyContent,
  emptyDescriptor,
  imageManifest,
  manifestBytes,
  mediaTypes,
  pushBlob,
  pushImage,
  pushManifest,
  putManifest,
  uniqueBytes,
  type Descriptor,
} from '../helpers/push.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

const maxManifestBytes = 4 * 1024 * 1024;

describe('manifests', { timeout: 60_000 }, () => {
  let registry: TestRegistry;
  let url: string;
  /** A config and a layer pushed to `m/img`, for manifests of that repository. */
  let config: Descriptor;
  let layer: Descriptor;

  before(async () => {
    registry = await startTestRegistry();
    url = registry.url;
    config = await pushBlob(url, 'm/img', JSON.stringify({ architecture: 'amd64', os: 'linux' }), mediaTypes.ociConfig);
    layer = await pushBlob(url, 'm/img', uniqueBytes(2048), mediaTypes.ociLayer);
  });
  after(async () => {
    await registry.close();
  });

  /** GETs a manifest and asserts the answer carries exactly these bytes with their type and digest. */
  async function assertServed(name: string, reference: string, bytes: Buffer, mediaType: string): Promise<void> {
    const digest = digestOf(bytes, reference.startsWith('sha512:') ? 'sha512' : 'sha256');
    const response = await fetch(`${url}/v2/${name}/manifests/${reference}`, { headers: { Accept: mediaType } });
    assert.equal(response.status, 200, `GET ${name}:${reference}`);
    assert.equal(response.headers.get('content-type'), mediaType);
    assert.equal(response.headers.get('docker-content-digest'), digest);
    assert.equal(response.headers.get('etag'), `"${digest}"`);
    assert.equal(response.headers.get('content-length'), String(bytes.length));
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), bytes);
  }

  /** Asserts a 201 answer to a manifest PUT. */
  function assertCreated(response: Response, name: string, digest: string): void {
    assert.equal(response.status, 201);
    assert.equal(response.headers.get('location'), `/v2/${name}/manifests/${digest}`);
    assert.equal(response.headers.get('docker-content-digest'), digest);
    assert.equal(response.headers.get('docker-distribution-api-version'), 'registry/2.0');
  }

  describe('pushing each kind of manifest', () => {
    test('an OCI image manifest: 201 with Location and digest, then served by tag and by digest', async () => {
      const bytes = manifestBytes(imageManifest(config, [layer]));
      const digest = digestOf(bytes);
      const response = await putManifest(url, 'm/img', 'v1', bytes);
      assertCreated(response, 'm/img', digest);
      assert.equal(response.headers.get('oci-subject'), null);
      assert.equal(await response.text(), '');
      await assertServed('m/img', 'v1', bytes, mediaTypes.ociManifest);
      await assertServed('m/img', digest, bytes, mediaTypes.ociManifest);
    });

    test('the exact bytes come back, odd whitespace, key order and escapes included', async () => {
      const text =
        '{\n\t"schemaVersion" :2 ,   "layers":[ {"size":' +
        layer.size +
        ',"digest":"' +
        layer.digest +
        '","mediaType":"' +
        layer.mediaType +
        '"}],\r\n"mediaType": "application/vnd.oci.image.manifest.v1+json",\n  "config": {"mediaType":"' +
        config.mediaType +
        '", "digest":"' +
        config.digest +
        '", "size":' +
        config.size +
        '},"annotations":{"note":"caf\\u00e9 ☕ \\"quoted\\""}  }\n\n';
      const bytes = Buffer.from(text);
      const { digest } = await pushManifest(url, 'm/img', 'odd', bytes);
      await assertServed('m/img', 'odd', bytes, mediaTypes.ociManifest);
      await assertServed('m/img', digest, bytes, mediaTypes.ociManifest);
    });

    test('an OCI index of image manifests', async () => {
      const amd = await pushImage(url, 'm/index');
      const arm = await pushImage(url, 'm/index');
      const index = {
        schemaVersion: 2,
        mediaType: mediaTypes.ociIndex,
        manifests: [
          { mediaType: amd.mediaType, digest: amd.digest, size: amd.size, platform: { architecture: 'amd64', os: 'linux' } },
          { mediaType: arm.mediaType, digest: arm.digest, size: arm.size, platform: { architecture: 'arm64', os: 'linux' } },
        ],
      };
      const bytes = manifestBytes(index);
      assertCreated(await putManifest(url, 'm/index', 'multi', bytes), 'm/index', digestOf(bytes));
      await assertServed('m/index', 'multi', bytes, mediaTypes.ociIndex);
    });

    test('a Docker schema 2 manifest', async () => {
      const dockerConfig = await pushBlob(url, 'm/docker', JSON.stringify({ os: 'linux', rootfs: {} }), mediaTypes.dockerConfig);
      const dockerLayer = await pushBlob(url, 'm/docker', uniqueBytes(), mediaTypes.dockerLayer);
      const manifest = { schemaVersion: 2, mediaType: mediaTypes.dockerManifest, config: dockerConfig, layers: [dockerLayer] };
      const bytes = Buffer.from(JSON.stringify(manifest, null, 3));
      assertCreated(await putManifest(url, 'm/docker', 'v2', bytes), 'm/docker', digestOf(bytes));
      await assertServed('m/docker', 'v2', bytes, mediaTypes.dockerManifest);
    });

    test('a Docker manifest list of schema 2 manifests', async () => {
      const children: Descriptor[] = [];
      for (const architecture of ['amd64', 'arm64']) {
        const childConfig = await pushBlob(url, 'm/docker-list', JSON.stringify({ architecture }), mediaTypes.dockerConfig);
        const childLayer = await pushBlob(url, 'm/docker-list', uniqueBytes(), mediaTypes.dockerLayer);
        const child = { schemaVersion: 2, mediaType: mediaTypes.dockerManifest, config: childConfig, layers: [childLayer] };
        const pushed = await pushManifest(url, 'm/docker-list', digestOf(manifestBytes(child)), child);
        children.push({ mediaType: mediaTypes.dockerManifest, digest: pushed.digest, size: pushed.size });
      }
      const list = {
        schemaVersion: 2,
        mediaType: mediaTypes.dockerManifestList,
        manifests: children.map((child, i) => ({ ...child, platform: { architecture: ['amd64', 'arm64'][i], os: 'linux' } })),
      };
      const bytes = manifestBytes(list);
      assertCreated(await putManifest(url, 'm/docker-list', 'latest', bytes), 'm/docker-list', digestOf(bytes));
      await assertServed('m/docker-list', 'latest', bytes, mediaTypes.dockerManifestList);
    });

    test('an artifact with artifactType and the OCI empty config', async () => {
      const empty = await pushBlob(url, 'm/artifact', emptyContent, mediaTypes.ociEmpty);
      assert.deepEqual(empty, emptyDescriptor);
      assert.equal(empty.digest, 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
      assert.equal(empty.size, 2);
      const payload = await pushBlob(url, 'm/artifact', 'artifact payload', 'application/vnd.example.payload.v1');
      const manifest = {
        schemaVersion: 2,
        mediaType: mediaTypes.ociManifest,
        artifactType: 'application/vnd.example.thing.v1',
        config: emptyDescriptor,
        layers: [payload],
        annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
      };
      const bytes = manifestBytes(manifest);
      assertCreated(await putManifest(url, 'm/artifact', 'thing', bytes), 'm/artifact', digestOf(bytes));
      await assertServed('m/artifact', 'thing', bytes, mediaTypes.ociManifest);
    });

    test('an artifact with only the empty descriptor as config and layer', async () => {
      await pushBlob(url, 'm/artifact-empty', emptyContent, mediaTypes.ociEmpty);
      const manifest = {
        schemaVersion: 2,
        mediaType: mediaTypes.ociManifest,
        artifactType: 'application/vnd.example.marker.v1',
        config: emptyDescriptor,
        layers: [emptyDescriptor],
      };
      const bytes = manifestBytes(manifest);
      assertCreated(await putManifest(url, 'm/artifact-empty', digestOf(bytes), bytes), 'm/artifact-empty', digestOf(bytes));
      await assertServed('m/artifact-empty', digestOf(bytes), bytes, mediaTypes.ociManifest);
    });

    test('an artifact with a custom config media type', async () => {
      const pushed = await pushImage(url, 'm/custom', 'helm', {
        config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', content: '{"name":"chart","version":"1.0.0"}' },
        layers: [uniqueBytes(300)],
      });
      await assertServed('m/custom', 'helm', pushed.bytes, mediaTypes.ociManifest);
    });

    test('a manifest without a mediaType field takes the type from Content-Type', async () => {
      const bytes = manifestBytes({ schemaVersion: 2, config, layers: [layer] });
      assertCreated(await putManifest(url, 'm/img', 'no-field', bytes, mediaTypes.ociManifest), 'm/img', digestOf(bytes));
      await assertServed('m/img', 'no-field', bytes, mediaTypes.ociManifest);
    });

    test('parameters on Content-Type are ignored', async () => {
      const bytes = manifestBytes(imageManifest(config, [layer], { annotations: { params: 'yes' } }));
      const response = await putManifest(url, 'm/img', 'params', bytes, `${mediaTypes.ociManifest}; charset=utf-8`);
      assertCreated(response, 'm/img', digestOf(bytes));
      await assertServed('m/img', 'params', bytes, mediaTypes.ociManifest);
    });

    test('foreign layers with urls need not be in the repository', async () => {
      const foreign = {
        mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
        digest: digestOf('not here'),
        size: 8,
        urls: ['https://example.invalid/layer'],
      };
      const bytes = manifestBytes(imageManifest(config, [foreign, layer]));
      assertCreated(await putManifest(url, 'm/img', 'foreign', bytes), 'm/img', digestOf(bytes));
    });

    test('a manifest pushed by a sha512 digest is stored and served under it', async () => {
      const bytes = manifestBytes(imageManifest(config, [layer], { annotations: { algorithm: 'sha512' } }));
      const digest = digestOf(bytes, 'sha512');
      assertCreated(await putManifest(url, 'm/img', digest, bytes), 'm/img', digest);
      await assertServed('m/img', digest, bytes, mediaTypes.ociManifest);
    });

    test('pushing the same manifest again is fine, and a tag moves to the newest push', async () => {
      const first = manifestBytes(imageManifest(config, [layer], { annotations: { n: '1' } }));
      const second = manifestBytes(imageManifest(config, [layer], { annotations: { n: '2' } }));
      await pushManifest(url, 'm/img', 'moving', first);
      await pushManifest(url, 'm/img', 'moving', first);
      await assertServed('m/img', 'moving', first, mediaTypes.ociManifest);
      await pushManifest(url, 'm/img', 'moving', second);
      await assertServed('m/img', 'moving', second, mediaTypes.ociManifest);
      await assertServed('m/img', digestOf(first), first, mediaTypes.ociManifest);
    });

    test('a manifest is readable through the blob endpoint too', async () => {
      const pushed = await pushImage(url, 'm/as-blob', 'x');
      const response = await fetch(`${url}/v2/m/as-blob/blobs/${pushed.digest}`);
      assert.equal(response.status, 200);
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), pushed.bytes);
    });
  });

  describe('reading', () => {
    let pushed: Awaited<ReturnType<typeof pushImage>>;
    before(async () => {
      pushed = await pushImage(url, 'm/read', 'tagged');
    });

    test('HEAD answers Content-Length, type and digest, with no body', async () => {
      for (const reference of ['tagged', pushed.digest]) {
        const response = await fetch(`${url}/v2/m/read/manifests/${reference}`, { method: 'HEAD' });
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('content-length'), String(pushed.size));
        assert.equal(response.headers.get('content-type'), mediaTypes.ociManifest);
        assert.equal(response.headers.get('docker-content-digest'), pushed.digest);
        assert.equal(response.headers.get('etag'), `"${pushed.digest}"`);
        assert.equal(await response.text(), '');
      }
    });

    test('If-None-Match with the ETag answers 304, by tag and by digest, GET and HEAD', async () => {
      for (const reference of ['tagged', pushed.digest]) {
        for (const method of ['GET', 'HEAD']) {
          const response = await fetch(`${url}/v2/m/read/manifests/${reference}`, {
            method,
            headers: { 'If-None-Match': `"${pushed.digest}"` },
          });
          assert.equal(response.status, 304, `${method} ${reference}`);
          assert.equal(response.headers.get('content-length'), null);
          assert.equal(response.headers.get('docker-content-digest'), pushed.digest);
          assert.equal(response.headers.get('etag'), `"${pushed.digest}"`);
          assert.equal(await response.text(), '');
        }
      }
      const stale = await fetch(`${url}/v2/m/read/manifests/tagged`, { headers: { 'If-None-Match': `"${digestOf('old')}"` } });
      assert.equal(stale.status, 200);
      assert.deepEqual(Buffer.from(await stale.arrayBuffer()), pushed.bytes);
    });

    test('an unknown tag or digest is 404 MANIFEST_UNKNOWN', async () => {
      const entry = await expectError(await fetch(`${url}/v2/m/read/manifests/missing`), 404, 'MANIFEST_UNKNOWN');
      assert.deepEqual(entry!.detail, { tag: 'missing' });
      await expectError(await fetch(`${url}/v2/m/read/manifests/${digestOf('x')}`), 404, 'MANIFEST_UNKNOWN');
      await expectError(await fetch(`${url}/v2/m/read/manifests/missing`, { method: 'HEAD' }), 404, 'MANIFEST_UNKNOWN', { head: true });
      // A blob of the repository is not a manifest.
      const config = JSON.parse(pushed.bytes.toString()) as { config: Descriptor };
      await expectError(await fetch(`${url}/v2/m/read/manifests/${config.config.digest}`), 404, 'MANIFEST_UNKNOWN');
    });

    test('a manifest of another repository is not visible here', async () => {
      await expectError(await fetch(`${url}/v2/m/img/manifests/${pushed.digest}`), 404, 'MANIFEST_UNKNOWN');
    });

    test('an unknown repository is 404 NAME_UNKNOWN', async () => {
      const entry = await expectError(await fetch(`${url}/v2/m/no-such-repo/manifests/latest`), 404, 'NAME_UNKNOWN');
      assert.deepEqual(entry!.detail, { name: 'm/no-such-repo' });
      await expectError(await fetch(`${url}/v2/m/no-such-repo/manifests/${pushed.digest}`), 404, 'NAME_UNKNOWN');
    });
  });

  describe('refused manifests', () => {
    test('a missing config, layer or child is 400 MANIFEST_BLOB_UNKNOWN, and nothing is stored', async () => {
      const missing = descriptorOf(mediaTypes.ociLayer, 'not pushed');
      const cases: [string, object][] = [
        ['config', imageManifest({ ...missing, mediaType: mediaTypes.ociConfig }, [layer])],
        ['layer', imageManifest(config, [layer, missing])],
        [
          'child',
          { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [{ mediaType: mediaTypes.ociManifest, digest: missing.digest, size: 10 }] },
        ],
      ];
      for (const [what, manifest] of cases) {
        const bytes = manifestBytes(manifest);
        const entry = await expectError(await putManifest(url, 'm/img', `bad-${what}`, bytes), 400, 'MANIFEST_BLOB_UNKNOWN');
        assert.deepEqual(entry!.detail, { digest: missing.digest }, what);
        await expectError(await fetch(`${url}/v2/m/img/manifests/bad-${what}`), 404, 'MANIFEST_UNKNOWN');
        await expectError(await fetch(`${url}/v2/m/img/manifests/${digestOf(bytes)}`), 404, 'MANIFEST_UNKNOWN');
      }
    });

    test('blobs and child manifests must be in this repository, not only in another', async () => {
      const elsewhere = await pushImage(url, 'm/elsewhere');
      const foreignConfig = await pushBlob(url, 'm/elsewhere', '{"x":1}', mediaTypes.ociConfig);
      await expectError(await putManifest(url, 'm/img', 'cross', imageManifest(foreignConfig, [layer])), 400, 'MANIFEST_BLOB_UNKNOWN');
      const index = { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [{ mediaType: elsewhere.mediaType, digest: elsewhere.digest, size: elsewhere.size }] };
      await expectError(await putManifest(url, 'm/img', 'cross-index', index), 400, 'MANIFEST_BLOB_UNKNOWN');
    });

    test('a descriptor whose size disagrees with the blob is 400 MANIFEST_INVALID', async () => {
      const manifest = imageManifest(config, [{ ...layer, size: layer.size + 1 }]);
      await expectError(await putManifest(url, 'm/img', 'wrong-size', manifest), 400, 'MANIFEST_INVALID');
    });

    test('PUT by digest with a body of another digest is 400 DIGEST_INVALID', async () => {
      const bytes = manifestBytes(imageManifest(config, [layer], { annotations: { mismatch: 'yes' } }));
      const claimed = digestOf('other bytes');
      const entry = await expectError(await putManifest(url, 'm/img', claimed, bytes), 400, 'DIGEST_INVALID');
      assert.deepEqual(entry!.detail, { expected: claimed, actual: digestOf(bytes) });
      await expectError(await fetch(`${url}/v2/m/img/manifests/${claimed}`), 404, 'MANIFEST_UNKNOWN');
      await expectError(await fetch(`${url}/v2/m/img/manifests/${digestOf(bytes)}`), 404, 'MANIFEST_UNKNOWN');
    });

    test('a manifest of exactly 4 MiB is taken; one byte more is 413', async () => {
      const base = manifestBytes(imageManifest(config, [layer]));
      const padded = Buffer.concat([base, Buffer.alloc(maxManifestBytes - base.length, 0x20)]);
      assert.equal(padded.length, maxManifestBytes);
      assertCreated(await putManifest(url, 'm/img', 'four-mib', padded), 'm/img', digestOf(padded));
      const over = Buffer.concat([padded, Buffer.from(' ')]);
      const entry = await expectError(await putManifest(url, 'm/img', 'too-big', over), 413, 'MANIFEST_INVALID');
      assert.deepEqual(entry!.detail, { limit: maxManifestBytes });
      await expectError(await fetch(`${url}/v2/m/img/manifests/too-big`), 404, 'MANIFEST_UNKNOWN');
    });

    test('an oversized manifest sent chunked, with no length, is 413 too', async () => {
      const piece = Buffer.alloc(1024 * 1024, 0x20);
      const response = await rawRequest(url, {
        method: 'PUT',
        path: '/v2/m/img/manifests/too-big-chunked',
        headers: { 'Content-Type': mediaTypes.ociManifest },
        body: [Buffer.from('{"schemaVersion":2'), piece, piece, piece, piece, piece],
      });
      await expectError(response, 413, 'MANIFEST_INVALID');
    });

    test('schema 1 manifests are refused with 400 MANIFEST_INVALID naming schema 1', async () => {
      const schema1 = { schemaVersion: 1, name: 'm/img', tag: 'old', architecture: 'amd64', fsLayers: [], history: [] };
      const cases: [object, string | undefined][] = [
        [schema1, undefined],
        [schema1, 'application/json'],
        [schema1, 'application/vnd.docker.distribution.manifest.v1+json'],
        [schema1, 'application/vnd.docker.distribution.manifest.v1+prettyjws'],
        [imageManifest(config, [layer]), 'application/vnd.docker.distribution.manifest.v1+prettyjws'],
        [{ ...imageManifest(config, [layer]), mediaType: 'application/vnd.docker.distribution.manifest.v1+json' }, undefined],
      ];
      for (const [manifest, contentType] of cases) {
        const response = await putManifest(url, 'm/img', 'schema1', manifest, contentType);
        await expectError(response, 400, 'MANIFEST_INVALID', { message: /schema 1/ });
      }
    });

    test('bodies that are not manifests are 400 MANIFEST_INVALID', async () => {
      const bodies: (string | object)[] = [
        '{"schemaVersion": 2,',
        '',
        'null',
        '[1,2,3]',
        { schemaVersion: 3, mediaType: mediaTypes.ociManifest, config, layers: [] },
        { mediaType: mediaTypes.ociManifest, config, layers: [] },
        { schemaVersion: 2, mediaType: 'application/vnd.example.unknown+json', config, layers: [] },
        { schemaVersion: 2, mediaType: mediaTypes.ociManifest, layers: [layer] },
        { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config, layers: {} },
        { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: { ...config, digest: 'sha256:nothex' }, layers: [] },
        { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: { ...config, size: -1 }, layers: [] },
        { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: 'none' },
        { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config, layers: [], annotations: { a: 1 } },
      ];
      for (const body of bodies) {
        const response = await putManifest(url, 'm/img', 'invalid', body, mediaTypes.ociManifest);
        await expectError(response, 400, 'MANIFEST_INVALID');
      }
      await expectError(await fetch(`${url}/v2/m/img/manifests/invalid`), 404, 'MANIFEST_UNKNOWN');
    });

    test('a mediaType field that contradicts Content-Type is 400 MANIFEST_INVALID', async () => {
      const response = await putManifest(url, 'm/img', 'contradiction', imageManifest(config, [layer]), mediaTypes.ociIndex);
      await expectError(response, 400, 'MANIFEST_INVALID', { message: /does not match/ });
    });
  });

  describe('subject and tags on push', () => {
    test('a subject that does not exist is accepted and answered with OCI-Subject', async () => {
      await pushBlob(url, 'm/subject', emptyContent, mediaTypes.ociEmpty);
      const subject = { mediaType: mediaTypes.ociManifest, digest: digestOf('not pushed yet'), size: 123 };
      const manifest = { schemaVersion: 2, mediaType: mediaTypes.ociManifest, artifactType: 'application/vnd.example.sig', config: emptyDescriptor, layers: [emptyDescriptor], subject };
      const bytes = manifestBytes(manifest);
      const response = await putManifest(url, 'm/subject', digestOf(bytes), bytes);
      assertCreated(response, 'm/subject', digestOf(bytes));
      assert.equal(response.headers.get('oci-subject'), subject.digest);
      await assertServed('m/subject', digestOf(bytes), bytes, mediaTypes.ociManifest);
    });

    test('PUT by digest with ?tag=a&tag=b creates both tags and answers OCI-Tag', async () => {
      const pushed = manifestBytes(imageManifest(config, [layer], { annotations: { tags: 'many' } }));
      const digest = digestOf(pushed);
      const response = await fetch(`${url}/v2/m/img/manifests/${digest}?tag=a&tag=b`, {
        method: 'PUT',
        headers: { 'Content-Type': mediaTypes.ociManifest },
        body: fetchBody(pushed),
      });
      assertCreated(response, 'm/img', digest);
      assert.equal(response.headers.get('oci-tag'), 'a, b');
      await assertServed('m/img', 'a', pushed, mediaTypes.ociManifest);
      await assertServed('m/img', 'b', pushed, mediaTypes.ociManifest);
      const tags = (await (await fetch(`${url}/v2/m/img/tags/list`)).json()) as { tags: string[] };
      assert.ok(tags.tags.includes('a') && tags.tags.includes('b'));
    });

    test('an invalid ?tag= is 400 TAG_INVALID and stores nothing', async () => {
      const bytes = manifestBytes(imageManifest(config, [layer], { annotations: { tags: 'bad' } }));
      const digest = digestOf(bytes);
      for (const tag of ['..', '-x', 'a/b', 'x'.repeat(129)]) {
        const response = await fetch(`${url}/v2/m/img/manifests/${digest}?tag=ok&tag=${encodeURIComponent(tag)}`, {
          method: 'PUT',
          headers: { 'Content-Type': mediaTypes.ociManifest },
          body: fetchBody(bytes),
        });
        await expectError(response, 400, 'TAG_INVALID');
      }
      await expectError(await fetch(`${url}/v2/m/img/manifests/${digest}`), 404, 'MANIFEST_UNKNOWN');
      await expectError(await fetch(`${url}/v2/m/img/manifests/ok`), 404, 'MANIFEST_UNKNOWN');
    });
  });

  describe('deleting', () => {
    test('DELETE by digest answers 202 and removes the revision and every tag on it', async () => {
      const doomed = await pushImage(url, 'm/delete', 'one');
      await pushManifest(url, 'm/delete', 'two', doomed.bytes);
      const kept = await pushImage(url, 'm/delete', 'kept');
      const response = await fetch(`${url}/v2/m/delete/manifests/${doomed.digest}`, { method: 'DELETE' });
      assert.equal(response.status, 202);
      assert.equal(response.headers.get('docker-distribution-api-version'), 'registry/2.0');
      await expectError(await fetch(`${url}/v2/m/delete/manifests/${doomed.digest}`), 404, 'MANIFEST_UNKNOWN');
      await expectError(await fetch(`${url}/v2/m/delete/manifests/one`), 404, 'MANIFEST_UNKNOWN');
      await expectError(await fetch(`${url}/v2/m/delete/manifests/two`), 404, 'MANIFEST_UNKNOWN');
      await assertServed('m/delete', 'kept', kept.bytes, mediaTypes.ociManifest);
      const tags = await fetch(`${url}/v2/m/delete/tags/list`);
      assert.deepEqual(await tags.json(), { name: 'm/delete', tags: ['kept'] });
      await expectError(await fetch(`${url}/v2/m/delete/manifests/${doomed.digest}`, { method: 'DELETE' }), 404, 'MANIFEST_UNKNOWN');
    });

    test('DELETE by tag answers 202 and removes only the tag', async () => {
      const image = await pushImage(url, 'm/untag', 'first');
      await pushManifest(url, 'm/untag', 'second', image.bytes);
      const response = await fetch(`${url}/v2/m/untag/manifests/first`, { method: 'DELETE' });
      assert.equal(response.status, 202);
      await expectError(await fetch(`${url}/v2/m/untag/manifests/first`), 404, 'MANIFEST_UNKNOWN');
      await assertServed('m/untag', image.digest, image.bytes, mediaTypes.ociManifest);
      await assertServed('m/untag', 'second', image.bytes, mediaTypes.ociManifest);
      assert.deepEqual(await (await fetch(`${url}/v2/m/untag/tags/list`)).json(), { name: 'm/untag', tags: ['second'] });
      await expectError(await fetch(`${url}/v2/m/untag/manifests/first`, { method: 'DELETE' }), 404, 'MANIFEST_UNKNOWN');
    });

    test('DELETE in an unknown repository is 404', async () => {
      await expectError(await fetch(`${url}/v2/m/nowhere/manifests/${digestOf('x')}`, { method: 'DELETE' }), 404, 'NAME_UNKNOWN');
      await expectError(await fetch(`${url}/v2/m/nowhere/manifests/latest`, { method: 'DELETE' }), 404, 'MANIFEST_UNKNOWN');
    });
  });
});

describe('manifests with deletes disabled', { timeout: 30_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startTestRegistry({ deleteEnabled: false });
  });
  after(async () => {
    await registry.close();
  });

  test('DELETE by tag or digest answers 405 UNSUPPORTED and changes nothing', async () => {
    const image = await pushImage(registry.url, 'keep', 'latest');
    for (const reference of ['latest', image.digest]) {
      const response = await fetch(`${registry.url}/v2/keep/manifests/${reference}`, { method: 'DELETE' });
      await expectError(response, 405, 'UNSUPPORTED');
      assert.equal((await fetch(`${registry.url}/v2/keep/manifests/${reference}`, { method: 'HEAD' })).status, 200);
    }
  });
});
