import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { expectError, fetchBody, rawRequest } from '../helpers/http.js';
import { digestOf, imageManifest, manifestBytes, mediaTypes, pushBlob, pushImage, pushManifest, putManifest, startUpload, uniqueBytes } from '../helpers/push.js';
import { writeTestLayout } from '../helpers/image-layout.js';
import { httpsFetch } from '../helpers/tls-client.js';
import { createTestCa } from '../helpers/tls.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

/**
 * `limits` (and `catalog.maxentries`, `tags.maxtags`): each limit is met with a clear error in
 * the spec's format, nothing is stored by a refused request, and the registry keeps serving.
 * One registry runs with small limits, one with the defaults (which real clients never meet).
 */

/** The upload sessions left in a repository's storage. */
async function uploadSessions(registry: TestRegistry, name: string): Promise<string[]> {
  const dir = join(registry.root, 'docker/registry/v2/repositories', name, '_uploads');
  return await readdir(dir).catch(() => []);
}

/** Headers of about `bytes` bytes in all. */
function bulkyHeaders(bytes: number): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; bytes > 0; i++, bytes -= 1024) headers[`x-filler-${i}`] = 'f'.repeat(Math.min(1000, bytes));
  return headers;
}

function nextLink(response: Response): string | undefined {
  const link = response.headers.get('link');
  return link === null ? undefined : /^<([^>]+)>;\s*rel="next"$/.exec(link)?.[1];
}

