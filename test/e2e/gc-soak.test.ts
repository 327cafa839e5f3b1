// Online garbage collection while clients push (issue #5), end to end: `berth serve --workers 2`
// takes pushes of images that share layers with images deleted a moment before, while a
// collector deletes what became garbage. Afterwards every image reported pushed and not deleted
// pulls in full with every digest checked, and no unreferenced blob older than the grace delay
// is left. Runs over the filesystem always, and over S3 when BERTH_TEST_S3_* say there is a
// bucket (then it must work).
//
// Small and bounded by count and time here; SOAK_SCALE=N (scripts/gc-soak.sh) runs N times the
// pushers' work and prints the figures (SOAK_REPORT=FILE also writes them there as JSON lines).
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listOrEmpty } from '../../src/registry/links.js';
import { paths } from '../../src/storage/paths.js';
import { FilesystemDriver } from '../../src/storage/filesystem-driver.js';
import type { StorageDriver } from '../../src/storage/driver.js';
import { S3Driver } from '../../src/storage/s3-driver.js';
import { berthBin, ensureBuilt } from '../helpers/compiled-cli.js';
import { fetchBody } from '../helpers/http.js';
import { digestOf, imageManifest, mediaTypes, type Descriptor } from '../helpers/push.js';
import { freePort, spawnRegistry, type SpawnedRegistry } from '../helpers/registry-server.js';
import { collectOnce, markReferenced, storedBlobs, type CollectionFigures } from './support/gc-collector.js';
import { run } from './support/run.js';

const scale = Number(process.env.SOAK_SCALE ?? '1');
assert.ok(Number.isInteger(scale) && scale >= 1, `SOAK_SCALE must be a positive integer, not ${process.env.SOAK_SCALE}`);
/** The pushers stop at whichever comes first. */
const maxImages = 300 * scale;
const maxPushMs = 30_000 * scale;
const pushers = 6;
const repositories = 3;
/** Short, so that blobs uploaded for a manifest not yet pushed do get marked now and then. */
const graceMs = 300;
/**
 * Layers the images draw from: image n takes its layers from a window of the pool that moves on
 * every few images and wraps around, so layers of deleted images become garbage, get collected,
 * and come back in new images (and some are pushed again just as they are being collected).
 */
const layerPoolSize = 24;
const layerWindow = 6;
const imagesPerWindowStep = 4;
const attemptsPerImage = 5;

let work: string;
const running: SpawnedRegistry[] = [];
before(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'berth-gc-soak-'));
});
after(async () => {
  for (const registry of running) await registry.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

interface Backend {
  name: string;
  storage(id: string): string;
  driver(id: string): StorageDriver;
}

const s3Variables = ['BERTH_TEST_S3_ENDPOINT', 'BERTH_TEST_S3_BUCKET', 'BERTH_TEST_S3_ACCESS_KEY', 'BERTH_TEST_S3_SECRET_KEY'];
const backends: Backend[] = [
  {
    name: 'filesystem',
    storage: (id) => `  filesystem:\n    rootdirectory: ${join(work, id, 'data')}\n`,
    driver: (id) => new FilesystemDriver(join(work, id, 'data')),
  },
];
if (s3Variables.some((name) => process.env[name])) {
  const env = (name: string) => {
    const value = process.env[name];
    assert.ok(value, `some BERTH_TEST_S3_* variables are set but not ${name}`);
    return value;
  };
  backends.push({
    name: 's3',
    storage: (id) =>
      [
        '  s3:',
        `    regionendpoint: ${JSON.stringify(env('BERTH_TEST_S3_ENDPOINT'))}`,
        `    bucket: ${JSON.stringify(env('BERTH_TEST_S3_BUCKET'))}`,
        `    accesskey: ${JSON.stringify(env('BERTH_TEST_S3_ACCESS_KEY'))}`,
        `    secretkey: ${JSON.stringify(env('BERTH_TEST_S3_SECRET_KEY'))}`,
        '    region: us-east-1',
        '    forcepathstyle: true',
        '    secure: false',
        `    rootdirectory: /berth-gc-soak-${id}`,
        '',
      ].join('\n'),
    driver: (id) =>
      new S3Driver({
        bucket: env('BERTH_TEST_S3_BUCKET'),
        region: 'us-east-1',
        regionEndpoint: env('BERTH_TEST_S3_ENDPOINT'),
        forcePathStyle: true,
        secure: false,
        accessKey: env('BERTH_TEST_S3_ACCESS_KEY'),
        secretKey: env('BERTH_TEST_S3_SECRET_KEY'),
        rootDirectory: `/berth-gc-soak-${id}`,
      }),
  });
}

/** The registry's config; the collector reads the same file. */
function configOf(backend: Backend, id: string, port: number): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    backend.storage(id) + '  delete:\n    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n');
}

