// `berth serve` with notifications: a webhook receiver, an endpoint that fails for a while, a
// dead one (a port nothing listens on) and a NATS JetStream subject. A real push and pull with
// skopeo produce the expected events, with the digests and sizes the registry serves, and every
// live endpoint gets the same events in the same order. Needs BERTH_TEST_NATS_URL
// (scripts/services/nats-up.sh, started by npm test) and runs the compiled CLI.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { RegistryEvent } from '../../src/events/event.js';
import { ensureBuilt } from '../helpers/compiled-cli.js';
import { parsePrometheusText, sumOf } from '../helpers/prometheus-text.js';
import { freePort, spawnRegistry, type SpawnedRegistry } from '../helpers/registry-server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { buildTestImages, type TestImages } from './support/images.js';
import { run } from './support/run.js';

const natsUrl = process.env.BERTH_TEST_NATS_URL;

describe('berth serve: events to webhooks and NATS JetStream', { timeout: 180_000 }, () => {
  let work: string;
  let images: TestImages;
  let hook: WebhookReceiver;
  let flaky: WebhookReceiver;
  let registry: SpawnedRegistry;
  let nc: NatsConnection;
  const suffix = randomBytes(4).toString('hex');
  const subject = `berth.e2e.events.${suffix}`;
  const stream = `BERTH_E2E_EVENTS_${suffix}`;
  let pushed: RegistryEvent[] = [];
  let manifestDigest = '';
  let debugBase = '';

  before(async () => {
    assert.ok(
      natsUrl,
      'BERTH_TEST_NATS_URL is not set: the events e2e test needs a nats-server with JetStream (npm test starts one with scripts/services/nats-up.sh)',
    );
    nc = await connect({ servers: natsUrl });
    work = await mkdtemp(join(tmpdir(), 'berth-events-e2e-'));
    await ensureBuilt();
    images = await buildTestImages(join(work, 'images'));
    hook = await startWebhookReceiver();
    flaky = await startWebhookReceiver();
    // Fails until the push is over: every event must still arrive, once and in order.
    flaky.status = 500;
    const [port, deadPort, debugPort] = [await freePort(), await freePort(), await freePort()];
    debugBase = `http://127.0.0.1:${debugPort}`;
    const config = [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(work, 'data')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  debug:',
      `    addr: 127.0.0.1:${debugPort}`,
      '    prometheus:',
      '      enabled: true',
      'notifications:',
      '  endpoints:',
      '    - name: hook',
      `      url: ${hook.url}`,
      '    - name: flaky',
      `      url: ${flaky.url}`,
      '      threshold: 2',
      '      backoff: 50ms',
      '    - name: dead',
      `      url: http://127.0.0.1:${deadPort}/events`,
      '      timeout: 200ms',
      '      threshold: 1',
      '      backoff: 10s',
      '      maxqueue: 3',
      '  nats:',
      '    - name: stream',
      `      url: ${natsUrl}`,
      `      subject: ${subject}`,
      `      stream: ${stream}`,
      '',
    ].join('\n');
    registry = await spawnRegistry('berth', config, work, port);
  });

  after(async () => {
    await registry?.stop();
    await hook?.close();
    await flaky?.close();
    if (nc) {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
    }
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('a skopeo push: blob events and the manifest event, with the digests and sizes the registry serves', async () => {
    // A dead endpoint is configured: the push must succeed regardless.
    await run('skopeo', ['copy', '-q', '--dest-tls-verify=false', images.single.layout, `docker://${registry.hostPort}/e2e/events:v1`]);
    const head = await fetch(`${registry.url}/v2/e2e/events/manifests/v1`, {
      method: 'HEAD',
      headers: { Accept: images.single.manifest.json.mediaType ?? 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(head.status, 200);
    manifestDigest = head.headers.get('docker-content-digest')!;
    const manifestSize = Number(head.headers.get('content-length'));
    await hook.waitFor((events) => events.some((e) => e.action === 'push' && e.target.digest === manifestDigest));
    pushed = hook.events.filter((e) => e.action === 'push');
    const manifest = pushed.find((e) => e.target.digest === manifestDigest)!;
    assert.deepEqual(
      { tag: manifest.target.tag, size: manifest.target.size, repository: manifest.target.repository, mediaType: manifest.target.mediaType },
      { tag: 'v1', size: manifestSize, repository: 'e2e/events', mediaType: head.headers.get('content-type') },
    );
    assert.equal(manifest, pushed.at(-1), 'the manifest comes after its blobs');
    const json = images.single.manifest.json;
    const blobs = [json.config!, ...json.layers!];
    assert.deepEqual(
      pushed
        .filter((e) => e.target.mediaType === 'application/octet-stream')
        .map((e) => [e.target.digest, e.target.size])
        .sort(),
      blobs.map((b) => [b.digest, b.size]).sort(),
    );
    assert.ok(pushed.every((e) => e.source.instanceID === manifest.source.instanceID && e.request.useragent.length > 0));
  });

  test('a skopeo pull: pull events for the manifest and the blobs', async () => {
    await run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${registry.hostPort}/e2e/events:v1`, `oci:${join(work, 'pulled')}:v1`]);
    const json = images.single.manifest.json;
    const wanted = [manifestDigest, json.config!.digest, ...json.layers!.map((l) => l.digest)];
    await hook.waitFor((events) => wanted.every((digest) => events.some((e) => e.action === 'pull' && e.target.digest === digest)));
    const pulls = hook.events.filter((e) => e.action === 'pull');
    assert.ok(pulls.every((e) => e.request.method === 'GET'));
    assert.equal(pulls.find((e) => e.target.digest === manifestDigest)?.target.tag, 'v1');
  });

  test('an endpoint that failed during the push gets every event once, in order, once it recovers', async () => {
    assert.ok(flaky.requests.length > 0 && flaky.events.length === 0, 'the endpoint failed every delivery so far');
    flaky.status = 200;
    const all = hook.events.map((e) => e.id);
    await flaky.waitFor((events) => events.length >= all.length);
    assert.deepEqual(flaky.events.slice(0, all.length).map((e) => e.id), all);
  });

  test('a NATS JetStream consumer receives the same events, in the same order', async () => {
    const all = hook.events.map((e) => e.id);
    const js = jetstream(nc);
    const consumer = await js.consumers.get(stream);
    const received: RegistryEvent[] = [];
    const deadline = Date.now() + 30_000;
    while (received.length < all.length && Date.now() < deadline) {
      const message = await consumer.next({ expires: 2_000 });
      if (!message) continue;
      const envelope = message.json<{ events: RegistryEvent[] }>();
      received.push(...envelope.events);
      assert.equal(message.headers?.get('Nats-Msg-Id'), envelope.events[0]!.id);
    }
    assert.deepEqual(received.slice(0, all.length).map((e) => e.id), all);
    assert.deepEqual(received.find((e) => e.target.digest === manifestDigest && e.action === 'push')?.target.tag, 'v1');
  });

  test('metrics: deliveries per endpoint; the dead endpoint fails, its queue stays at its bound and drops are counted', async () => {
    const metrics = parsePrometheusText(await (await fetch(`${debugBase}/metrics`)).text());
    assert.equal(sumOf(metrics, 'berth_events_delivered_total', { endpoint: 'hook' }), hook.events.length);
    assert.equal(sumOf(metrics, 'berth_events_delivered_total', { endpoint: 'dead' }), 0);
    assert.ok(sumOf(metrics, 'berth_event_delivery_failures_total', { endpoint: 'dead' }) > 0);
    assert.ok(sumOf(metrics, 'berth_event_delivery_failures_total', { endpoint: 'flaky' }) > 0);
    assert.equal(sumOf(metrics, 'berth_event_queue_length', { endpoint: 'dead' }), 3);
    assert.equal(sumOf(metrics, 'berth_events_dropped_total', { endpoint: 'dead' }), hook.events.length - 3);
    assert.equal(sumOf(metrics, 'berth_events_dropped_total', { endpoint: 'hook' }), 0);
  });
});
