import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { OtlpExporter, otlpTraceRequest } from './otlp-exporter.js';
import { SpanKind, SpanStatus, type FinishedSpan } from './tracing.js';

const silent = pino({ level: 'silent' });

function span(n: number): FinishedSpan {
  return {
    traceId: 'a'.repeat(32),
    spanId: n.toString(16).padStart(16, '0'),
    parentSpanId: n === 0 ? undefined : '0'.repeat(15) + '1',
    name: `span ${n}`,
    kind: SpanKind.internal,
    startTimeUnixNano: 1_700_000_000_000_000_000n + BigInt(n),
    endTimeUnixNano: 1_700_000_000_000_000_500n + BigInt(n),
    attributes: { text: 'x', count: 3, ratio: 0.5, flag: true },
    status: SpanStatus.ok,
  };
}

async function server(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const http = createServer(handler);
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  return { http, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/v1/traces` };
}

describe('OTLP JSON encoding', () => {
  test('hex ids, integer enums, nanoseconds and 64-bit integers as strings, typed attribute values', () => {
    const body = otlpTraceRequest({ 'service.name': 'berth' }, [span(0), span(1)]) as {
      resourceSpans: [{ resource: { attributes: unknown[] }; scopeSpans: [{ scope: { name: string }; spans: Record<string, unknown>[] }] }];
    };
    const [resourceSpans] = body.resourceSpans;
    assert.deepEqual(resourceSpans.resource.attributes, [{ key: 'service.name', value: { stringValue: 'berth' } }]);
    const [root, child] = resourceSpans.scopeSpans[0].spans;
    assert.equal(resourceSpans.scopeSpans[0].scope.name, 'berth');
    assert.equal(root!.parentSpanId, undefined);
    assert.deepEqual(child, {
      traceId: 'a'.repeat(32),
      spanId: '0000000000000001',
      parentSpanId: '0000000000000001',
      name: 'span 1',
      kind: 1,
      startTimeUnixNano: '1700000000000000001',
      endTimeUnixNano: '1700000000000000501',
      attributes: [
        { key: 'text', value: { stringValue: 'x' } },
        { key: 'count', value: { intValue: '3' } },
        { key: 'ratio', value: { doubleValue: 0.5 } },
        { key: 'flag', value: { boolValue: true } },
      ],
      status: { code: 1 },
    });
  });
});

describe('OtlpExporter', { timeout: 30_000 }, () => {
  test('batches spans into POSTs with the configured headers; shutdown sends what is queued', async () => {
    const received: { headers: IncomingMessage['headers']; count: number }[] = [];
    const receiver = await server((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] };
        received.push({ headers: req.headers, count: body.resourceSpans[0]!.scopeSpans[0]!.spans.length });
        res.end('{}');
      });
    });
    try {
      const exporter = new OtlpExporter({ url: receiver.url, resource: { 'service.name': 't' }, headers: { 'x-api-key': 'k' }, maxBatch: 4, intervalMs: 60_000, log: silent });
      for (let i = 0; i < 10; i++) exporter.export(span(i));
      await exporter.shutdown();
      assert.equal(received.reduce((sum, r) => sum + r.count, 0), 10);
      assert.ok(received.every((r) => r.count <= 4 && r.headers['x-api-key'] === 'k' && r.headers['content-type'] === 'application/json'));
      assert.equal(exporter.dropped, 0);
      exporter.export(span(11));
      await exporter.flush();
      assert.equal(received.length, 3, 'nothing is queued after shutdown');
    } finally {
      receiver.http.close();
    }
  });

  test('a collector that never answers: the queue stays bounded, the excess is dropped and counted, shutdown is bounded', async () => {
    const hanging: ServerResponse[] = [];
    const receiver = await server((_req, res) => void hanging.push(res));
    try {
      const exporter = new OtlpExporter({ url: receiver.url, resource: {}, maxQueue: 8, maxBatch: 4, intervalMs: 60_000, timeoutMs: 60_000, log: silent });
      for (let i = 0; i < 4; i++) exporter.export(span(i));
      // The first batch is in flight (and stays there); 8 more fit in the queue, the rest are dropped.
      for (let i = 4; i < 20; i++) exporter.export(span(i));
      assert.equal(exporter.dropped, 8);
      await exporter.shutdown(200);
    } finally {
      for (const res of hanging) res.destroy();
      receiver.http.closeAllConnections();
      receiver.http.close();
    }
  });

  test('an unreachable collector: batches are dropped and counted, nothing throws', async () => {
    const receiver = await server(() => undefined);
    const { url } = receiver;
    receiver.http.close();
    const exporter = new OtlpExporter({ url, resource: {}, intervalMs: 60_000, log: silent });
    for (let i = 0; i < 3; i++) exporter.export(span(i));
    await exporter.flush();
    assert.equal(exporter.dropped, 3);
    await exporter.shutdown();
  });
});
