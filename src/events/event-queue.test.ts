import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EventFacts, RegistryEvent } from './event.js';
import { eventFilter } from './event-filter.js';
import { EventQueue, type DeliveryMetrics } from './event-queue.js';
import type { EventSink } from './event-sink.js';
import { Notifier } from './notifier.js';

/** A sink that fails while `failing` is true and records what it accepted, in order. */
class FakeSink implements EventSink {
  readonly name = 'fake';
  readonly accepted: RegistryEvent[] = [];
  attempts = 0;
  failing = false;
  private waiters: { count: number; resolve: () => void }[] = [];

  constructor(readonly maxBatch = 100) {}

  async write(events: readonly RegistryEvent[]): Promise<void> {
    this.attempts++;
    await Promise.resolve();
    if (this.failing) throw new Error('endpoint down');
    this.accepted.push(...events);
    for (const waiter of this.waiters) if (this.accepted.length >= waiter.count) waiter.resolve();
  }

  async close(): Promise<void> {}

  /** Resolves once `count` events have been accepted. */
  received(count: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.accepted.length >= count) resolve();
      else this.waiters.push({ count, resolve });
    });
  }

  /** Resolves once the sink has been tried `count` times. */
  async tried(count: number): Promise<void> {
    while (this.attempts < count) await new Promise((resolve) => setImmediate(resolve));
  }
}

function facts(n: number, overrides: Partial<EventFacts> = {}): EventFacts {
  return {
    action: 'push',
    target: { mediaType: 'application/octet-stream', digest: `sha256:${String(n).padStart(64, '0')}`, size: n, repository: 'repo', url: `http://r/v2/repo/blobs/${n}` },
    request: { id: `r${n}`, addr: '127.0.0.1:1', host: 'r', method: 'PUT', useragent: 'test' },
    actor: {},
    ...overrides,
  };
}

/** Counters that add up into a plain map, for asserting on. */
function countingMetrics(): DeliveryMetrics & { counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const counter = (key: string) => ({ inc: (_labels: { endpoint: string }, value = 1) => counts.set(key, (counts.get(key) ?? 0) + value) });
  return {
    counts,
    delivered: counter('delivered'),
    failures: counter('failures'),
    dropped: counter('dropped'),
    queueLength: { set: (_labels: { endpoint: string }, value: number) => counts.set('length', value) },
  };
}

const sizes = (events: readonly RegistryEvent[]) => events.map((e) => e.target.size);

describe('event queue', () => {
  test('delivers every event once, in order, with ids, timestamps and the source filled in', async () => {
    const sink = new FakeSink(3);
    const queue = new EventQueue(sink, { maxLength: 100, threshold: 3, backoffMs: 1 });
    const notifier = new Notifier([queue], 'registry.test:5000');
    for (let i = 1; i <= 10; i++) notifier.publish(facts(i));
    await sink.received(10);
    assert.deepEqual(sizes(sink.accepted), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(new Set(sink.accepted.map((e) => e.id)).size, 10);
    assert.equal(sink.accepted[0]!.source.addr, 'registry.test:5000');
    assert.ok(!Number.isNaN(Date.parse(sink.accepted[0]!.timestamp)));
    assert.deepEqual(await notifier.close(1000), new Map([['fake', 0]]));
  });

  test('retries with back-off until the endpoint recovers: every event delivered once, in order', async () => {
    const sink = new FakeSink(2);
    sink.failing = true;
    const metrics = countingMetrics();
    const queue = new EventQueue(sink, { maxLength: 100, threshold: 2, backoffMs: 5, metrics });
    const notifier = new Notifier([queue], 'r:1');
    for (let i = 1; i <= 5; i++) notifier.publish(facts(i));
    await sink.tried(6);
    assert.equal(sink.accepted.length, 0);
    assert.equal(queue.length, 5, 'nothing is lost while the endpoint is down');
    for (let i = 6; i <= 7; i++) notifier.publish(facts(i));
    sink.failing = false;
    await sink.received(7);
    assert.deepEqual(sizes(sink.accepted), [1, 2, 3, 4, 5, 6, 7]);
    assert.ok((metrics.counts.get('failures') ?? 0) >= 6);
    await notifier.close(1000);
    assert.equal(metrics.counts.get('delivered'), 7);
    assert.equal(metrics.counts.get('length'), 0);
  });

  test('a dead endpoint: the queue stays at its bound, the oldest events are dropped and counted', async () => {
    const sink = new FakeSink(1);
    sink.failing = true;
    const metrics = countingMetrics();
    const warnings: string[] = [];
    const log = { warn: (_fields: Record<string, unknown>, message: string) => warnings.push(message), info: () => undefined };
    const queue = new EventQueue(sink, { maxLength: 10, threshold: 1, backoffMs: 60_000, metrics, log });
    for (let i = 1; i <= 1000; i++) queue.push({ ...facts(i), id: String(i), timestamp: '', source: { addr: '', instanceID: '' } });
    assert.equal(queue.length, 10);
    assert.equal(metrics.counts.get('length'), 10);
    assert.equal(metrics.counts.get('dropped'), 990);
    assert.ok(warnings.includes('event queue is full; dropping the oldest events'));
    // Closing gives up on what the endpoint never took and says how much that was.
    assert.equal(await queue.close(10), 10);
    assert.ok(warnings.includes('events were dropped while the queue was full'));
  });

  test('the newest events are kept when the endpoint comes back', async () => {
    const sink = new FakeSink(1);
    sink.failing = true;
    const queue = new EventQueue(sink, { maxLength: 3, threshold: 100, backoffMs: 1 });
    const notifier = new Notifier([queue], 'r:1');
    notifier.publish(facts(1));
    await sink.tried(1);
    for (let i = 2; i <= 9; i++) notifier.publish(facts(i));
    sink.failing = false;
    await sink.received(3);
    // Event 1 was being sent (it is never dropped mid-delivery); 2..7 made room for 8 and 9.
    assert.deepEqual(sizes(sink.accepted), [1, 8, 9]);
    await notifier.close(1000);
  });

  test('ignore rules: media types and actions', async () => {
    const accepts = eventFilter({ ignoredMediaTypes: ['application/octet-stream'], ignoredActions: ['pull'] });
    assert.ok(accepts);
    const sink = new FakeSink();
    const queue = new EventQueue(sink, { maxLength: 100, threshold: 1, backoffMs: 1, accepts });
    const notifier = new Notifier([queue], 'r:1');
    const manifest = 'application/vnd.oci.image.manifest.v1+json';
    notifier.publish(facts(1)); // a blob: ignored media type
    notifier.publish(facts(2, { action: 'pull', target: { mediaType: manifest, digest: 'sha256:2', size: 2, repository: 'repo', url: 'u' } }));
    notifier.publish(facts(3, { target: { mediaType: manifest, digest: 'sha256:3', size: 3, repository: 'repo', url: 'u' } }));
    notifier.publish(facts(4, { action: 'delete', target: { digest: 'sha256:4', repository: 'repo', url: 'u' } }));
    await sink.received(2);
    assert.deepEqual(
      sink.accepted.map((e) => e.target.digest),
      ['sha256:3', 'sha256:4'],
    );
    assert.equal(eventFilter({}), undefined, 'no rules: nothing to run per event');
    await notifier.close(1000);
  });
});
