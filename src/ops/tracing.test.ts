import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseTraceparent, SpanKind, SpanStatus, Tracer, type FinishedSpan, type SpanSink } from './tracing.js';

/** A sink that keeps what it is given. */
function memorySink(): SpanSink & { spans: FinishedSpan[] } {
  const spans: FinishedSpan[] = [];
  return { spans, export: (span) => void spans.push(span), shutdown: async () => {} };
}

describe('parseTraceparent', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const spanId = '00f067aa0ba902b7';

  test('a valid header: ids and the sampled flag', () => {
    assert.deepEqual(parseTraceparent(`00-${traceId}-${spanId}-01`), { traceId, spanId, sampled: true });
    assert.deepEqual(parseTraceparent(`00-${traceId.toUpperCase()}-${spanId}-00`), { traceId, spanId, sampled: false });
    // A later version may add fields; they are ignored.
    assert.deepEqual(parseTraceparent(`01-${traceId}-${spanId}-03-extra`), { traceId, spanId, sampled: true });
  });

  test('invalid headers are ignored (a new trace starts)', () => {
    for (const header of [
      undefined,
      '',
      'garbage',
      `ff-${traceId}-${spanId}-01`,
      `00-${'0'.repeat(32)}-${spanId}-01`,
      `00-${traceId}-${'0'.repeat(16)}-01`,
      `00-${traceId}-${spanId}-01-extra`,
      `00-${traceId.slice(1)}-${spanId}-01`,
    ]) {
      assert.equal(parseTraceparent(header), undefined, String(header));
    }
  });
});

describe('Tracer', () => {
  test('child spans belong to the span current in run(), across awaits', async () => {
    const sink = memorySink();
    const tracer = new Tracer(sink);
    assert.equal(tracer.startChildSpan('outside'), undefined);
    const root = tracer.startRequestSpan('GET', undefined);
    await tracer.run(root, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      const child = tracer.startChildSpan('storage stat')!;
      child.set({ 'berth.storage.path': '/x', skipped: undefined });
      child.status = SpanStatus.error;
      child.end();
      child.end();
    });
    root.set({ 'http.response.status_code': 200 }).end('GET base');
    assert.equal(sink.spans.length, 2);
    const [child, request] = sink.spans as [FinishedSpan, FinishedSpan];
    assert.equal(request.name, 'GET base');
    assert.equal(request.kind, SpanKind.server);
    assert.equal(request.parentSpanId, undefined);
    assert.match(request.traceId, /^[0-9a-f]{32}$/);
    assert.equal(child.traceId, request.traceId);
    assert.equal(child.parentSpanId, request.spanId);
    assert.equal(child.kind, SpanKind.internal);
    assert.equal(child.status, SpanStatus.error);
    assert.deepEqual(child.attributes, { 'berth.storage.path': '/x' });
    assert.ok(child.endTimeUnixNano >= child.startTimeUnixNano);
    assert.ok(request.startTimeUnixNano <= child.startTimeUnixNano && child.endTimeUnixNano <= request.endTimeUnixNano);
  });

  test("a caller's trace is continued; an unsampled one is not recorded", () => {
    const sink = memorySink();
    const tracer = new Tracer(sink);
    const traceId = 'a'.repeat(32);
    const span = tracer.startRequestSpan('GET', `00-${traceId}-${'b'.repeat(16)}-01`);
    tracer.run(span, () => tracer.startChildSpan('storage list')!.end());
    span.end();
    assert.deepEqual(
      sink.spans.map((s) => [s.traceId, s.parentSpanId]),
      [
        [traceId, span.context.spanId],
        [traceId, 'b'.repeat(16)],
      ],
    );
    const unsampled = tracer.startRequestSpan('GET', `00-${traceId}-${'c'.repeat(16)}-00`);
    tracer.run(unsampled, () => tracer.startChildSpan('storage list')!.end());
    unsampled.end();
    assert.equal(sink.spans.length, 2);
  });
});
