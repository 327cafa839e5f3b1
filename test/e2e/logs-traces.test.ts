// `berth serve` (the compiled CLI: npm run build first) with each log.formatter and log.fields,
// read from its output; and with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local OTLP/HTTP
// receiver: spans for each request, storage calls as their children, a caller's traceparent
// continued.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pushImage } from '../helpers/push.js';
import { freePort, spawnRegistry, type SpawnedRegistry } from '../helpers/registry-server.js';

function configYaml(work: string, port: number, log: string[]): string {
  return [
    'version: 0.1',
    'log:',
    ...log.map((line) => `  ${line}`),
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(work, 'data')}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n');
}

/** Waits until `found` holds for the process output (lines are written as requests end). */
async function waitFor<T>(what: string, output: () => string, found: (text: string) => T | undefined): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const result = found(output());
    if (result !== undefined) return result;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${what} did not appear:\n${output()}`);
}

describe('berth serve: log.formatter and log.fields', { timeout: 60_000 }, () => {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-logs-e2e-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  async function serveWith(log: string[]): Promise<SpawnedRegistry> {
    const port = await freePort();
    return await spawnRegistry('berth', configYaml(work, port, log), work, port);
  }

  test('text: human lines with time, level, message and the fields; no config warning for the keys', async () => {
    const registry = await serveWith(['level: info', 'formatter: text', 'fields:', '  environment: staging', '  team: infra']);
    try {
      await (await fetch(`${registry.url}/v2/_catalog`)).arrayBuffer();
      const line = await waitFor('the access log line', registry.output, (text) =>
        text.split('\n').find((l) => / INFO {2}request /.test(l) && l.includes('path=/v2/_catalog')),
      );
      assert.match(line, /^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}request /);
      for (const field of ['method=GET', 'status=200', 'route=catalog', 'environment=staging', 'team=infra']) {
        assert.ok(line.includes(` ${field}`), `${field} in ${line}`);
      }
      const lines = registry.output().trim().split('\n');
      assert.ok(lines.every((l) => !l.startsWith('{')), 'no JSON line');
      assert.ok(lines.some((l) => / INFO {2}berth is listening .*environment=staging/.test(l)));
      assert.ok(!registry.output().includes('not implemented'), registry.output());
    } finally {
      await registry.stop();
    }
  });

  test('json: pino records carrying the fields', async () => {
    const registry = await serveWith(['formatter: json', 'fields:', '  environment: staging']);
    try {
      await (await fetch(`${registry.url}/v2/`)).arrayBuffer();
      const record = await waitFor('the access log record', registry.output, (text) =>
        text
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((r) => r.msg === 'request'),
      );
      assert.equal(record.environment, 'staging');
      assert.equal(record.path, '/v2/');
      assert.equal(record.status, 200);
      assert.equal(record.level, 30);
    } finally {
      await registry.stop();
    }
  });

  test('log.accesslog.disabled: no request lines', async () => {
    const registry = await serveWith(['formatter: json', 'accesslog:', '  disabled: true']);
    try {
      await (await fetch(`${registry.url}/v2/`)).arrayBuffer();
      await (await fetch(`${registry.url}/v2/_catalog`)).arrayBuffer();
    } finally {
      await registry.stop();
    }
    const records = registry
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(records.some((r) => r.msg === 'shutting down'), registry.output());
    assert.ok(!records.some((r) => r.msg === 'request'));
  });
});

/** The parts of an OTLP JSON span the test looks at. */
interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: { stringValue?: string; intValue?: string; boolValue?: boolean } }[];
  status: { code?: number };
  /** service.name of the resource it came with. */
  service?: string;
}

/** An OTLP/HTTP receiver keeping every span POSTed to /v1/traces. */
async function startReceiver(): Promise<{ server: Server; url: string; spans: ReceivedSpan[]; paths: string[] }> {
  const spans: ReceivedSpan[] = [];
  const paths: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const body = JSON.parse(Buffer.concat(chunks).toString()) as {
        resourceSpans: { resource: { attributes: ReceivedSpan['attributes'] }; scopeSpans: { spans: ReceivedSpan[] }[] }[];
      };
      for (const resourceSpan of body.resourceSpans) {
        const service = resourceSpan.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
        for (const scopeSpan of resourceSpan.scopeSpans) for (const span of scopeSpan.spans) spans.push({ ...span, service });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, paths };
}

function attribute(span: ReceivedSpan, key: string): string | boolean | undefined {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? value?.intValue ?? value?.boolValue;
}

describe('berth serve with OTEL_EXPORTER_OTLP_ENDPOINT: traces', { timeout: 60_000 }, () => {
  let work: string;
  let registry: SpawnedRegistry;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-traces-e2e-'));
    receiver = await startReceiver();
    const port = await freePort();
    registry = await spawnRegistry('berth', configYaml(work, port, ['level: info']), work, port, {
      OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/`,
      OTEL_SERVICE_NAME: 'berth-under-test',
    });
  });
  after(async () => {
    await registry?.stop();
    receiver?.server.close();
    await rm(work, { recursive: true, force: true });
  });

  const spansOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);

  test('a push and a pull: a server span per request, storage calls as its children', async () => {
    const pushed = await pushImage(registry.url, 'traced/app', 'v1');
    const pull = await fetch(`${registry.url}/v2/traced/app/manifests/v1`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(pull.status, 200);
    await pull.arrayBuffer();

    const pullSpan = await waitFor('the pull span', () => JSON.stringify(receiver.spans), () =>
      receiver.spans.find((s) => s.name === 'GET manifest' && attribute(s, 'berth.repository') === 'traced/app'),
    );
    const pushSpan = receiver.spans.find((s) => s.name === 'PUT manifest');
    assert.ok(pushSpan, 'the manifest push has a span');
    for (const [span, method, status] of [
      [pullSpan, 'GET', '200'],
      [pushSpan, 'PUT', '201'],
    ] as const) {
      assert.equal(span.kind, 2, 'SERVER');
      assert.equal(span.parentSpanId ?? '', '', 'a new trace: no parent');
      assert.match(span.traceId, /^[0-9a-f]{32}$/);
      assert.match(span.spanId, /^[0-9a-f]{16}$/);
      assert.equal(span.service, 'berth-under-test');
      assert.equal(attribute(span, 'http.request.method'), method);
      assert.equal(attribute(span, 'http.route'), 'manifest');
      assert.equal(attribute(span, 'http.response.status_code'), status);
      assert.equal(attribute(span, 'berth.repository'), 'traced/app');
      assert.ok(BigInt(span.endTimeUnixNano) >= BigInt(span.startTimeUnixNano));

      const children = await waitFor('storage spans', () => JSON.stringify(receiver.spans), () => {
        const found = spansOf(span.traceId).filter((s) => s.spanId !== span.spanId);
        return found.length > 0 ? found : undefined;
      });
      for (const child of children) {
        assert.equal(child.parentSpanId, span.spanId);
        assert.match(child.name, /^storage \w+$/);
        assert.equal(attribute(child, 'berth.storage.driver'), 'filesystem');
        assert.equal(child.name, `storage ${String(attribute(child, 'berth.storage.operation'))}`);
        assert.equal(typeof attribute(child, 'berth.storage.path'), 'string');
      }
      // The manifest is written (push) and read (pull) through the driver.
      assert.ok(children.some((c) => attribute(c, 'berth.storage.operation') === (method === 'PUT' ? 'putContent' : 'getContent')));
    }
    assert.ok(receiver.spans.some((s) => s.name === 'POST upload-start' && attribute(s, 'berth.repository') === 'traced/app'));
    assert.ok(pushed.digest.startsWith('sha256:'));
    assert.ok(receiver.paths.every((p) => p === 'POST /v1/traces application/json'), receiver.paths.join('\n'));
  });

  test('a traceparent header makes the request span part of the caller trace', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    const response = await fetch(`${registry.url}/v2/traced/app/tags/list`, { headers: { traceparent: `00-${traceId}-${parentId}-01` } });
    assert.equal(response.status, 200);
    await response.arrayBuffer();
    const span = await waitFor('the span of the traced request', () => JSON.stringify(receiver.spans), () =>
      spansOf(traceId).find((s) => s.kind === 2),
    );
    assert.equal(span.parentSpanId, parentId);
    assert.equal(span.name, 'GET tags');
    assert.notEqual(span.spanId, parentId);
    const children = await waitFor('its storage spans', () => JSON.stringify(receiver.spans), () => {
      const found = spansOf(traceId).filter((s) => s.parentSpanId === span.spanId);
      return found.length > 0 ? found : undefined;
    });
    assert.ok(children.every((c) => c.name.startsWith('storage ')));
  });

  test('a caller that does not sample its trace gets no spans recorded', async () => {
    const traceId = '5bf92f3577b34da6a3ce929d0e0e4737';
    await (await fetch(`${registry.url}/v2/`, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b8-00` } })).arrayBuffer();
    // A sampled request after it: once its span is in, the unsampled one would have been too.
    const marker = '6bf92f3577b34da6a3ce929d0e0e4738';
    await (await fetch(`${registry.url}/v2/`, { headers: { traceparent: `00-${marker}-00f067aa0ba902b9-01` } })).arrayBuffer();
    await waitFor('the sampled span', () => JSON.stringify(receiver.spans), () => spansOf(marker)[0]);
    assert.deepEqual(spansOf(traceId), []);
  });
});
