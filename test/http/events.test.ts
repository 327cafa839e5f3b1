import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { notificationsSchema } from '../../src/config/sections/notifications.js';
import { createNotifier } from '../../src/events/create-notifier.js';
import type { RegistryEvent } from '../../src/events/event.js';
import type { Notifier } from '../../src/events/notifier.js';
import { startTestRegistry, type TestRegistry } from '../helpers/registry-server.js';
import { mediaTypes, pushBlob, pushImage, uniqueBytes } from '../helpers/push.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

/** Events at the HTTP level: Berth in this process, a local webhook receiver, `notifications` as parsed from config. */
describe('events (notifications) from the HTTP API', { timeout: 60_000 }, () => {
  let hook: WebhookReceiver;
  let cloud: WebhookReceiver;
  let notifier: Notifier;
  let server: TestRegistry;

  before(async () => {
    hook = await startWebhookReceiver();
    cloud = await startWebhookReceiver();
    const config = notificationsSchema.parse({
      endpoints: [
        { name: 'hook', url: hook.url, headers: { Authorization: ['Bearer hook-token'] }, threshold: 2, backoff: '20ms' },
        { name: 'cloud', url: cloud.url, format: 'cloudevents', ignore: { actions: ['pull', 'delete', 'mount'] } },
      ],
    });
    notifier = createNotifier(config, { sourceAddr: 'registry.test:5000' })!;
    server = await startTestRegistry({ events: notifier });
  });

  after(async () => {
    await server.close();
    await notifier.close(1000);
    await hook.close();
    await cloud.close();
  });

  const since = (start: number) => (events: readonly RegistryEvent[]) => events.slice(start);
  /** Waits until the push event of a manifest has arrived (so later events can be counted from there). */
  const delivered = (digest: string) => hook.waitFor((events) => events.some((e) => e.action === 'push' && e.target.digest === digest));

  test('a push: one event per blob and one for the manifest, with digests, sizes, tag and URLs', async () => {
    const start = hook.events.length;
    const layer = uniqueBytes(300);
    const image = await pushImage(server.url, 'events/app', 'v1', { layers: [layer] });
    await hook.waitFor((events) => events.length >= start + 3);
    const [config, blob, manifest] = since(start)(hook.events) as [RegistryEvent, RegistryEvent, RegistryEvent];
    assert.deepEqual(
      [config.action, blob.action, manifest.action],
      ['push', 'push', 'push'],
    );
    assert.equal(blob.target.mediaType, 'application/octet-stream');
    assert.equal(blob.target.size, 300);
    assert.equal(blob.target.length, 300);
    assert.equal(blob.target.repository, 'events/app');
    assert.match(blob.target.url, new RegExp(`/v2/events/app/blobs/${blob.target.digest}$`));
    assert.deepEqual(manifest.target, {
      mediaType: mediaTypes.ociManifest,
      digest: image.digest,
      size: image.size,
      length: image.size,
      tag: 'v1',
      repository: 'events/app',
      url: `/v2/events/app/manifests/${image.digest}`,
    });
    assert.equal(manifest.request.method, 'PUT');
    assert.equal(manifest.request.host, server.hostPort);
    assert.match(manifest.request.addr, /^127\.0\.0\.1:\d+$/);
    assert.deepEqual(manifest.actor, {});
    assert.equal(manifest.source.addr, 'registry.test:5000');
    // Distribution's envelope and the endpoint's headers.
    const request = hook.requests.at(-1)!;
    assert.equal(request.contentType, 'application/vnd.docker.distribution.events.v1+json');
    assert.equal(request.headers.authorization, 'Bearer hook-token');
    // The CloudEvents endpoint: one structured-mode event per request.
    await cloud.waitFor((events) => events.some((e) => e.target.digest === image.digest));
    const cloudRequest = cloud.requests.find((r) => (r.body as { data: RegistryEvent }).data.target.digest === image.digest)!;
    assert.equal(cloudRequest.contentType, 'application/cloudevents+json');
    assert.deepEqual(
      { ...(cloudRequest.body as Record<string, unknown>), data: undefined, time: undefined, id: undefined, source: undefined },
      { specversion: '1.0', type: 'io.berth.registry.manifest.push', subject: `events/app@${image.digest}`, datacontenttype: 'application/json', data: undefined, time: undefined, id: undefined, source: undefined },
    );
  });

  test('pulls: GET of a manifest and a blob make events, HEAD and 304 do not', async () => {
    const image = await pushImage(server.url, 'events/pull', 'latest');
    const manifest = JSON.parse(image.bytes.toString()) as { layers: { digest: string; size: number }[] };
    const layer = manifest.layers[0]!;
    await delivered(image.digest);
    const start = hook.events.length;
    assert.equal((await fetch(`${server.url}/v2/events/pull/manifests/latest`, { method: 'HEAD' })).status, 200);
    assert.equal((await fetch(`${server.url}/v2/events/pull/blobs/${layer.digest}`, { method: 'HEAD' })).status, 200);
    const notModified = await fetch(`${server.url}/v2/events/pull/manifests/latest`, { headers: { 'If-None-Match': `"${image.digest}"` } });
    assert.equal(notModified.status, 304);
    const got = await fetch(`${server.url}/v2/events/pull/manifests/latest`, { headers: { Accept: mediaTypes.ociManifest } });
    assert.equal(got.status, 200);
    await got.arrayBuffer();
    const blob = await fetch(`${server.url}/v2/events/pull/blobs/${layer.digest}`);
    assert.equal(blob.status, 200);
    await blob.arrayBuffer();
    await hook.waitFor((events) => events.length >= start + 2);
    const pulls = since(start)(hook.events);
    assert.deepEqual(
      pulls.map((e) => [e.action, e.request.method, e.target.digest, e.target.size, e.target.tag]),
      [
        ['pull', 'GET', image.digest, image.size, 'latest'],
        ['pull', 'GET', layer.digest, layer.size, undefined],
      ],
    );
  });

  test('mounts and deletes', async () => {
    const source = await pushBlob(server.url, 'events/from', uniqueBytes(40));
    const image = await pushImage(server.url, 'events/gone', 'v1');
    await delivered(image.digest);
    const start = hook.events.length;
    const mount = await fetch(`${server.url}/v2/events/to/blobs/uploads/?mount=${source.digest}&from=events/from`, { method: 'POST' });
    assert.equal(mount.status, 201);
    assert.equal((await fetch(`${server.url}/v2/events/gone/manifests/${image.digest}`, { method: 'DELETE' })).status, 202);
    assert.equal((await fetch(`${server.url}/v2/events/from/blobs/${source.digest}`, { method: 'DELETE' })).status, 202);
    await hook.waitFor((events) => events.length >= start + 3);
    const [mounted, deleted, blobDeleted] = since(start)(hook.events) as [RegistryEvent, RegistryEvent, RegistryEvent];
    assert.equal(mounted.action, 'mount');
    assert.deepEqual(
      { repository: mounted.target.repository, digest: mounted.target.digest, size: mounted.target.size, from: mounted.target.fromRepository },
      { repository: 'events/to', digest: source.digest, size: 40, from: 'events/from' },
    );
    assert.deepEqual([deleted.action, deleted.target.digest, deleted.target.repository], ['delete', image.digest, 'events/gone']);
    assert.deepEqual([blobDeleted.action, blobDeleted.target.digest], ['delete', source.digest]);
  });

  test('an endpoint that fails, then recovers, gets every event once and in order; pushes do not wait for it', async () => {
    hook.status = 500;
    const failedBefore = hook.requests.length;
    const start = hook.events.length;
    const pushed: string[] = [];
    for (let i = 0; i < 3; i++) pushed.push((await pushImage(server.url, 'events/retry', `t${i}`)).digest);
    // The pushes above all succeeded while every delivery failed.
    await new Promise<void>((resolve) => {
      const check = () => (hook.requests.length >= failedBefore + 3 ? resolve() : setTimeout(check, 5));
      check();
    });
    assert.equal(hook.events.length, start);
    hook.status = 200;
    await hook.waitFor((events) => events.length >= start + 9);
    const delivered = since(start)(hook.events);
    assert.equal(delivered.length, 9, 'each event once');
    assert.equal(new Set(delivered.map((e) => e.id)).size, 9);
    assert.deepEqual(
      delivered.filter((e) => e.target.mediaType === mediaTypes.ociManifest).map((e) => e.target.digest),
      pushed,
    );
    // Order: each image's two blobs come before its manifest.
    assert.deepEqual(
      delivered.map((e) => (e.target.mediaType === mediaTypes.ociManifest ? 'm' : 'b')).join(''),
      'bbmbbmbbm',
    );
  });
});
