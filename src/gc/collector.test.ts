import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { digestBytes, type Digest } from '../protocol/digest.js';
import { mediaTypes } from '../protocol/media-types.js';
import type { StorageDriver } from '../storage/driver.js';
import { FilesystemDriver } from '../storage/filesystem-driver.js';
import { MemoryDriver } from '../storage/memory-driver.js';
import { paths } from '../storage/paths.js';
import { S3Driver } from '../storage/s3-driver.js';
import { missingS3Message, randomRoot, rawClient, removePrefix, s3TestEnv } from '../storage/testing/s3-test-env.js';
import { collectGarbage } from './collector.js';
import { GcLease } from './lease.js';
import { listing, pushBlob, pushImage, pushIndex, testRegistry } from './testing/fixtures.js';

interface Store {
  driver: StorageDriver;
  cleanup(): Promise<void>;
}

const hours = 3_600_000;
/** A clock two hours ahead: everything stored by the test is older than a one-hour grace. */
const later = () => new Date(Date.now() + 2 * hours);

async function exists(driver: StorageDriver, path: string): Promise<boolean> {
  try {
    await driver.stat(path);
    return true;
  } catch {
    return false;
  }
}

function collectorSuite(label: string, fresh: () => Promise<Store>): void {
  describe(`garbage collection (${label})`, () => {
    const withStore = (name: string, body: (driver: StorageDriver) => Promise<void>) =>
      test(name, { timeout: 60_000 }, async () => {
        const store = await fresh();
        try {
          await body(store.driver);
        } finally {
          await store.cleanup();
        }
      });

    withStore('keeps every blob of every revision and sweeps the rest, with bytes freed', async (driver) => {
      const registry = testRegistry(driver);
      const image = await pushImage(registry, 'app', { tag: 'v1', layers: ['layer-a', 'layer-b'] });
      const untagged = await pushImage(registry, 'app', { layers: ['layer-c'] });
      const orphan = await pushBlob(registry, 'app', 'orphan bytes!');
      const summary = await collectGarbage(driver);
      assert.deepEqual(summary.deletedBlobs, [orphan.text]);
      assert.equal(summary.bytesFreed, Buffer.byteLength('orphan bytes!'));
      assert.deepEqual(summary.deletedLayerLinks, [{ repository: 'app', digest: orphan.text }]);
      assert.deepEqual(summary.deletedManifests, []);
      assert.equal(await exists(driver, paths.blobDirectory(orphan)), false);
      assert.equal(await exists(driver, paths.layerLinkDirectory('app', orphan)), false);
      for (const digest of [image.manifest, image.config, ...image.layers, untagged.manifest, ...untagged.layers]) {
        assert.ok(await exists(driver, paths.blobData(digest)), digest.text);
      }
      // The registry still serves the image.
      assert.deepEqual((await registry.manifests.get('app', { tag: 'v1' })).bytes, image.bytes);
      assert.equal((await registry.blobs.statInRepository('app', image.layers[0]!)).size, 7);
    });

    withStore('keeps index children and their blobs', async (driver) => {
      const registry = testRegistry(driver);
      const amd = await pushImage(registry, 'multi', { layers: ['amd64 layer'] });
      const arm = await pushImage(registry, 'multi', { layers: ['arm64 layer'] });
      const index = await pushIndex(registry, 'multi', 'latest', [amd, arm]);
      const summary = await collectGarbage(driver, { deleteUntagged: true });
      assert.deepEqual(summary.deletedBlobs, []);
      assert.deepEqual(summary.deletedManifests, []);
      for (const digest of [index, amd.manifest, arm.manifest, ...amd.layers, ...arm.layers, amd.config]) {
        assert.ok(await exists(driver, paths.blobData(digest)), digest.text);
      }
    });

    withStore('--delete-untagged deletes untagged revisions, keeps referrers, and a repository with nothing left leaves the catalog', async (driver) => {
      const registry = testRegistry(driver);
      const shared = 'shared layer';
      const v1 = await pushImage(registry, 'app', { tag: 'v1', layers: [shared] });
      const old = await pushImage(registry, 'app', { tag: 'v2', layers: [shared, 'old only'] });
      // v2 moves on: the old revision stays in v2's history, untagged.
      const v2 = await pushImage(registry, 'app', { tag: 'v2', layers: [shared, 'new only'] });
      const signature = await pushImage(registry, 'app', {
        layers: ['signature'],
        artifactType: 'application/vnd.example.signature',
        subject: { digest: v1.manifest, size: v1.bytes.length },
      });
      const sbomOfSignature = await pushImage(registry, 'app', { layers: ['sbom'], subject: { digest: signature.manifest, size: signature.bytes.length } });
      const orphanReferrer = await pushImage(registry, 'app', { layers: ['note'], subject: { digest: old.manifest, size: old.bytes.length } });
      const gone = await pushImage(registry, 'gone', { tag: 'only', layers: ['gone layer'] });
      await registry.manifests.delete('gone', { tag: 'only' });

      const dry = await collectGarbage(driver, { deleteUntagged: true, dryRun: true });
      const summary = await collectGarbage(driver, { deleteUntagged: true });
      assert.deepEqual(dry.deletedBlobs.sort(), summary.deletedBlobs.sort());
      assert.deepEqual(
        summary.deletedManifests.map((m) => `${m.repository}@${m.digest}`).sort(),
        [`app@${old.manifest.text}`, `app@${orphanReferrer.manifest.text}`, `gone@${gone.manifest.text}`].sort(),
      );
      const deleted = new Set(summary.deletedBlobs);
      for (const digest of [old.manifest, old.layers[1]!, old.config, orphanReferrer.manifest, orphanReferrer.layers[0]!, gone.manifest, ...gone.layers]) {
        assert.ok(deleted.has(digest.text), `deleted ${digest.text}`);
      }
      for (const digest of [v1.manifest, v2.manifest, signature.manifest, sbomOfSignature.manifest, ...v1.layers, ...v2.layers, ...signature.layers]) {
        assert.ok(await exists(driver, paths.blobData(digest)), `kept ${digest.text}`);
      }
      assert.equal(await exists(driver, `${paths.tag('app', 'v2')}/index/sha256/${old.manifest.hex}`), false, 'tag history entry of the deleted revision');
      assert.ok(await exists(driver, paths.tagIndexLink('app', 'v2', v2.manifest)));
      assert.deepEqual(await registry.catalog.all(), ['app']);
      const referrers = await registry.referrers.list('app', v1.manifest);
      assert.deepEqual(referrers.map((r) => r.digest), [signature.manifest.text]);
      // A second run finds nothing more.
      const again = await collectGarbage(driver, { deleteUntagged: true });
      assert.deepEqual([again.deletedBlobs, again.deletedManifests, again.deletedLayerLinks], [[], [], []]);
    });

    withStore('a dry run changes nothing', async (driver) => {
      const registry = testRegistry(driver);
      await pushImage(registry, 'app', { tag: 'v1', layers: ['a'] });
      await pushImage(registry, 'app', { layers: ['b'] });
      await pushBlob(registry, 'other', 'orphan');
      const before = await listing(driver);
      const summary = await collectGarbage(driver, { dryRun: true, deleteUntagged: true });
      assert.ok(summary.deletedBlobs.length >= 3 && summary.bytesFreed > 0);
      assert.deepEqual(await listing(driver), before);
    });

    withStore('sweeps layer links to blobs that do not exist, and empty directories', async (driver) => {
      const registry = testRegistry(driver);
      await pushImage(registry, 'app', { tag: 'v1', layers: ['a'] });
      const missing = digestBytes(Buffer.from('never stored'));
      await registry.blobs.link('app', missing);
      const orphan = await pushBlob(registry, 'solo', 'only here');
      await collectGarbage(driver);
      assert.equal(await exists(driver, paths.layerLinkDirectory('app', missing)), false);
      assert.deepEqual(await registry.catalog.all(), ['app']);
      assert.equal(await exists(driver, paths.blobDirectory(orphan)), false);
      const empty = (await listing(driver)).filter((path) => path.endsWith('/'));
      assert.deepEqual(empty, []);
    });

    describe('online', () => {
      withStore('grace protects fresh blobs; older ones go through the marker', async (driver) => {
        const registry = testRegistry(driver);
        const orphan = await pushBlob(registry, 'app', 'fresh upload');
        const fresh = await collectGarbage(driver, { online: { graceMs: hours } });
        assert.deepEqual(fresh.deletedBlobs, []);
        assert.equal(await exists(driver, paths.blobDeletingMarker(orphan)), false);
        assert.equal(await exists(driver, paths.layerLinkDirectory('app', orphan)), true, 'the link of an upload not yet in a manifest');

        let markerSeen = false;
        const forgotten: string[] = [];
        const old = await collectGarbage(driver, {
          online: { graceMs: hours },
          now: later,
          forget: async (digest) => void forgotten.push(digest.text),
          hooks: {
            afterMarkers: async (candidates) => {
              assert.deepEqual(candidates.map((d) => d.text), [orphan.text]);
              markerSeen = await exists(driver, paths.blobDeletingMarker(orphan));
            },
          },
        });
        assert.ok(markerSeen, 'marker written before the re-check');
        assert.deepEqual(old.deletedBlobs, [orphan.text]);
        assert.deepEqual(forgotten, [orphan.text]);
        // Online, the data and the marker go; an emptied directory waits for an offline run
        // (removing it could race with an upload moving the same content in).
        assert.equal(await exists(driver, paths.blobData(orphan)), false);
        assert.equal(await exists(driver, paths.blobDeletingMarker(orphan)), false);
        assert.equal(await exists(driver, paths.blobSetAside(orphan)), false);
        assert.equal(await exists(driver, paths.layerLinkDirectory('app', orphan)), false);
      });

      withStore('a blob uploaded again while the run deletes it keeps the link the upload wrote', async (driver) => {
        const registry = testRegistry(driver);
        const content = 'layer deleted, then pushed again';
        const layer = await pushBlob(registry, 'app', content);
        const summary = await collectGarbage(driver, {
          online: { graceMs: hours },
          now: later,
          hooks: {
            // A client found the blob gone and uploaded it again after the run deleted it, before
            // the run swept the links it had listed earlier; its manifest may already be in.
            afterBlobsDeleted: async (deleted) => {
              assert.deepEqual(deleted.map((d) => d.text), [layer.text]);
              await pushBlob(registry, 'app', content);
            },
          },
        });
        assert.deepEqual(summary.deletedBlobs, [layer.text]);
        assert.deepEqual(summary.deletedLayerLinks, []);
        assert.ok(await exists(driver, paths.blobData(layer)));
        assert.ok(await exists(driver, paths.layerLink('app', layer)), 'the upload keeps its link');
      });

      withStore('the re-check keeps a blob a manifest pushed during the run references', async (driver) => {
        const registry = testRegistry(driver);
        const layer = await pushBlob(registry, 'app', 'layer pushed before the manifest');
        const config = await pushBlob(registry, 'app', '{}');
        let pushed: Digest | undefined;
        const summary = await collectGarbage(driver, {
          online: { graceMs: hours },
          now: later,
          hooks: {
            // The manifest's revision was written before the registry could see the markers.
            afterMarkers: async () => {
              const bytes = Buffer.from(
                JSON.stringify({
                  schemaVersion: 2,
                  mediaType: mediaTypes.ociManifest,
                  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.text, size: 2 },
                  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.text, size: 32 }],
                }),
              );
              pushed = digestBytes(bytes);
              await driver.putContent(paths.blobData(pushed), bytes);
              await driver.putContent(paths.revisionLink('app', pushed), Buffer.from(pushed.text));
            },
          },
        });
        assert.deepEqual(summary.deletedBlobs, []);
        assert.deepEqual(summary.keptBlobs.map((k) => k.digest).sort(), [layer.text, config.text].sort());
        for (const digest of [layer, config]) {
          assert.ok(await exists(driver, paths.blobData(digest)));
          assert.equal(await exists(driver, paths.blobDeletingMarker(digest)), false, 'marker removed');
        }
        assert.ok(pushed && (await exists(driver, paths.blobData(pushed))));
      });

      withStore('a blob whose marker an upload removed is kept', async (driver) => {
        const registry = testRegistry(driver);
        const blob = await pushBlob(registry, 'app', 'uploaded again');
        const summary = await collectGarbage(driver, {
          online: { graceMs: hours },
          now: later,
          hooks: { beforeDelete: async () => void (await driver.delete(paths.blobDeletingMarker(blob))) },
        });
        assert.deepEqual(summary.deletedBlobs, []);
        assert.deepEqual(summary.keptBlobs, [{ digest: blob.text, reason: 'marker-removed' }]);
        assert.ok(await exists(driver, paths.blobData(blob)));
      });

      withStore('an upload that takes the marker after the data was set aside gets the blob back', async (driver) => {
        const registry = testRegistry(driver);
        const blob = await pushBlob(registry, 'app', 'wanted at the last moment');
        const summary = await collectGarbage(driver, {
          online: { graceMs: hours },
          now: later,
          // The upload had found the data before it was set aside, so it dropped its own copy.
          hooks: { afterSetAside: async () => void (await driver.delete(paths.blobDeletingMarker(blob))) },
        });
        assert.deepEqual(summary.deletedBlobs, []);
        assert.deepEqual(summary.keptBlobs, [{ digest: blob.text, reason: 'marker-removed' }]);
        assert.deepEqual(await driver.getContent(paths.blobData(blob)), Buffer.from('wanted at the last moment'));
        assert.equal(await exists(driver, paths.blobSetAside(blob)), false);
      });

      withStore('an upload that finds the data set aside puts its own copy in place, and keeps it', async (driver) => {
        const registry = testRegistry(driver);
        const blob = await pushBlob(registry, 'app', 'uploaded while set aside');
        const summary = await collectGarbage(driver, {
          online: { graceMs: hours },
          now: later,
          hooks: {
            afterSetAside: async () => {
              await driver.delete(paths.blobDeletingMarker(blob));
              await driver.putContent(paths.blobData(blob), Buffer.from('uploaded while set aside'));
            },
          },
        });
        assert.deepEqual(summary.deletedBlobs, []);
        assert.deepEqual(await driver.getContent(paths.blobData(blob)), Buffer.from('uploaded while set aside'));
        assert.equal(await exists(driver, paths.blobSetAside(blob)), false);
      });

      withStore('what a collector that died mid-delete set aside is settled by the next run', async (driver) => {
        const registry = testRegistry(driver);
        const doomed = await pushBlob(registry, 'app', 'on its way out');
        const wanted = await pushBlob(registry, 'app', 'wanted again');
        await driver.putContent(paths.blobDeletingMarker(doomed), Buffer.from('{}'));
        await driver.move(paths.blobData(doomed), paths.blobSetAside(doomed));
        await driver.move(paths.blobData(wanted), paths.blobSetAside(wanted)); // its marker was taken by an upload
        await collectGarbage(driver, { online: { graceMs: hours } });
        assert.equal(await exists(driver, paths.blobSetAside(doomed)), false);
        assert.equal(await exists(driver, paths.blobDeletingMarker(doomed)), false);
        assert.equal(await exists(driver, paths.blobData(doomed)), false);
        assert.deepEqual(await driver.getContent(paths.blobData(wanted)), Buffer.from('wanted again'));
        assert.equal(await exists(driver, paths.blobSetAside(wanted)), false);
      });

      withStore('--delete-untagged online spares revisions linked within the grace delay', async (driver) => {
        const registry = testRegistry(driver);
        const untagged = await pushImage(registry, 'app', { layers: ['x'] });
        const fresh = await collectGarbage(driver, { online: { graceMs: hours }, deleteUntagged: true });
        assert.deepEqual([fresh.deletedManifests, fresh.deletedBlobs], [[], []]);
        const old = await collectGarbage(driver, { online: { graceMs: hours }, deleteUntagged: true, now: later });
        assert.deepEqual(old.deletedManifests, [{ repository: 'app', digest: untagged.manifest.text }]);
        assert.equal(await exists(driver, paths.blobData(untagged.layers[0]!)), false);
      });

      withStore('the lease keeps a second collector out until released or expired', async (driver) => {
        let clock = Date.now();
        const now = () => clock;
        const first = await GcLease.acquire(driver, { ttlMs: 60_000, settleMs: 0, now, owner: 'first' });
        assert.ok(first);
        assert.equal(await GcLease.acquire(driver, { ttlMs: 60_000, settleMs: 0, now, owner: 'second' }), undefined);
        clock += 61_000;
        const second = await GcLease.acquire(driver, { ttlMs: 60_000, settleMs: 0, now, owner: 'second' });
        assert.ok(second, 'an expired lease is taken over');
        assert.equal(await first.renew(), false);
        assert.ok(first.lost);
        assert.throws(() => first.check(), /lease/);
        await first.release();
        assert.equal(await GcLease.acquire(driver, { ttlMs: 60_000, settleMs: 0, now, owner: 'third' }), undefined, 'the loser does not release');
        await second.release();
        const third = await GcLease.acquire(driver, { ttlMs: 60_000, settleMs: 0, now, owner: 'third' });
        assert.ok(third);
        await third.release();
      });
    });
  });
}

collectorSuite('inmemory', async () => ({ driver: new MemoryDriver(), cleanup: async () => undefined }));

collectorSuite('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-gc-'));
  return { driver: new FilesystemDriver(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

const env = s3TestEnv();
if (!env) {
  test('garbage collection (s3): a local S3 is needed', () => {
    assert.fail(missingS3Message);
  });
} else {
  const raw = rawClient(env);
  const made: S3Driver[] = [];
  after(() => {
    for (const driver of made) driver.destroy();
    raw.destroy();
  });
  collectorSuite('s3', async () => {
    const root = randomRoot('gc-test');
    const driver = new S3Driver({
      bucket: env.bucket,
      region: env.region,
      regionEndpoint: env.endpoint,
      forcePathStyle: true,
      accessKey: env.accessKey,
      secretKey: env.secretKey,
      rootDirectory: `/${root}`,
    });
    made.push(driver);
    return { driver, cleanup: () => removePrefix(raw, env.bucket, `${root}/`) };
  });
}