async function berth(backend: Backend, id: string): Promise<SpawnedRegistry & { configFile: string }> {
  const dir = join(work, id);
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const config = configOf(backend, id, port);
  const configFile = join(dir, 'collector.yml');
  await writeFile(configFile, config);
  const registry = await spawnRegistry('berth', config, dir, port, {}, undefined, ['--workers', '2']);
  running.push(registry);
  return { ...registry, configFile };
}

/**
 * Which collector runs beside the pushers: Berth's own (`berth garbage-collect --online
 * --delete-untagged`, in a loop), or with SOAK_COLLECTOR=local the protocol's collector half in
 * support/gc-collector.ts (what the registry side was first tested against).
 */
const collectorKind = process.env.SOAK_COLLECTOR ?? 'berth';
assert.ok(collectorKind === 'berth' || collectorKind === 'local', `SOAK_COLLECTOR must be berth or local, not ${collectorKind}`);

interface CliSummary {
  markedBlobs: number;
  deletedBlobs: string[];
  deletedManifests: unknown[];
  keptBlobs: { reason: string }[];
  bytesFreed: number;
}

async function collectWithBerth(configFile: string): Promise<CollectionFigures> {
  const result = await run(process.execPath, [berthBin, 'garbage-collect', '--online', '--delete-untagged', '--grace', `${graceMs}ms`, '--json', configFile], {
    timeoutMs: 120_000,
  });
  const summary = JSON.parse(result.stdout) as CliSummary;
  return {
    collected: summary.deletedBlobs.length,
    bytesFreed: summary.bytesFreed,
    rescued: summary.keptBlobs.filter((kept) => kept.reason === 'referenced-on-recheck').length,
    reclaimed: summary.keptBlobs.filter((kept) => kept.reason === 'marker-removed').length,
  };
}

interface Pushed {
  repository: string;
  tag: string;
  digest: string;
  bytes: Buffer;
  blobs: { descriptor: Descriptor; content: Buffer }[];
}

interface Figures {
  backend: string;
  collector: string;
  scale: number;
  imagesPushed: number;
  imagesDeleted: number;
  imagesVerified: number;
  blobsCollected: number;
  bytesFreed: number;
  rescuedAtRecheck: number;
  reclaimedByUpload: number;
  collections: number;
  cleanFailures: number;
  errors: number;
  errorSamples: string[];
}

