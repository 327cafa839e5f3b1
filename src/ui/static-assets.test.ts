import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { rawRequest } from '../../test/helpers/http.js';
import { UiAssets } from './static-assets.js';

/** Serves `assets` alone, as server.ts does for paths under the prefix; other paths get 418. */
async function serveAssets(assets: UiAssets): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (!assets.serve(req, res, path)) res.writeHead(418).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** The policy design.md gives every UI file: nothing but this origin, no inline script, no framing. */
const expectedCsp =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
  "manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

describe('UI static assets', () => {
  /** A fresh parent holding the assets directory and a file beside it that must stay unreachable. */
  let parent: string;
  let dir: string;
  let url: string;
  let server: Server;
  const script = `console.log(${JSON.stringify('x'.repeat(4000))});\n`;

  before(async () => {
    parent = await mkdtemp(join(tmpdir(), 'berth-ui-assets-'));
    dir = join(parent, 'assets');
    await mkdir(dir);
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>Berth</title><script type="module" src="./app.js"></script>\n');
    await writeFile(join(dir, 'app.js'), script);
    await writeFile(join(dir, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    // A directory beside the files is not served, nor is anything outside the directory.
    await mkdir(join(dir, 'nested'));
    await writeFile(join(dir, 'nested', 'secret.txt'), 'secret');
    await writeFile(join(parent, 'berth-ui-outside.txt'), 'outside');
    ({ url, server } = await serveAssets(await UiAssets.load(dir)));
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(parent, { recursive: true, force: true });
  });

  test('/ui/ is the page, /ui/<file> a file, with the security headers and a content type', async () => {
    const page = await fetch(`${url}/ui/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(await page.text(), /<script type="module" src="\.\/app\.js">/);
    assert.equal(page.headers.get('content-security-policy'), expectedCsp);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.equal(page.headers.get('cache-control'), 'no-cache');

    const js = await fetch(`${url}/ui/app.js`);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(js.headers.get('content-security-policy'), expectedCsp, 'every file, not only the page');
    assert.equal(await js.text(), script);
    const png = await fetch(`${url}/ui/logo.png`);
    assert.equal(png.headers.get('content-type'), 'image/png');
  });

  test('/ui redirects to /ui/ relatively, so that a proxy path in front still holds', async () => {
    const answer = await fetch(`${url}/ui`, { redirect: 'manual' });
    assert.equal(answer.status, 301);
    assert.equal(answer.headers.get('location'), 'ui/');
  });

  test('paths that are not the UI are left to the API', async () => {
    for (const path of ['/', '/uix', '/v2/', '/berth/v1/ui/info']) {
      assert.equal((await fetch(`${url}${path}`)).status, 418, path);
    }
  });

  test('nothing but the flat files of the directory can be named', async () => {
    const paths = ['/ui/nested/secret.txt', '/ui/nested', '/ui/../berth-ui-outside.txt', '/ui/%2e%2e/berth-ui-outside.txt', '/ui/..%2fberth-ui-outside.txt', '/ui/missing.js', '/ui//app.js'];
    for (const path of paths) {
      const answer = await rawRequest(url, { method: 'GET', path });
      assert.equal(answer.status, 404, path);
      assert.doesNotMatch(await answer.text(), /secret|outside/, path);
    }
  });

  test('ETag revalidation answers 304; HEAD has no body; other methods get 405', async () => {
    const first = await fetch(`${url}/ui/app.js`);
    const etag = first.headers.get('etag');
    assert.ok(etag);
    const again = await fetch(`${url}/ui/app.js`, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
    const head = await fetch(`${url}/ui/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    const post = await fetch(`${url}/ui/`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  test('text is sent gzipped to a client that accepts it, and plain to one that does not', async () => {
    const gzipped = await rawRequest(url, { method: 'GET', path: '/ui/app.js', headers: { 'Accept-Encoding': 'gzip, br' } });
    assert.equal(gzipped.headers.get('content-encoding'), 'gzip');
    assert.equal(gzipped.headers.get('vary'), 'Accept-Encoding');
    const body = Buffer.from(await gzipped.arrayBuffer());
    assert.ok(body.length < script.length / 10, `compressed to ${body.length} bytes`);
    assert.equal(gunzipSync(body).toString(), script);
    const refused = await rawRequest(url, { method: 'GET', path: '/ui/app.js', headers: { 'Accept-Encoding': 'gzip;q=0' } });
    assert.equal(refused.headers.get('content-encoding'), null);
    assert.equal(await refused.text(), script);

    // Each encoding is its own representation with its own ETag: a cache holding the gzip bytes
    // cannot revalidate them as the plain ones, nor the other way round.
    const gzipTag = gzipped.headers.get('etag')!;
    const plainTag = refused.headers.get('etag')!;
    assert.notEqual(gzipTag, plainTag);
    const crossed = await rawRequest(url, { method: 'GET', path: '/ui/app.js', headers: { 'If-None-Match': gzipTag } });
    assert.equal(crossed.status, 200, 'the gzip ETag does not validate the plain bytes');
    const matched = await rawRequest(url, { method: 'GET', path: '/ui/app.js', headers: { 'If-None-Match': gzipTag, 'Accept-Encoding': 'gzip' } });
    assert.equal(matched.status, 304);
  });

  test('without a build the UI answers 503 naming the fix, and the API paths stay the API', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'berth-ui-unbuilt-'));
    const assets = await UiAssets.load(join(empty, 'missing'));
    assert.match(assets.missing ?? '', /npm run build/);
    const unbuilt = await serveAssets(assets);
    try {
      const answer = await fetch(`${unbuilt.url}/ui/`);
      assert.equal(answer.status, 503);
      assert.match(await answer.text(), /not built.*npm run build/);
      assert.equal((await fetch(`${unbuilt.url}/v2/`)).status, 418);
    } finally {
      await new Promise((resolve) => unbuilt.server.close(resolve));
      await rm(empty, { recursive: true, force: true });
    }
  });
});
