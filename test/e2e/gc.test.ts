// `berth garbage-collect` as users run it (the compiled CLI) on a filesystem storage directory,
// checked against the reference `docker-registry garbage-collect` (Distribution 2.8.2) on the
// same content: both keep and delete the same blobs, and each registry serves what the other's
// collector left.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import { listing, pushBlob, pushImage, pushIndex, testRegistry, type PushedImage } from '../../src/gc/testing/fixtures.js';
import type { Digest } from '../../src/protocol/digest.js';
import { FilesystemDriver } from '../../src/storage/filesystem-driver.js';
import { berthBin, ensureBuilt } from '../helpers/compiled-cli.js';
import { startRegistry } from './support/registries.js';

const run = promisify(execFile);

before(() => ensureBuilt(), { timeout: 180_000 });

interface Fixture {
  dir: string;
  storage: string;
  config: string;
  image: PushedImage;
  children: PushedImage[];
  index: Digest;
  orphan: Digest;
  untagged: PushedImage;
}

async function fixture(): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-e2e-gc-'));
  const storage = join(dir, 'storage');
  const driver = new FilesystemDriver(storage);
  const registry = testRegistry(driver);
  const image = await pushImage(registry, 'gc/app', { tag: 'v1', layers: ['layer one', 'layer two'] });
  const children = [await pushImage(registry, 'gc/multi', { layers: ['amd64'] }), await pushImage(registry, 'gc/multi', { layers: ['arm64'] })];
  const index = await pushIndex(registry, 'gc/multi', 'latest', children);
  const untagged = await pushImage(registry, 'gc/app', { layers: ['untagged layer'] });
  const orphan = await pushBlob(registry, 'gc/app', 'an upload no manifest references');
  const config = join(dir, 'config.yml');
  await writeFile(config, ['version: 0.1', 'storage:', '  filesystem:', `    rootdirectory: ${storage}`, 'http:', '  addr: 127.0.0.1:0', ''].join('\n'));
  return { dir, storage, config, image, children, index, orphan, untagged };
}

const blobs = async (storage: string) => (await listing(new FilesystemDriver(storage), '/docker/registry/v2/blobs')).filter((p) => p.endsWith('/data'));

async function serves(kind: 'berth' | 'docker-registry', f: Fixture, deleteUntagged: boolean, childrenKept = true): Promise<void> {
  const registry = await startRegistry(kind, f.storage, f.dir);
  try {
    const get = (path: string, accept?: string) =>
      fetch(`${registry.url}/v2/${path}`, { headers: accept ? { accept } : {}, signal: AbortSignal.timeout(15_000) });
    const manifestType = 'application/vnd.oci.image.manifest.v1+json';
    assert.equal((await get(`gc/app/manifests/v1`, manifestType)).status, 200, `${kind}: gc/app:v1`);
    for (const digest of [f.image.config, ...f.image.layers]) assert.equal((await get(`gc/app/blobs/${digest.text}`)).status, 200, `${kind}: ${digest.text}`);
    assert.equal((await get(`gc/multi/manifests/latest`, 'application/vnd.oci.image.index.v1+json')).status, 200);
    for (const child of childrenKept ? f.children : []) {
      assert.equal((await get(`gc/multi/manifests/${child.manifest.text}`, manifestType)).status, 200, `${kind}: child manifest`);
      for (const digest of child.layers) assert.equal((await get(`gc/multi/blobs/${digest.text}`)).status, 200);
    }
    assert.equal((await get(`gc/app/blobs/${f.orphan.text}`)).status, 404, `${kind}: the orphan is gone`);
    const untagged = await get(`gc/app/manifests/${f.untagged.manifest.text}`, manifestType);
    assert.equal(untagged.status, deleteUntagged ? 404 : 200, `${kind}: the untagged manifest`);
  } finally {
    await registry.stop();
  }
}

describe('berth garbage-collect on a filesystem directory', { timeout: 180_000 }, () => {
  for (const deleteUntagged of [false, true]) {
    const flags = deleteUntagged ? ['--delete-untagged'] : [];
    it(`matches docker-registry garbage-collect ${flags.join(' ')}`, { timeout: 120_000 }, async () => {
      const ours = await fixture();
      const theirs = await fixture();
      try {
        const dry = await run(process.execPath, [berthBin, 'garbage-collect', '--dry-run', ...flags, ours.config], { timeout: 60_000 });
        assert.match(dry.stdout, new RegExp(`blob eligible for deletion: ${ours.orphan.text}`));
        const before = await blobs(ours.storage);
        assert.equal(before.length, (await blobs(theirs.storage)).length);

        const result = await run(process.execPath, [berthBin, 'garbage-collect', ...flags, ours.config], { timeout: 60_000 });
        assert.match(result.stdout, /gc\/app: marking manifest sha256:/);
        assert.match(result.stdout, new RegExp(`blob deleted: ${ours.orphan.text}`));
        assert.match(result.stdout, /bytes freed/);
        await run('docker-registry', ['garbage-collect', ...(deleteUntagged ? ['--delete-untagged'] : []), theirs.config], { timeout: 60_000 });
        const kept = (await blobs(ours.storage)).map((p) => p.split('/').at(-2)).sort();
        const keptByReference = (await blobs(theirs.storage)).map((p) => p.split('/').at(-2)).sort();
        if (!deleteUntagged) {
          assert.deepEqual(kept, keptByReference, 'the same blobs are left');
        } else {
          // Distribution 2.8.2 deletes untagged children of a tagged index (and so breaks the
          // multi-platform image); Berth keeps them, as Distribution 3 does. Otherwise the same.
          const children = ours.children.flatMap((c) => [c.manifest, c.config, ...c.layers].map((d) => d.hex));
          assert.ok(keptByReference.every((hex) => kept.includes(hex)), 'Berth keeps all the reference keeps');
          assert.deepEqual(kept.filter((hex) => !keptByReference.includes(hex) && !children.includes(hex!)), []);
        }

        // A second berth run over what the reference collector left deletes nothing more.
        const json = await run(process.execPath, [berthBin, 'garbage-collect', '--json', ...flags, theirs.config], { timeout: 60_000 });
        const summary = JSON.parse(json.stdout) as { deletedBlobs: string[] };
        assert.deepEqual(summary.deletedBlobs, []);

        await serves('docker-registry', ours, deleteUntagged);
        await serves('berth', theirs, deleteUntagged, !deleteUntagged);
      } finally {
        await rm(ours.dir, { recursive: true, force: true });
        await rm(theirs.dir, { recursive: true, force: true });
      }
    });
  }
});
