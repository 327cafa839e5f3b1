import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { expectError } from '../helpers/http.js';
import { pushBlob, pushImage, pushManifest, startUpload, uniqueBytes } from '../helpers/push.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

/** The target of a `Link: <target>; rel="next"` header, or undefined when there is none. */
function nextLink(response: Response): string | undefined {
  const link = response.headers.get('link');
  if (link === null) return undefined;
  const match = /^<([^>]+)>;\s*rel="next"$/.exec(link);
  assert.ok(match, `malformed Link header ${link}`);
  return match[1];
}

/** Follows `Link` from `first` to the end and returns every page's entries, asserting no page is empty. */
async function walkPages(base: string, first: string, key: 'tags' | 'repositories'): Promise<string[][]> {
  const pages: string[][] = [];
  let next: string | undefined = first;
  while (next !== undefined) {
    assert.ok(pages.length < 100, 'pagination does not end');
    const response: Response = await fetch(new URL(next, base));
    assert.equal(response.status, 200);
    const body = (await response.json()) as Record<string, string[]>;
    assert.ok(body[key]!.length > 0, `empty page at ${next}`);
    pages.push(body[key]!);
    next = nextLink(response);
  }
  return pages;
}

describe('tags list', { timeout: 60_000 }, () => {
  let registry: TestRegistry;
  let url: string;
  const tags = ['b', 'a', 'C', '1.0', '_under', 'A', 'latest', 'v1.2.3', 'Z', 'z', '10', '9', 'a-b', 'a.b', 'a_b'];
  const sorted = [...tags].sort();

  before(async () => {
    registry = await startTestRegistry();
    url = registry.url;
    const image = await pushImage(url, 't/list', tags[0]);
    for (const tag of tags.slice(1)) await pushManifest(url, 't/list', tag, image.bytes);
  });
  after(async () => {
    await registry.close();
  });

  test('every tag, in code-point order, with no Link', async () => {
    assert.deepEqual(sorted.slice(0, 6), ['1.0', '10', '9', 'A', 'C', 'Z']);
    const response = await fetch(`${url}/v2/t/list/tags/list`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json');
    assert.equal(response.headers.get('link'), null);
    assert.deepEqual(await response.json(), { name: 't/list', tags: sorted });
  });

  test('n gives the first n tags and a Link to the next page', async () => {
    const response = await fetch(`${url}/v2/t/list/tags/list?n=4`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { name: 't/list', tags: sorted.slice(0, 4) });
    assert.equal(response.headers.get('link'), `</v2/t/list/tags/list?last=${sorted[3]}&n=4>; rel="next"`);
  });

  test('following Link walks every tag exactly once, in order', async () => {
    for (const n of [1, 4, 7, 14]) {
      const pages = await walkPages(url, `/v2/t/list/tags/list?n=${n}`, 'tags');
      assert.deepEqual(pages.flat(), sorted, `n=${n}`);
      for (const page of pages.slice(0, -1)) assert.equal(page.length, n);
    }
  });

  test('last gives the tags after it, with or without n', async () => {
    const after = await fetch(`${url}/v2/t/list/tags/list?last=a`);
    assert.deepEqual(await after.json(), { name: 't/list', tags: sorted.slice(sorted.indexOf('a') + 1) });
    assert.equal(after.headers.get('link'), null);
    const page = await fetch(`${url}/v2/t/list/tags/list?n=2&last=Z`);
    assert.deepEqual(await page.json(), { name: 't/list', tags: ['_under', 'a'] });
    // `last` need not be a tag of the repository: the list goes on from where it would be.
    const between = await fetch(`${url}/v2/t/list/tags/list?n=2&last=b0`);
    assert.deepEqual(await between.json(), { name: 't/list', tags: ['latest', 'v1.2.3'] });
    const end = await fetch(`${url}/v2/t/list/tags/list?last=z`);
    assert.deepEqual(await end.json(), { name: 't/list', tags: [] });
  });

  test('n at or above the number of tags gives them all with no Link', async () => {
    for (const n of [tags.length, tags.length + 1, 100_000]) {
      const response = await fetch(`${url}/v2/t/list/tags/list?n=${n}`);
      assert.deepEqual(await response.json(), { name: 't/list', tags: sorted });
      assert.equal(response.headers.get('link'), null, `n=${n}`);
    }
  });

  test('n=0 gives an empty list and no Link', async () => {
    const response = await fetch(`${url}/v2/t/list/tags/list?n=0`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { name: 't/list', tags: [] });
    assert.equal(response.headers.get('link'), null);
  });

  test('an invalid n is 400 PAGINATION_NUMBER_INVALID', async () => {
    for (const n of ['-1', 'abc', '1.5', '1e3', '0x10']) {
      const response = await fetch(`${url}/v2/t/list/tags/list?n=${encodeURIComponent(n)}`);
      const entry = await expectError(response, 400, 'PAGINATION_NUMBER_INVALID');
      assert.deepEqual(entry!.detail, { n });
    }
  });

  test('an unknown repository is 404 NAME_UNKNOWN', async () => {
    const entry = await expectError(await fetch(`${url}/v2/t/unknown/tags/list`), 404, 'NAME_UNKNOWN');
    assert.deepEqual(entry!.detail, { name: 't/unknown' });
  });

  test('a repository with only an upload in progress is still unknown (404 NAME_UNKNOWN), as in the catalog', async () => {
    await startUpload(url, 't/only-upload');
    await expectError(await fetch(`${url}/v2/t/only-upload/tags/list`), 404, 'NAME_UNKNOWN');
    await expectError(await fetch(`${url}/v2/t/only-upload/manifests/latest`), 404, 'NAME_UNKNOWN');
  });

  test('a repository with blobs and no tags has an empty list', async () => {
    await pushBlob(url, 't/untagged', uniqueBytes());
    assert.deepEqual(await (await fetch(`${url}/v2/t/untagged/tags/list`)).json(), { name: 't/untagged', tags: [] });
  });
});

describe('catalog', { timeout: 60_000 }, () => {
  let registry: TestRegistry;
  let url: string;
  const names = ['a', 'a/b', 'a/b/c', 'b', 'a-b', 'a.b', 'a_b', 'z/y', 'x/deep/er/still', 'a0', 'm'];
  const sorted = [...names].sort();

  before(async () => {
    registry = await startTestRegistry();
    url = registry.url;
    for (const [i, name] of names.entries()) {
      // Some with a manifest, some with blobs only: both are repositories.
      if (i % 2 === 0) await pushImage(url, name, 'latest');
      else await pushBlob(url, name, uniqueBytes());
    }
    // A session alone, with no content yet, does not make a repository.
    await startUpload(url, 'uploads/only');
  });
  after(async () => {
    await registry.close();
  });

  test('lists every repository once, nested names included, in code-point order', async () => {
    assert.deepEqual(sorted.slice(0, 6), ['a', 'a-b', 'a.b', 'a/b', 'a/b/c', 'a0']);
    const response = await fetch(`${url}/v2/_catalog`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json');
    assert.equal(response.headers.get('link'), null);
    assert.deepEqual(await response.json(), { repositories: sorted });
  });

  test('n gives a page and a Link to the next', async () => {
    const response = await fetch(`${url}/v2/_catalog?n=3`);
    assert.deepEqual(await response.json(), { repositories: sorted.slice(0, 3) });
    assert.equal(response.headers.get('link'), `</v2/_catalog?last=${encodeURIComponent(sorted[2]!)}&n=3>; rel="next"`);
  });

  test('following Link walks every name exactly once, in order', async () => {
    for (const n of [1, 2, 3, 5, 10]) {
      const pages = await walkPages(url, `/v2/_catalog?n=${n}`, 'repositories');
      const all = pages.flat();
      assert.deepEqual(all, sorted, `n=${n}`);
      assert.equal(new Set(all).size, all.length);
      for (const page of pages.slice(0, -1)) assert.equal(page.length, n);
    }
  });

  test('last gives the names after it', async () => {
    const response = await fetch(`${url}/v2/_catalog?last=a%2Fb`);
    assert.deepEqual(await response.json(), { repositories: sorted.slice(sorted.indexOf('a/b') + 1) });
  });

  test('n=0 gives an empty list and no Link', async () => {
    const response = await fetch(`${url}/v2/_catalog?n=0`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { repositories: [] });
    assert.equal(response.headers.get('link'), null);
  });

  test('an invalid n is 400 PAGINATION_NUMBER_INVALID', async () => {
    await expectError(await fetch(`${url}/v2/_catalog?n=-5`), 400, 'PAGINATION_NUMBER_INVALID');
    await expectError(await fetch(`${url}/v2/_catalog?n=ten`), 400, 'PAGINATION_NUMBER_INVALID');
  });
});

describe('Link and Location with http.host set', { timeout: 30_000 }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startTestRegistry({ host: 'https://registry.example.com/' });
  });
  after(async () => {
    await registry.close();
  });

  test('Link and Location are absolute on the configured host', async () => {
    const image = await pushImage(registry.url, 'abs/repo', 'one');
    await pushManifest(registry.url, 'abs/repo', 'two', image.bytes);
    const tags = await fetch(`${registry.url}/v2/abs/repo/tags/list?n=1`);
    assert.equal(tags.headers.get('link'), '<https://registry.example.com/v2/abs/repo/tags/list?last=one&n=1>; rel="next"');
    const catalog = await fetch(`${registry.url}/v2/_catalog?n=0`);
    assert.equal(catalog.headers.get('link'), null);
    const upload = await fetch(`${registry.url}/v2/abs/repo/blobs/uploads/`, { method: 'POST' });
    assert.match(upload.headers.get('location')!, /^https:\/\/registry\.example\.com\/v2\/abs\/repo\/blobs\/uploads\/[0-9a-f-]{36}$/);
  });
});