for (const backend of backends) {
  describe(`online garbage collection while clients push, on ${backend.name}`, () => {
    test('every image pushed and not deleted pulls in full; no old garbage is left', { timeout: 120_000 + maxPushMs * 3 }, async (t) => {
      const id = `soak-${backend.name}-${randomUUID().slice(0, 8)}`;
      const registry = await berth(backend, id);
      const driver = backend.driver(id);
      const base = registry.url;
      const figures: Figures = {
        backend: backend.name,
        collector: collectorKind,
        scale,
        imagesPushed: 0,
        imagesDeleted: 0,
        imagesVerified: 0,
        blobsCollected: 0,
        bytesFreed: 0,
        rescuedAtRecheck: 0,
        reclaimedByUpload: 0,
        collections: 0,
        cleanFailures: 0,
        errors: 0,
        errorSamples: [],
      };
      const error = (what: string) => {
        figures.errors++;
        if (figures.errorSamples.length < 10) figures.errorSamples.push(what);
      };
      const pool = Array.from({ length: layerPoolSize }, (_, i) => randomBytes(1024 + ((i * 7919) % 64) * 1024));
      const alive = new Map<string, Pushed>();
      let started = 0;
      const deadline = Date.now() + maxPushMs;

      const sendBlob = async (repository: string, content: Buffer, digest: string): Promise<boolean> => {
        const response = await fetch(`${base}/v2/${repository}/blobs/uploads/?digest=${digest}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/octet-stream' },
          body: fetchBody(content),
        });
        const text = await response.text();
        if (response.status === 201) return true;
        error(`blob ${digest} upload: ${response.status} ${text}`);
        return false;
      };

      /** Pushes one image as a client does: HEAD each blob, upload the missing, PUT the manifest. */
      const pushOne = async (worker: number, n: number): Promise<void> => {
        const repository = `soak/r${n % repositories}`;
        const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', worker, n, nonce: randomUUID() }));
        const chosen = new Set<number>();
        const windowStart = Math.floor(n / imagesPerWindowStep);
        while (chosen.size < 1 + (n % 3)) chosen.add((windowStart + Math.floor(Math.random() * layerWindow)) % layerPoolSize);
        const blobs = [
          { descriptor: { mediaType: mediaTypes.ociConfig, digest: digestOf(config), size: config.length }, content: config },
          ...[...chosen].map((i) => ({
            descriptor: { mediaType: mediaTypes.ociLayer, digest: digestOf(pool[i]!), size: pool[i]!.length },
            content: pool[i]!,
          })),
        ];
        const manifest = Buffer.from(JSON.stringify(imageManifest(blobs[0]!.descriptor, blobs.slice(1).map((b) => b.descriptor))));
        const tag = `w${worker}-${n}`;
        let forceUpload = false;
        for (let attempt = 1; attempt <= attemptsPerImage; attempt++) {
          for (const { descriptor, content } of blobs) {
            if (!forceUpload) {
              const head = await fetch(`${base}/v2/${repository}/blobs/${descriptor.digest}`, { method: 'HEAD' });
              if (head.status === 200) continue;
              if (head.status !== 404) {
                error(`HEAD ${descriptor.digest}: ${head.status}`);
                return;
              }
            }
            if (!(await sendBlob(repository, content, descriptor.digest))) return;
          }
          const put = await fetch(`${base}/v2/${repository}/manifests/${tag}`, {
            method: 'PUT',
            headers: { 'Content-Type': mediaTypes.ociManifest },
            body: fetchBody(manifest),
          });
          const text = await put.text();
          if (put.status === 201) {
            if (put.headers.get('docker-content-digest') !== digestOf(manifest)) error(`manifest ${tag}: wrong digest header`);
            figures.imagesPushed++;
            alive.set(`${repository}:${tag}`, { repository, tag, digest: digestOf(manifest), bytes: manifest, blobs });
            return;
          }
          if (put.status === 400 && JSON.parse(text).errors?.[0]?.code === 'MANIFEST_BLOB_UNKNOWN') {
            // A blob was being collected: the client sends its blobs again and retries.
            figures.cleanFailures++;
            forceUpload = true;
            continue;
          }
          error(`manifest ${tag}: ${put.status} ${text}`);
          return;
        }
        error(`manifest ${tag}: still MANIFEST_BLOB_UNKNOWN after ${attemptsPerImage} attempts`);
      };

      /** Deletes a random live image by digest, so its layers become garbage unless shared. */
      const deleteOne = async (): Promise<void> => {
        const keys = [...alive.keys()];
        if (keys.length < 4) return;
        const key = keys[Math.floor(Math.random() * keys.length)]!;
        const image = alive.get(key)!;
        alive.delete(key);
        const response = await fetch(`${base}/v2/${image.repository}/manifests/${image.digest}`, { method: 'DELETE' });
        await response.arrayBuffer();
        if (response.status === 202) figures.imagesDeleted++;
        else error(`DELETE ${image.digest}: ${response.status}`);
      };

      /** Pulls an image in full, checking every digest: undefined when all is well, else what went wrong. */
      const pullOne = async (image: Pushed): Promise<string | undefined> => {
        const m = await fetch(`${base}/v2/${image.repository}/manifests/${image.tag}`, { headers: { Accept: mediaTypes.ociManifest } });
        const bytes = Buffer.from(await m.arrayBuffer());
        if (m.status !== 200 || digestOf(bytes) !== image.digest) return `pull ${image.repository}:${image.tag}: manifest ${m.status}`;
        for (const { descriptor } of image.blobs) {
          const blob = await fetch(`${base}/v2/${image.repository}/blobs/${descriptor.digest}`);
          const content = Buffer.from(await blob.arrayBuffer());
          if (blob.status !== 200 || digestOf(content) !== descriptor.digest) {
            return `pull ${image.repository}:${image.tag}: blob ${descriptor.digest} ${blob.status}`;
          }
        }
        return undefined;
      };

      const collectOne = collectorKind === 'berth' ? () => collectWithBerth(registry.configFile) : () => collectOnce(driver, graceMs);
      let pushing = true;
      const collector = (async () => {
        const add = (run: CollectionFigures) => {
          figures.collections++;
          figures.blobsCollected += run.collected;
          figures.bytesFreed += run.bytesFreed;
          figures.rescuedAtRecheck += run.rescued;
          figures.reclaimedByUpload += run.reclaimed;
        };
        while (pushing) {
          add(await collectOne());
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        // With the pushers done, everything unreferenced gets old enough to go.
        await new Promise((resolve) => setTimeout(resolve, graceMs + 100));
        add(await collectOne());
      })();
      const workers = Array.from({ length: pushers }, async (_, worker) => {
        while (Date.now() < deadline && started < maxImages) {
          const n = started++;
          await pushOne(worker, n);
          if (Math.random() < 0.7) await deleteOne();
          if (Math.random() < 0.2 && alive.size > 0) {
            const keys = [...alive.keys()];
            const key = keys[Math.floor(Math.random() * keys.length)]!;
            const image = alive.get(key)!;
            const failure = await pullOne(image);
            // An image another worker deleted meanwhile may fail to pull; a live one must not.
            if (failure && alive.has(key)) error(failure);
          }
        }
      });
      try {
        await Promise.all(workers);
      } finally {
        pushing = false;
        await collector;
      }

      for (const image of alive.values()) {
        const failure = await pullOne(image);
        if (failure) error(failure);
        else figures.imagesVerified++;
      }

      const referenced = await markReferenced(driver);
      const now = Date.now();
      const stored = await storedBlobs(driver);
      const oldGarbage = stored.filter((blob) => !referenced.has(blob.digest.text) && now - blob.modTime.getTime() >= graceMs);
      const markers = stored.filter((blob) => blob.marked);
      const report = JSON.stringify(figures);
      t.diagnostic(`gc soak figures: ${report}`);
      if (process.env.SOAK_REPORT) await appendFile(process.env.SOAK_REPORT, `${report}\n`);

      // The registry's own error lines say why it answered 5xx (its access log is off here).
      const registryErrors = () => registry.output().split('\n').filter((line) => /"level":(50|60)/.test(line)).slice(-10).join('\n');
      assert.equal(figures.errors, 0, `errors: ${figures.errorSamples.join('\n')}\nregistry errors:\n${registryErrors()}`);
      assert.equal(figures.imagesVerified, alive.size);
      assert.ok(figures.imagesPushed > 0 && figures.imagesDeleted > 0, report);
      assert.ok(figures.blobsCollected > 0, `the collector deleted nothing: ${report}`);
      assert.deepEqual(oldGarbage.map((blob) => blob.digest.text), [], 'unreferenced blobs older than the grace delay are left');
      assert.deepEqual(markers.map((blob) => blob.digest.text), [], 'deleting markers are left');
      assert.deepEqual(await listOrEmpty(driver, paths.blobsSetAside('sha256')), [], 'blob data left set aside by the collector');
      await registry.stop();
      assert.equal(registry.process.exitCode, 0, registry.output());
    });
  });
}
