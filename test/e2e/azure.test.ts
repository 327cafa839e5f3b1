// End to end on Azure Blob storage: Berth (bin/berth.js serve) with `storage.azure` pointing at the
// Azurite that `npm test` starts, with real clients (skopeo, docker under dockerd). Blob GETs are
// redirected (storage.redirect is on by default) to read-only SAS URLs that Azurite serves.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { freePort, spawnRegistry, type SpawnedRegistry } from '../helpers/registry-server.js';
import { forgetKnownBlobs } from './support/clients.js';
import { dockerdForSuite } from './support/daemons.js';
import { buildTestImages, helloText, type TestImages } from './support/images.js';
import { headManifest, ociIndexType, readLayoutBlob, readLayoutManifest, sha256 } from './support/oci.js';
import { defer, Diagnostics } from './support/run.js';

const { BERTH_TEST_AZURE_URL: azureURL, BERTH_TEST_AZURE_ACCOUNT: azureAccount, BERTH_TEST_AZURE_KEY: azureKey } = process.env;

const diag = new Diagnostics();
const testTimeout = { timeout: 120_000 };
const container = `berth-e2e-${randomBytes(6).toString('hex')}`;
let work: string;
let images: TestImages;
let berth: SpawnedRegistry;

before(
  async () => {
    if (!azureURL || !azureAccount || !azureKey) {
      throw new Error(
        'BERTH_TEST_AZURE_URL, BERTH_TEST_AZURE_ACCOUNT and BERTH_TEST_AZURE_KEY are not set: run this test through `npm test`, which starts Azurite',
      );
    }
    work = await mkdtemp(join(tmpdir(), 'berth-e2e-azure-'));
    images = await buildTestImages(join(work, 'images'));
    const port = await freePort();
    const config = [
      'version: 0.1',
      'log:',
      '  level: info',
      'storage:',
      '  azure:',
      `    accountname: ${azureAccount}`,
      `    accountkey: ${azureKey}`,
      `    container: ${container}`,
      `    serviceurl: ${azureURL}`,
      '    rootdirectory: /registry',
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n');
    berth = await spawnRegistry('berth', config, work, port);
    diag.watch({ name: `berth on azure (${berth.hostPort})`, text: () => berth.output() });
  },
  { timeout: 120_000 },
);

after(
  async () => {
    await berth?.stop();
    if (azureURL && azureAccount && azureKey) {
      const service = new BlobServiceClient(azureURL, new StorageSharedKeyCredential(azureAccount, azureKey));
      await service.getContainerClient(container).deleteIfExists();
    }
    if (work) await rm(work, { recursive: true, force: true });
  },
  { timeout: 60_000 },
);

async function scratch(t: TestContext, label: string): Promise<string> {
  const dir = await mkdtemp(join(work, `${label}-`));
  defer(t, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

const sh = (file: string, args: string[], options?: Parameters<Diagnostics['run']>[2]) => diag.run(file, args, options);
const ref = (repoAndTag: string) => `${berth.hostPort}/${repoAndTag}`;

/** Berth's access log: one pino JSON line per request. */
function berthLog(): { method: string; path: string; status: number }[] {
  return berth
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string; method: string; path: string; status: number })
    .filter((entry) => entry.msg === 'request');
}

async function push(source: string, repoAndTag: string, options: { all?: boolean } = {}) {
  await forgetKnownBlobs();
  await sh('skopeo', ['copy', '-q', ...(options.all ? ['--all'] : []), '--dest-tls-verify=false', source, `docker://${ref(repoAndTag)}`]);
}

describe('Berth on Azure Blob storage (Azurite)', () => {
  it(
    'skopeo pushes an image and pulls it back unchanged',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const dir = await scratch(t, 'single');
      await push(images.single.layout, 'az/single:v1');
      assert.equal((await headManifest(`http://${berth.hostPort}`, 'az/single', 'v1')).digest, images.single.manifest.digest);
      await sh('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref('az/single:v1')}`, `oci:${dir}/pulled:v1`]);
      const pulled = await readLayoutManifest(join(dir, 'pulled'), 'v1');
      assert.ok(pulled.bytes.equals(images.single.manifest.bytes), 'manifest bytes after the round trip');
      const layer = await readLayoutBlob(join(dir, 'pulled'), images.single.layer.digest);
      assert.equal(sha256(layer), images.single.layer.digest);
    }),
  );

  it(
    'skopeo pushes a multi-arch index with --all and pulls both platforms back',
    testTimeout,
    diag.explained(async (t: TestContext) => {
      const dir = await scratch(t, 'multi');
      const { index, children } = images.multi;
      await push(images.multi.layout, 'az/multi:list', { all: true });
      assert.deepEqual(await headManifest(`http://${berth.hostPort}`, 'az/multi', 'list'), {
        status: 200,
        digest: index.digest,
        mediaType: ociIndexType,
      });
      await sh('skopeo', ['copy', '-q', '--all', '--src-tls-verify=false', `docker://${ref('az/multi:list')}`, `oci:${dir}/pulled:list`]);
      const pulled = await readLayoutManifest(join(dir, 'pulled'), 'list');
      assert.equal(pulled.digest, index.digest);
      for (const child of Object.values(children)) {
        assert.equal(sha256(await readLayoutBlob(join(dir, 'pulled'), child.digest)), child.digest);
      }
    }),
  );

  it(
    'a blob GET answers 307 to a SAS URL that Azurite serves, with the right digest',
    testTimeout,
    diag.explained(async () => {
      await push(images.single.layout, 'az/redirect:v1');
      const { digest } = images.single.layer;
      const response = await fetch(`http://${berth.hostPort}/v2/az/redirect/blobs/${digest}`, { redirect: 'manual' });
      assert.equal(response.status, 307);
      const location = response.headers.get('location') ?? '';
      assert.ok(location.startsWith(`${azureURL}/${container}/registry/docker/registry/v2/blobs/`), `Location: ${location}`);
      assert.match(location, /[?&]sig=/);
      const fromStore = await fetch(location);
      assert.equal(fromStore.status, 200);
      assert.equal(sha256(Buffer.from(await fromStore.arrayBuffer())), digest);
    }),
  );

  describe('docker (dockerd)', () => {
    const docker = dockerdForSuite(() => join(work, 'docker'), diag);

    it(
      'docker pushes (chunked appends to an append blob), pulls (redirected to Azurite) and runs',
      testTimeout,
      diag.explained(async () => {
        const pushRef = ref('az/docker:v1');
        await docker('load', '-q', '-i', images.single.archive);
        await docker('tag', images.single.archiveName, pushRef);
        await docker('push', '-q', pushRef);
        const digest = (await headManifest(`http://${berth.hostPort}`, 'az/docker', 'v1')).digest;
        assert.ok(digest);
        // Forget the image locally so that the pull has to fetch every blob.
        await docker('rmi', '-f', pushRef, images.single.archiveName);
        const logged = berthLog().length;
        await docker('pull', '-q', pushRef);
        const blobGets = berthLog()
          .slice(logged)
          .filter((r) => r.method === 'GET' && r.path.includes('/blobs/sha256:'));
        assert.ok(blobGets.length > 0 && blobGets.every((r) => r.status === 307), JSON.stringify(blobGets));
        const digests = JSON.parse((await docker('image', 'inspect', '--format', '{{json .RepoDigests}}', pushRef)).stdout) as string[];
        assert.ok(digests.includes(`${ref('az/docker')}@${digest}`), digests.join(', '));
        const ran = await docker('run', '--rm', '--network', 'none', pushRef);
        assert.equal(ran.stdout.trim(), helloText);
      }),
    );
  });
});

