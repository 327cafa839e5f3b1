import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { proxySchema } from '../../src/config/sections/proxy.js';
import { digestBytes } from '../../src/protocol/digest.js';
import { PullThrough } from '../../src/proxy/pull-through.js';
import { upstreamsFromConfig } from '../../src/proxy/upstreams.js';
import { mapLimit } from '../../src/registry/map-limit.js';
import { repositoryUsage, storageUsage } from '../../src/registry/usage.js';
import type { Registry } from '../../src/registry/registry.js';
import { basic, bearer, fetchToken, pushImageAs, startAuthRegistry, testAccess, type AuthRegistry } from '../helpers/auth.js';
import {
  digestOf,
  emptyContent,
  emptyDescriptor,
  mediaTypes,
  pushBlob,
  pushImage,
  pushManifest,
  uniqueBytes,
  type Descriptor,
  type PushedManifest,
} from '../helpers/push.js';
import { repoRoot, startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';

/** The web UI's JSON API (src/ui/api) over HTTP: shapes, sizes from what was pushed, paging, access. */

interface Json {
  [key: string]: unknown;
}

async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Json; response: Response }> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  let body: Json = {};
  try {
    body = JSON.parse(text) as Json;
  } catch {
    assert.fail(`${url}: ${response.status} answer is not JSON: ${text}`);
  }
  return { status: response.status, body, response };
}

async function ok(url: string, headers: Record<string, string> = {}): Promise<Json> {
  const { status, body, response } = await getJson(url, headers);
  assert.equal(status, 200, `${url}: ${JSON.stringify(body)}`);
  assert.equal(response.headers.get('content-type'), 'application/json');
  return body;
}

/**
 * A push time (ISO) within [before, after] of the push. A second early is allowed: some file
 * systems keep modification times in whole seconds.
 */
function assertWithin(time: unknown, [before, after]: [number, number], what: string): void {
  assert.ok(typeof time === 'string', `${what}: ${String(time)}`);
  const at = Date.parse(time);
  assert.ok(at >= before - 1000 && at <= after, `${what}: ${time} not within ${new Date(before).toISOString()}..${new Date(after).toISOString()}`);
}

function errorCode(body: Json): unknown {
  return (body.errors as { code: string }[] | undefined)?.[0]?.code;
}

/** An image with a known config and layers; its total size is computed from what was pushed. */
async function pushKnownImage(
  base: string,
  name: string,
  reference: string | undefined,
  config: object,
  layerSizes: number[],
): Promise<PushedManifest & { total: number; config: Descriptor; layers: Descriptor[] }> {
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDescriptor = await pushBlob(base, name, configBytes, mediaTypes.ociConfig);
  const layers: Descriptor[] = [];
  for (const size of layerSizes) layers.push(await pushBlob(base, name, uniqueBytes(size), mediaTypes.ociLayer));
  const manifest = { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: configDescriptor, layers };
  const pushed = await pushManifest(base, name, reference ?? digestOf(JSON.stringify(manifest)), manifest);
  return { ...pushed, total: pushed.size + configDescriptor.size + layerSizes.reduce((a, b) => a + b, 0), config: configDescriptor, layers };
}

/** Stores one tagged image in each of `names`, in process (fast enough for hundreds of repositories). */
async function storeRepositories(registry: Registry, names: readonly string[]): Promise<void> {
  const config = Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64' }));
  const configDigest = digestBytes(config);
  await registry.blobs.putBytes(configDigest, config);
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: { mediaType: mediaTypes.ociConfig, digest: configDigest.text, size: config.length }, layers: [] }),
  );
  for (const name of names) {
    await registry.blobs.link(name, configDigest);
    await registry.manifests.put(name, { tag: 'v1' }, manifest);
  }
}

const uiPaths = (name: string, digest: string) => [
  '/berth/v1/ui/info',
  '/berth/v1/repositories',
  `/berth/v1/repositories/${name}/_summary`,
  `/berth/v1/repositories/${name}/_tags`,
  `/berth/v1/repositories/${name}/_images/${digest}`,
  `/berth/v1/repositories/${name}/_usage`,
];