describe('limits: small limits', { timeout: 120_000 }, () => {
  let registry: TestRegistry;
  let url: string;
  before(async () => {
    registry = await startTestRegistry({
      limits: { manifestBytes: 2048, tagsPerRepository: 3, uploadBytes: 1000, catalogPage: 3, tagsPage: 5 },
      maxTargetLength: 1024,
      listen: { maxHeaderSize: 8192 },
    });
    url = registry.url;
  });
  after(async () => await registry?.close());

  test('a manifest over limits.manifestsize is 413 MANIFEST_INVALID and stores nothing', async () => {
    const image = await pushImage(url, 'limits/manifest', 'small');
    const padded = { ...JSON.parse(image.bytes.toString()), annotations: { pad: 'p'.repeat(2100) } };
    const entry = await expectError(await putManifest(url, 'limits/manifest', 'big', padded), 413, 'MANIFEST_INVALID', {
      message: /larger than the limit of 2048 bytes/,
    });
    assert.deepEqual(entry!.detail, { limit: 2048 });
    await expectError(await fetch(`${url}/v2/limits/manifest/manifests/big`), 404, 'MANIFEST_UNKNOWN');
  });

  test('upload: a chunk whose Content-Length passes limits.uploadsize is refused before it is read', async () => {
    const location = await startUpload(url, 'limits/upload');
    const answer = await rawRequest(url, {
      method: 'PATCH',
      path: location.pathname + location.search,
      headers: { 'Content-Type': 'application/octet-stream' },
      body: uniqueBytes(1500),
    });
    const entry = await expectError(answer, 413, 'BLOB_UPLOAD_INVALID', { message: /limit of 1000 bytes \(limits\.uploadsize\)/ });
    assert.deepEqual(entry!.detail, { limit: 1000 });
    // The session is gone, in the API and in storage.
    await expectError(await fetch(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    assert.deepEqual(await uploadSessions(registry, 'limits/upload'), []);
  });

  test('upload: a chunked body with no length is counted as it streams and cut at the limit', async () => {
    const location = await startUpload(url, 'limits/stream');
    const pieces = [uniqueBytes(400), uniqueBytes(400), uniqueBytes(400), uniqueBytes(400)];
    const answer = await rawRequest(url, { method: 'PATCH', path: location.pathname + location.search, body: pieces });
    await expectError(answer, 413, 'BLOB_UPLOAD_INVALID', { message: /grew past the limit of 1000 bytes/ });
    await expectError(await fetch(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    assert.deepEqual(await uploadSessions(registry, 'limits/stream'), []);
  });

  test('upload: chunks that each fit but together pass the limit; the closing PUT and monolithic POST too', async () => {
    const location = await startUpload(url, 'limits/chunks');
    const first = await fetch(location, { method: 'PATCH', body: fetchBody(uniqueBytes(600)), headers: { 'Content-Range': '0-599' } });
    assert.equal(first.status, 202, await first.text());
    const second = await fetch(new URL(first.headers.get('location')!, url), {
      method: 'PATCH',
      body: fetchBody(uniqueBytes(600)),
      headers: { 'Content-Range': '600-1199' },
    });
    await expectError(second, 413, 'BLOB_UPLOAD_INVALID');
    await expectError(await fetch(location), 404, 'BLOB_UPLOAD_UNKNOWN');

    const content = uniqueBytes(1001);
    const put = await startUpload(url, 'limits/chunks');
    put.searchParams.set('digest', digestOf(content));
    await expectError(await fetch(put, { method: 'PUT', body: fetchBody(content) }), 413, 'BLOB_UPLOAD_INVALID');
    const post = await fetch(`${url}/v2/limits/chunks/blobs/uploads/?digest=${digestOf(content)}`, { method: 'POST', body: fetchBody(content) });
    await expectError(post, 413, 'BLOB_UPLOAD_INVALID');
    await expectError(await fetch(`${url}/v2/limits/chunks/blobs/${digestOf(content)}`, { method: 'GET' }), 404, 'BLOB_UNKNOWN');
    assert.deepEqual(await uploadSessions(registry, 'limits/chunks'), []);
  });

  test('upload: exactly limits.uploadsize bytes is accepted, and the server keeps serving after refusals', async () => {
    const content = uniqueBytes(1000);
    await pushBlob(url, 'limits/exact', content);
    const answer = await fetch(`${url}/v2/limits/exact/blobs/${digestOf(content)}`);
    assert.equal(answer.status, 200);
    assert.deepEqual(Buffer.from(await answer.arrayBuffer()), content);
  });

  test('tags: a push that adds a tag past limits.tags is 403 DENIED; existing tags may move', async () => {
    const name = 'limits/tags';
    const image = await pushImage(url, name, 'one');
    for (const tag of ['two', 'three']) await pushManifest(url, name, tag, image.bytes);
    const other = await pushImage(url, name);
    const entry = await expectError(await putManifest(url, name, 'four', other.bytes), 403, 'DENIED', {
      message: /has 3 tags; the limit is 3 \(limits\.tags\)/,
    });
    assert.deepEqual(entry!.detail, { name, tags: 3, limit: 3 });
    // Extra tags of a push by digest count too; the manifest itself is not stored then.
    const config = await pushBlob(url, name, JSON.stringify({ os: 'linux', third: true }), mediaTypes.ociConfig);
    const third = imageManifest(config, []);
    const thirdDigest = digestOf(manifestBytes(third));
    await expectError(await putManifest(url, name, `${thirdDigest}?tag=five&tag=six`, third), 403, 'DENIED');
    await expectError(await fetch(`${url}/v2/${name}/manifests/${thirdDigest}`), 404, 'MANIFEST_UNKNOWN');
    // Moving a tag it has is not adding one.
    await pushManifest(url, name, 'one', other.bytes);
    const tags = (await (await fetch(`${url}/v2/${name}/tags/list`)).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, ['one', 'three', 'two']);
    // Room made by a delete can be used.
    assert.equal((await fetch(`${url}/v2/${name}/manifests/two`, { method: 'DELETE' })).status, 202);
    await pushManifest(url, name, 'four', other.bytes);
  });

  test('a request head over limits.headersize is 431; one under it is served', async () => {
    const over = await rawRequest(url, { path: '/v2/', headers: bulkyHeaders(9000) });
    assert.equal(over.status, 431);
    const under = await rawRequest(url, { path: '/v2/', headers: bulkyHeaders(6000) });
    assert.equal(under.status, 200);
  });

  test('a request target over limits.pathlength is 414 NAME_INVALID; the name grammar caps names at 255', async () => {
    const long = `/v2/${'a/'.repeat(600)}a/tags/list`;
    const entry = await expectError(await rawRequest(url, { path: long }), 414, 'NAME_INVALID', { message: /limits\.pathlength/ });
    assert.deepEqual(entry!.detail, { length: long.length, limit: 1024 });
    const query = `/v2/_catalog?last=${'x'.repeat(1100)}`;
    await expectError(await rawRequest(url, { path: query }), 414, 'NAME_INVALID');
    // Under the target limit, a name of 256 characters is still refused by the grammar.
    await expectError(await fetch(`${url}/v2/${'n'.repeat(256)}/tags/list`), 400, 'NAME_INVALID');
    await expectError(await fetch(`${url}/v2/${'n'.repeat(255)}/tags/list`), 404, 'NAME_UNKNOWN');
  });
});

describe('limits: headersize over TLS', { timeout: 60_000 }, () => {
  test('HTTP/1.1 over TLS, with HTTP/2 on (its fallback) or off, honours limits.headersize', async () => {
    const ca = await createTestCa('Berth Limits CA');
    try {
      const server = await ca.serverCert();
      for (const http2 of [true, false]) {
        const registry = await startTestRegistry({ listen: { tls: { certificate: server.cert, key: server.key }, http2, maxHeaderSize: 8192 } });
        try {
          const ask = async (bytes: number) => (await httpsFetch(`${registry.url}/v2/`, { ca: ca.certPem, headers: bulkyHeaders(bytes) })).status;
          assert.equal(await ask(9000), 431, `http2 ${http2}`);
          assert.equal(await ask(6000), 200, `http2 ${http2}`);
        } finally {
          await registry.close();
        }
      }
    } finally {
      await ca.remove();
    }
  });
});

describe('limits: page sizes', { timeout: 120_000 }, () => {
  let registry: TestRegistry;
  let url: string;
  before(async () => {
    registry = await startTestRegistry({ limits: { catalogPage: 3, tagsPage: 5 } });
    url = registry.url;
  });
  after(async () => await registry?.close());

  /** Follows Link from `first`; every page but the last is full. */
  async function walk(first: string, key: 'tags' | 'repositories', full: number): Promise<string[]> {
    const seen: string[] = [];
    let next: string | undefined = first;
    for (let pages = 0; next !== undefined; pages++) {
      assert.ok(pages < 20, 'pagination ends');
      const page: Response = await fetch(new URL(next, url));
      assert.equal(page.status, 200);
      const entries = ((await page.json()) as Record<string, string[]>)[key]!;
      next = nextLink(page);
      assert.ok(entries.length > 0 && entries.length <= full, `page of ${entries.length}`);
      if (next !== undefined) assert.equal(entries.length, full, 'only the last page is short');
      seen.push(...entries);
    }
    return seen;
  }

  test('tags.maxtags caps a tags/list page, asked for or not, with a Link to the rest', async () => {
    const image = await pushImage(url, 'pages/tags');
    const tags = ['t1', 't2', 't3', 't4', 't5', 't6', 't7', 't8'];
    for (const tag of tags) await pushManifest(url, 'pages/tags', tag, image.bytes);
    const plain = await fetch(`${url}/v2/pages/tags/tags/list`);
    assert.deepEqual(((await plain.json()) as { tags: string[] }).tags, tags.slice(0, 5));
    assert.match(nextLink(plain) ?? '', /n=5/);
    assert.deepEqual(await walk('/v2/pages/tags/tags/list?n=100', 'tags', 5), tags);
    // A smaller n than the cap is honoured.
    assert.deepEqual(await walk('/v2/pages/tags/tags/list?n=3', 'tags', 3), tags);
  });

  test('catalog.maxentries is the page size without n and the most one page holds', async () => {
    const names = ['pages/a', 'pages/b', 'pages/c', 'pages/d', 'pages/e'];
    for (const name of names) await pushBlob(url, name, uniqueBytes(16));
    const all = await walk('/v2/_catalog', 'repositories', 3);
    assert.ok(names.every((name) => all.includes(name)));
    assert.deepEqual(all, [...all].sort());
    assert.deepEqual(await walk('/v2/_catalog?n=1000', 'repositories', 3), all);
    assert.deepEqual(await walk('/v2/_catalog?n=2', 'repositories', 2), all);
  });
});

describe('limits: defaults', { timeout: 120_000 }, () => {
  let registry: TestRegistry;
  let url: string;
  before(async () => {
    registry = await startTestRegistry();
    url = registry.url;
  });
  after(async () => await registry?.close());

  test('a 10,000-deep JSON body is 400 MANIFEST_INVALID, and so is deep nesting inside a valid manifest', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    await expectError(await putManifest(url, 'limits/deep', 'x', deep, 'application/vnd.oci.image.manifest.v1+json'), 400, 'MANIFEST_INVALID', {
      message: /deeper than 64 levels/,
    });
    const image = await pushImage(url, 'limits/deep', 'ok');
    let nested: unknown = 'x';
    for (let i = 0; i < 100; i++) nested = { n: nested };
    const manifest = { ...JSON.parse(image.bytes.toString()), extra: nested };
    await expectError(await putManifest(url, 'limits/deep', 'nested', manifest), 400, 'MANIFEST_INVALID');
    // The registry still serves.
    assert.equal((await fetch(`${url}/v2/limits/deep/manifests/ok`)).status, 200);
  });

  test('defaults: a 32 KiB head (twice Node’s default) is served, a 70 KiB one is 431', async () => {
    assert.equal((await rawRequest(url, { path: '/v2/', headers: bulkyHeaders(32 * 1024) })).status, 200);
    assert.equal((await rawRequest(url, { path: '/v2/', headers: bulkyHeaders(70 * 1024) })).status, 431);
  });

  test('defaults: a 4 KiB target is served, a 9 KiB one is 414; no upload or tag limit', async () => {
    const tags = Array.from({ length: 300 }, (_, i) => `tag=t${i}`).join('&');
    const image = await pushImage(url, 'limits/many');
    const manifestJson = JSON.parse(image.bytes.toString()) as object;
    const withTags = await putManifest(url, 'limits/many', `${image.digest}?${tags.slice(0, 3000)}`, manifestJson);
    assert.equal(withTags.status, 201, await withTags.text());
    await expectError(await rawRequest(url, { path: `/v2/limits/many/tags/list?last=${'x'.repeat(9 * 1024)}` }), 414, 'NAME_INVALID');
    const tagged = (await (await fetch(`${url}/v2/limits/many/tags/list`)).json()) as { tags: string[] };
    assert.ok(tagged.tags.length > 250, `${tagged.tags.length} tags`);
    await pushBlob(url, 'limits/many', uniqueBytes(2 * 1024 * 1024));
  });
});

describe('limits: a real client (skopeo)', { timeout: 120_000 }, () => {
  let work: string;
  let layout: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-limits-skopeo-'));
    layout = join(work, 'layout');
    // A layer of random bytes: gzip cannot shrink it under the small upload limit below.
    await writeTestLayout(layout, [[{ name: 'data.bin', content: uniqueBytes(64 * 1024) }], [{ name: 'etc/hello', content: 'hello' }]]);
  });
  after(async () => await rm(work, { recursive: true, force: true }));

  /** skopeo copy from the layout to the registry; its exit status and output. */
  async function copy(hostPort: string, target: string): Promise<{ ok: boolean; output: string }> {
    const args = ['copy', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${hostPort}/${target}`];
    try {
      const { stdout, stderr } = await promisify(execFile)('skopeo', args, { timeout: 60_000 });
      return { ok: true, output: stdout + stderr };
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string; message: string };
      return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}${failed.message}` };
    }
  }

  test('with the default limits skopeo pushes and reads back; an upload limit it passes is reported to it', async () => {
    const plain = await startTestRegistry();
    try {
      const pushed = await copy(plain.hostPort, 'limits/skopeo:v1');
      assert.ok(pushed.ok, pushed.output);
      const tags = (await (await fetch(`${plain.url}/v2/limits/skopeo/tags/list`)).json()) as { tags: string[] };
      assert.deepEqual(tags.tags, ['v1']);
    } finally {
      await plain.close();
    }
    const small = await startTestRegistry({ limits: { uploadBytes: 16 * 1024 } });
    try {
      const refused = await copy(small.hostPort, 'limits/skopeo:v1');
      assert.ok(!refused.ok, 'the push past limits.uploadsize fails');
      // skopeo shows the registry's message: `blob upload invalid: the upload would hold ... (limits.uploadsize)`.
      assert.match(refused.output, /blob upload invalid: .*limits\.uploadsize/);
      await expectError(await fetch(`${small.url}/v2/limits/skopeo/manifests/v1`), 404, 'MANIFEST_UNKNOWN');
    } finally {
      await small.close();
    }
  });
});