describe('UI JSON API, open registry', { timeout: 120_000 }, () => {
  let server: TestRegistry;
  let base: string;
  let single: Awaited<ReturnType<typeof pushKnownImage>>;
  let amd: Awaited<ReturnType<typeof pushKnownImage>>;
  let arm: Awaited<ReturnType<typeof pushKnownImage>>;
  let attestation: Awaited<ReturnType<typeof pushKnownImage>>;
  let index: PushedManifest;
  let artifact: PushedManifest;
  let sbomLayer: Descriptor;
  /** Times (ms) around pushes, to check push times against: [just before, just after]. */
  let singlePushes: [number, number];
  let lastSinglePush: [number, number];
  let multiPush: [number, number];

  before(async () => {
    server = await startTestRegistry({ ui: { enabled: true }, deleteEnabled: true });
    base = server.url;
    const singleStart = Date.now();
    single = await pushKnownImage(base, 'apps/single', 'v1', { os: 'linux', architecture: 'arm64', variant: 'v8', created: '2024-04-02T10:00:00Z', config: { Cmd: ['sh'] } }, [1234, 567]);
    // The same image under a second tag, so the image page lists both.
    await pushManifest(base, 'apps/single', 'stable', single.bytes);

    amd = await pushKnownImage(base, 'apps/multi', undefined, { os: 'linux', architecture: 'amd64', created: '2024-01-01T00:00:00Z' }, [3000]);
    arm = await pushKnownImage(base, 'apps/multi', undefined, { os: 'linux', architecture: 'arm', variant: 'v7', created: '2024-02-01T00:00:00Z' }, [2000, 10]);
    attestation = await pushKnownImage(base, 'apps/multi', undefined, { os: 'unknown', architecture: 'unknown' }, [50]);
    const strip = ({ mediaType, digest, size }: Descriptor) => ({ mediaType, digest, size });
    const multiStart = Date.now();
    index = await pushManifest(base, 'apps/multi', 'latest', {
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      manifests: [
        { ...strip(amd), platform: { os: 'linux', architecture: 'amd64' } },
        { ...strip(arm), platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
        { ...strip(attestation), platform: { os: 'unknown', architecture: 'unknown' } },
      ],
    });
    multiPush = [multiStart, Date.now()];

    await pushBlob(base, 'apps/single', emptyContent, mediaTypes.ociEmpty);
    sbomLayer = await pushBlob(base, 'apps/single', '{"spdxVersion":"SPDX-2.3"}', 'application/spdx+json');
    const artifactManifest = {
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      artifactType: 'application/spdx+json',
      config: emptyDescriptor,
      layers: [{ ...sbomLayer, annotations: { 'org.opencontainers.image.title': 'sbom.spdx.json' } }],
      subject: strip(single),
      annotations: { 'org.opencontainers.image.created': '2024-05-06T07:08:09Z' },
    };
    const sbomStart = Date.now();
    artifact = await pushManifest(base, 'apps/single', 'sbom', artifactManifest);
    lastSinglePush = [sbomStart, Date.now()];
    singlePushes = [singleStart, lastSinglePush[1]];
  });
  after(async () => await server?.close());

  test('info: no user without auth, the delete and read-only settings, and the package version', async () => {
    const { version } = JSON.parse(await readFile(`${repoRoot}/package.json`, 'utf8')) as { version: string };
    assert.deepEqual(await ok(`${base}/berth/v1/ui/info`), { user: null, deleteEnabled: true, readOnly: false, version });
  });

  test('tags: an image, an artifact with a subject, each with kind, exact size, platforms, created and push time', async () => {
    const body = await ok(`${base}/berth/v1/repositories/apps/single/_tags`);
    assert.equal(body.name, 'apps/single');
    assert.equal(body.total, 3);
    assert.equal(body.next, null);
    const tags = body.tags as Json[];
    assert.deepEqual(tags.map((t) => t.tag), ['sbom', 'stable', 'v1']);
    const [sbom, stable, v1] = tags as [Json, Json, Json];
    const { pushedAt, ...rest } = v1;
    assert.deepEqual(rest, {
      tag: 'v1',
      digest: single.digest,
      mediaType: mediaTypes.ociManifest,
      kind: 'image',
      size: single.total,
      platforms: ['linux/arm64/v8'],
      created: '2024-04-02T10:00:00.000Z',
    });
    assertWithin(pushedAt, singlePushes, 'pushedAt of v1');
    assertWithin(stable.pushedAt, singlePushes, 'pushedAt of stable');
    assertWithin(sbom.pushedAt, lastSinglePush, 'pushedAt of sbom, pushed last');
    assert.equal(stable.digest, single.digest);
    assert.equal(sbom.kind, 'artifact');
    assert.equal(sbom.artifactType, 'application/spdx+json');
    assert.equal(sbom.size, artifact.size + emptyDescriptor.size + sbomLayer.size);
    assert.deepEqual(sbom.platforms, []);
    assert.equal(sbom.created, '2024-05-06T07:08:09.000Z', "an artifact's created annotation");
  });

  test('tags: an index sums its children, lists their platforms without attestations, and takes the newest created', async () => {
    const body = await ok(`${base}/berth/v1/repositories/apps/multi/_tags`);
    const [latest] = body.tags as [Json];
    assert.equal(latest.kind, 'index');
    assert.equal(latest.mediaType, mediaTypes.ociIndex);
    assert.equal(latest.size, index.size + amd.total + arm.total + attestation.total);
    assert.deepEqual(latest.platforms, ['linux/amd64', 'linux/arm/v7']);
    assert.equal(latest.created, '2024-02-01T00:00:00.000Z');
  });

  test('tags: q filters (any case), n and last page through them with total and next', async () => {
    const image = await pushImage(base, 'apps/paged');
    for (const tag of ['rc-1', 'RC-2', 'rc-3', 'other']) await pushManifest(base, 'apps/paged', tag, image.bytes);
    const first = await ok(`${base}/berth/v1/repositories/apps/paged/_tags?q=Rc&n=2`);
    assert.deepEqual((first.tags as Json[]).map((t) => t.tag), ['RC-2', 'rc-1']);
    assert.equal(first.total, 3);
    assert.equal(first.next, 'rc-1');
    const second = await ok(`${base}/berth/v1/repositories/apps/paged/_tags?q=rc&n=2&last=${first.next as string}`);
    assert.deepEqual((second.tags as Json[]).map((t) => t.tag), ['rc-3']);
    assert.equal(second.next, null);
    const bad = await getJson(`${base}/berth/v1/repositories/apps/paged/_tags?n=many`);
    assert.equal(bad.status, 400);
    assert.equal(errorCode(bad.body), 'PAGINATION_NUMBER_INVALID');
  });

  test('image details: an image with its config, layers, platform and every tag pointing at it', async () => {
    const body = await ok(`${base}/berth/v1/repositories/apps/single/_images/${single.digest}`);
    assert.equal(body.kind, 'image');
    assert.equal(body.size, single.size);
    assert.equal(body.totalSize, single.total);
    assert.equal(body.manifest, single.bytes.toString('utf8'));
    assert.deepEqual(body.tags, ['stable', 'v1']);
    assert.equal(body.platform, 'linux/arm64/v8');
    const config = body.config as Json;
    assert.equal(config.digest, single.config.digest);
    assert.equal(config.size, single.config.size);
    assert.deepEqual((config.content as Json).config, { Cmd: ['sh'] });
    assert.deepEqual(body.layers, single.layers.map(({ digest, mediaType, size }) => ({ digest, mediaType, size })));
    assert.deepEqual(body.manifests, []);
    assert.equal(body.subject, undefined);
    assert.equal(body.created, '2024-04-02T10:00:00.000Z');
  });

  test('image details: an index lists its children with platform and total size; an artifact its subject', async () => {
    const indexBody = await ok(`${base}/berth/v1/repositories/apps/multi/_images/${index.digest}`);
    assert.equal(indexBody.kind, 'index');
    assert.equal(indexBody.created, '2024-02-01T00:00:00.000Z', 'the newest child');
    assert.equal(indexBody.totalSize, index.size + amd.total + arm.total + attestation.total);
    assert.deepEqual(indexBody.layers, []);
    assert.equal(indexBody.config, undefined);
    assert.deepEqual(indexBody.manifests, [
      { digest: amd.digest, mediaType: mediaTypes.ociManifest, size: amd.size, platform: 'linux/amd64', totalSize: amd.total },
      { digest: arm.digest, mediaType: mediaTypes.ociManifest, size: arm.size, platform: 'linux/arm/v7', totalSize: arm.total },
      { digest: attestation.digest, mediaType: mediaTypes.ociManifest, size: attestation.size, platform: 'unknown/unknown', totalSize: attestation.total },
    ]);

    const artifactBody = await ok(`${base}/berth/v1/repositories/apps/single/_images/${artifact.digest}`);
    assert.equal(artifactBody.kind, 'artifact');
    assert.equal(artifactBody.artifactType, 'application/spdx+json');
    assert.deepEqual(artifactBody.subject, { mediaType: mediaTypes.ociManifest, digest: single.digest, size: single.size });
    assert.deepEqual(artifactBody.tags, ['sbom']);
    assert.equal(artifactBody.created, '2024-05-06T07:08:09.000Z');
    // The empty config is no image config: described, not parsed.
    assert.deepEqual(artifactBody.config, { ...emptyDescriptor });
    assert.deepEqual(artifactBody.layers, [{ ...sbomLayer, annotations: { 'org.opencontainers.image.title': 'sbom.spdx.json' } }]);
  });

  test('image details: a digest the repository does not hold is 404 MANIFEST_UNKNOWN, a malformed one 400', async () => {
    const elsewhere = await getJson(`${base}/berth/v1/repositories/apps/single/_images/${index.digest}`);
    assert.equal(elsewhere.status, 404);
    assert.equal(errorCode(elsewhere.body), 'MANIFEST_UNKNOWN');
    const malformed = await getJson(`${base}/berth/v1/repositories/apps/single/_images/sha256:abc`);
    assert.equal(malformed.status, 400);
    assert.equal(errorCode(malformed.body), 'DIGEST_INVALID');
  });

  test('summary: tag count, last push (the newest tag push), and deletes allowed', async () => {
    const { lastPush, ...summary } = await ok(`${base}/berth/v1/repositories/apps/single/_summary`);
    assertWithin(lastPush, lastSinglePush, 'lastPush: the sbom tag, pushed last');
    assert.deepEqual(summary, { name: 'apps/single', tagCount: 3, deleteEnabled: true, canDelete: true });
  });

  test('image details: a config nested too deep to show is described, not parsed (no 500)', async () => {
    const depth = 100_000;
    const text = `{"os":"linux","architecture":"amd64","x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const config = await pushBlob(base, 'apps/deep', text, mediaTypes.ociConfig);
    const pushed = await pushManifest(base, 'apps/deep', 'v1', { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config, layers: [] });
    const body = await ok(`${base}/berth/v1/repositories/apps/deep/_images/${pushed.digest}`);
    assert.deepEqual(body.config, { digest: config.digest, mediaType: mediaTypes.ociConfig, size: config.size });
    assert.equal(body.platform, undefined);
    assert.equal(body.totalSize, pushed.size + config.size);
  });

  test('tags: n defaults to 100 and is capped at 1000', async () => {
    const name = 'apps/many-tags';
    await storeRepositories(server.registry, [name]);
    const digest = (await server.registry.tags.resolve(name, 'v1'))!;
    const tags = Array.from({ length: 1001 }, (_, i) => `t${String(i).padStart(4, '0')}`);
    await mapLimit(tags, 16, async (tag) => await server.registry.tags.set(name, tag, digest));
    const first = await ok(`${base}/berth/v1/repositories/${name}/_tags?q=t`);
    assert.deepEqual((first.tags as Json[]).map((t) => t.tag), tags.slice(0, 100));
    assert.deepEqual([first.total, first.next], [1001, 't0099']);
    const capped = await ok(`${base}/berth/v1/repositories/${name}/_tags?q=t&n=5000`);
    assert.equal((capped.tags as Json[]).length, 1000);
    assert.deepEqual([capped.total, capped.next], [1001, 't0999']);
  });

  test('usage: the du numbers of one repository, as storageUsage counts them', async () => {
    const whole = (await storageUsage(server.registry.driver)).repositories.find((r) => r.name === 'apps/multi')!;
    const body = await ok(`${base}/berth/v1/repositories/apps/multi/_usage`);
    assert.deepEqual(body, { name: 'apps/multi', blobs: whole.blobs, bytes: whole.bytes, missing: whole.missing });
    assert.deepEqual(body, { ...(await repositoryUsage(server.registry.driver, 'apps/multi')) });
    // Every blob pushed to apps/multi: 3 configs, 4 layers, 4 manifests.
    assert.equal(body.blobs, 11);
    assert.equal(body.bytes, index.size + amd.total + arm.total + attestation.total);
  });

  test('an unknown repository is 404 NAME_UNKNOWN on every per-repository resource', async () => {
    for (const path of uiPaths('no/such', single.digest).slice(2)) {
      const { status, body } = await getJson(`${base}${path}`);
      assert.equal(status, 404, path);
      assert.equal(errorCode(body), 'NAME_UNKNOWN', path);
    }
  });

  test('repositories: q, n (default 50, at most 200), last, total and next over 300 repositories', async () => {
    const names = Array.from({ length: 300 }, (_, i) => `bulk/r${String(i).padStart(3, '0')}`);
    const storeStart = Date.now();
    await storeRepositories(server.registry, names);
    const stored: [number, number] = [storeStart, Date.now()];
    const all = await ok(`${base}/berth/v1/repositories`);
    assert.equal((all.repositories as Json[]).length, 50);
    assert.equal(all.total, 300 + 5); // apps/single, apps/multi, apps/paged, apps/deep, apps/many-tags
    const capped = await ok(`${base}/berth/v1/repositories?n=1000&q=BULK/`);
    assert.equal((capped.repositories as Json[]).length, 200);
    assert.equal(capped.total, 300);
    assert.equal(capped.next, 'bulk/r199');

    const seen: string[] = [];
    let last: string | null = '';
    for (let pages = 0; last !== null && pages < 10; pages++) {
      const page: Json = await ok(`${base}/berth/v1/repositories?q=bulk&n=120&last=${encodeURIComponent(last)}`);
      assert.equal(page.total, 300);
      for (const repository of page.repositories as Json[]) {
        assert.equal(repository.tagCount, 1);
        assertWithin(repository.lastPush, stored, `lastPush of ${String(repository.name)}`);
        seen.push(repository.name as string);
      }
      last = page.next as string | null;
    }
    assert.deepEqual(seen, names);

    const one = await ok(`${base}/berth/v1/repositories?q=r29`);
    assert.deepEqual((one.repositories as Json[]).map((r) => r.name), ['bulk/r290', 'bulk/r291', 'bulk/r292', 'bulk/r293', 'bulk/r294', 'bulk/r295', 'bulk/r296', 'bulk/r297', 'bulk/r298', 'bulk/r299']);
    const [multi, ...others] = (await ok(`${base}/berth/v1/repositories?q=multi`)).repositories as Json[];
    assert.deepEqual(others, []);
    const { lastPush, ...facts } = multi!;
    assert.deepEqual(facts, { name: 'apps/multi', tagCount: 1 });
    assertWithin(lastPush, multiPush, 'lastPush of apps/multi');
  });
});

describe('UI JSON API, settings', { timeout: 60_000 }, () => {
  test('with the UI off, every UI API path answers 404', async () => {
    const server = await startTestRegistry();
    try {
      const pushed = await pushImage(server.url, 'apps/one', 'v1');
      for (const path of uiPaths('apps/one', pushed.digest)) {
        const response = await fetch(`${server.url}${path}`);
        await response.arrayBuffer();
        assert.equal(response.status, 404, path);
      }
    } finally {
      await server.close();
    }
  });

  test('with deletes disabled or the registry read-only, nobody can delete', async () => {
    for (const options of [{ deleteEnabled: false }, { deleteEnabled: true, readOnly: true }]) {
      const server = await startTestRegistry({ ui: { enabled: true }, ...options, root: undefined });
      try {
        await storeRepositories(server.registry, ['apps/one']);
        const summary = await ok(`${server.url}/berth/v1/repositories/apps/one/_summary`);
        assert.equal(summary.deleteEnabled, options.deleteEnabled);
        assert.equal(summary.canDelete, false, JSON.stringify(options));
        const info = await ok(`${server.url}/berth/v1/ui/info`);
        assert.equal(info.readOnly, options.readOnly === true);
        assert.equal(info.deleteEnabled, options.deleteEnabled);
      } finally {
        await server.close();
      }
    }
  });
});

describe('UI JSON API on a pull-through cache', { timeout: 60_000 }, () => {
  test('a proxied repository refuses writes, so nobody can delete in it', async () => {
    // The upstream is never asked: the summary reads only local storage.
    const config = proxySchema.parse({ remoteurl: 'http://127.0.0.1:9' })!;
    const server = await startTestRegistry({ ui: { enabled: true }, pullThrough: (registry) => new PullThrough(registry, upstreamsFromConfig(config)) });
    try {
      await storeRepositories(server.registry, ['library/cached']);
      const summary = await ok(`${server.url}/berth/v1/repositories/library/cached/_summary`);
      assert.deepEqual([summary.deleteEnabled, summary.canDelete, summary.tagCount], [true, false, 1]);
    } finally {
      await server.close();
    }
  });
});

describe('UI JSON API behind htpasswd auth and access rules', { timeout: 60_000 }, () => {
  let server: AuthRegistry;
  let base: string;
  let teamDigest: string;

  before(async () => {
    server = await startAuthRegistry('htpasswd', testAccess, { ui: { enabled: true } });
    base = server.url;
    const root = basic('root');
    for (const name of ['team/app', 'team/tools', 'public/base', 'private/secret', 'lab/x']) await pushImageAs(base, name, 'v1', root);
    const tags = await ok(`${base}/berth/v1/repositories/team/app/_tags`, root);
    teamDigest = (tags.tags as Json[])[0]!.digest as string;
  });
  after(async () => await server?.close());

  test('without credentials every UI path is 401 with a Basic challenge', async () => {
    for (const path of uiPaths('team/app', teamDigest)) {
      const response = await fetch(`${base}${path}`);
      const body = (await response.json()) as Json;
      assert.equal(response.status, 401, path);
      assert.equal(errorCode(body), 'UNAUTHORIZED');
      assert.match(response.headers.get('www-authenticate') ?? '', /^Basic /);
    }
  });

  test('a user who may pull only some repositories sees and counts only those', async () => {
    const reader = basic('reader');
    assert.equal((await ok(`${base}/berth/v1/ui/info`, reader)).user, 'reader');
    const list = await ok(`${base}/berth/v1/repositories`, reader);
    assert.deepEqual((list.repositories as Json[]).map((r) => r.name), ['public/base', 'team/app', 'team/tools']);
    assert.equal(list.total, 3);
    const filtered = await ok(`${base}/berth/v1/repositories?q=team&n=1`, reader);
    assert.deepEqual((filtered.repositories as Json[]).map((r) => r.name), ['team/app']);
    assert.equal(filtered.total, 2);
    assert.equal(filtered.next, 'team/app');
    const adminList = await ok(`${base}/berth/v1/repositories`, basic('root'));
    assert.equal(adminList.total, 5);
  });

  test('a repository the user may not pull is 403 on every per-repository resource', async () => {
    for (const path of uiPaths('private/secret', teamDigest).slice(2)) {
      const { status, body } = await getJson(`${base}${path}`, basic('reader'));
      assert.equal(status, 403, path);
      assert.equal(errorCode(body), 'DENIED', path);
    }
  });

  test('canDelete: true for an admin and a user with delete, false for a pull-only user', async () => {
    const canDelete = async (user: string) => (await ok(`${base}/berth/v1/repositories/team/app/_summary`, basic(user))).canDelete;
    assert.equal(await canDelete('root'), true);
    assert.equal(await canDelete('writer'), true);
    assert.equal(await canDelete('reader'), false);
  });
});

describe('UI JSON API behind token auth', { timeout: 60_000 }, () => {
  let server: AuthRegistry;
  let base: string;
  let teamDigest: string;

  before(async () => {
    server = await startAuthRegistry('tokenserver', testAccess, { ui: { enabled: true } });
    base = server.url;
    const token = await fetchToken(base, ['repository:team/app:pull,push', 'repository:private/secret:pull,push'], 'root');
    for (const name of ['team/app', 'private/secret']) await pushImageAs(base, name, 'v1', bearer(token));
    const manifest = await fetch(`${base}/v2/team/app/manifests/v1`, { method: 'HEAD', headers: { ...bearer(token), Accept: mediaTypes.ociManifest } });
    teamDigest = manifest.headers.get('docker-content-digest')!;
  });
  after(async () => await server?.close());

  test('each endpoint challenges for the scope the design names, and a token for it passes', async () => {
    const expected: [string, string][] = [
      ['/berth/v1/ui/info', ''],
      ['/berth/v1/repositories', 'registry:catalog:*'],
      ['/berth/v1/repositories/team/app/_summary', 'repository:team/app:pull'],
      ['/berth/v1/repositories/team/app/_tags', 'repository:team/app:pull'],
      ['/berth/v1/repositories/team/app/_usage', 'repository:team/app:pull'],
      [`/berth/v1/repositories/team/app/_images/${teamDigest}`, 'repository:team/app:pull'],
    ];
    for (const [path, scope] of expected) {
      const challenged = await fetch(`${base}${path}`);
      await challenged.arrayBuffer();
      assert.equal(challenged.status, 401, path);
      const challenge = challenged.headers.get('www-authenticate') ?? '';
      assert.match(challenge, /^Bearer realm="[^"]+",service="berth-test"/, path);
      if (scope) assert.ok(challenge.includes(`scope="${scope}"`), `${path}: ${challenge}`);
      else assert.ok(!challenge.includes('scope='), `${path}: ${challenge}`);
      const token = await fetchToken(base, scope ? [scope] : [], 'reader');
      await ok(`${base}${path}`, bearer(token));
    }
  });

  test('the list holds only what the token user may pull; canDelete follows the access rules', async () => {
    const catalog = await fetchToken(base, ['registry:catalog:*'], 'reader');
    const list = await ok(`${base}/berth/v1/repositories`, bearer(catalog));
    assert.deepEqual((list.repositories as Json[]).map((r) => r.name), ['team/app']);
    assert.equal(list.total, 1);
    const info = await ok(`${base}/berth/v1/ui/info`, bearer(catalog));
    assert.equal(info.user, 'reader');

    const summary = async (user: string) =>
      await ok(`${base}/berth/v1/repositories/team/app/_summary`, bearer(await fetchToken(base, ['repository:team/app:pull'], user)));
    assert.equal((await summary('writer')).canDelete, true);
    assert.equal((await summary('reader')).canDelete, false);

    const denied = await getJson(`${base}/berth/v1/repositories/private/secret/_summary`, bearer(await fetchToken(base, ['repository:private/secret:pull'], 'reader')));
    assert.equal(denied.status, 403);
  });
});
