// Why a hand-written exporter rather than the OpenTelemetry SDK: the SDK (sdk-trace-node,
// exporter-trace-otlp-http, resources, semantic-conventions and their dependencies) is a large
// dependency tree for what Berth needs: one span per request plus its storage calls, sent as
// OTLP/HTTP JSON. The OTLP JSON encoding is a stable, documented format; this file is all of it
// that Berth uses.
import type { Logger } from 'pino';
import type { AttributeValue, FinishedSpan, SpanSink } from './tracing.js';

/** Where and how to send spans. */
export interface OtlpExporterOptions {
  /** The full traces URL, e.g. `http://collector:4318/v1/traces`. */
  url: string;
  /** The resource's attributes; `service.name` at least. */
  resource: Readonly<Record<string, AttributeValue>>;
  /** Sent with every request (`OTEL_EXPORTER_OTLP_HEADERS`), e.g. an API key. */
  headers?: Readonly<Record<string, string>>;
  /** Spans held at most while waiting to be sent; more are dropped (and counted). Default 2048. */
  maxQueue?: number;
  /** Spans per request at most. Default 512. */
  maxBatch?: number;
  /** How long a span may wait for a batch to fill. Default 1 s. */
  intervalMs?: number;
  /** Per request. Default 10 s. */
  timeoutMs?: number;
  log: Logger;
}

/** The instrumentation scope every span is reported under. */
const scope = { name: 'berth' };

/**
 * Queues ended spans and POSTs them in batches, one request at a time, from a timer: a request
 * only pays for appending to an array. A collector that is slow or gone costs at most `maxQueue`
 * spans of memory; what does not fit is dropped, counted and logged (at most once per batch
 * interval), and sending resumes when the collector answers again.
 */
export class OtlpExporter implements SpanSink {
  private queue: FinishedSpan[] = [];
  private sending: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private stopped = false;
  private droppedSinceLog = 0;
  /** Spans dropped since start: the queue was full, or the collector refused or could not be reached. */
  dropped = 0;
  private readonly maxQueue: number;
  private readonly maxBatch: number;
  private readonly timeoutMs: number;

  /** @param options what it was made with, readable for diagnostics and tests. */
  constructor(readonly options: OtlpExporterOptions) {
    this.maxQueue = options.maxQueue ?? 2048;
    this.maxBatch = options.maxBatch ?? 512;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.timer = setInterval(() => void this.flush(), options.intervalMs ?? 1000);
    // Exporting never keeps the process alive.
    this.timer.unref();
  }

  export(span: FinishedSpan): void {
    if (this.stopped) return;
    if (this.queue.length >= this.maxQueue) {
      this.drop(1);
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= this.maxBatch) void this.flush();
  }

  /** Sends everything queued now (after a request in flight ends); never rejects. */
  async flush(): Promise<void> {
    while (this.sending) await this.sending;
    if (this.droppedSinceLog > 0) {
      this.options.log.warn({ dropped: this.droppedSinceLog, dropped_total: this.dropped, url: this.options.url }, 'traces: spans dropped');
      this.droppedSinceLog = 0;
    }
    if (this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.maxBatch);
    this.sending = this.send(batch).finally(() => (this.sending = undefined));
    await this.sending;
    if (this.queue.length >= this.maxBatch) await this.flush();
  }

  /** Sends what is queued, waiting at most `waitMs` (a stopping process does not hang on a dead collector). */
  async shutdown(waitMs = 5000): Promise<void> {
    clearInterval(this.timer);
    this.stopped = true;
    const drain = async () => {
      while (this.queue.length > 0 || this.sending) await this.flush();
    };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs).unref()));
    await Promise.race([drain(), deadline]);
    clearTimeout(timer);
  }

  private drop(count: number): void {
    this.dropped += count;
    this.droppedSinceLog += count;
  }

  private async send(batch: FinishedSpan[]): Promise<void> {
    try {
      const response = await fetch(this.options.url, {
        method: 'POST',
        headers: { ...this.options.headers, 'content-type': 'application/json' },
        body: JSON.stringify(otlpTraceRequest(this.options.resource, batch)),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await response.body?.cancel();
      if (!response.ok) {
        this.drop(batch.length);
        this.options.log.debug({ status: response.status, url: this.options.url }, 'traces: the collector refused a batch');
      }
    } catch (error) {
      this.drop(batch.length);
      this.options.log.debug({ err: error, url: this.options.url }, 'traces: the collector could not be reached');
    }
  }
}

/** An ExportTraceServiceRequest in OTLP's JSON encoding: hex ids, integer enums, 64-bit numbers as strings. */
export function otlpTraceRequest(resource: Readonly<Record<string, AttributeValue>>, spans: readonly FinishedSpan[]): object {
  return {
    resourceSpans: [
      {
        resource: { attributes: otlpAttributes(resource) },
        scopeSpans: [
          {
            scope,
            spans: spans.map((span) => ({
              traceId: span.traceId,
              spanId: span.spanId,
              ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
              name: span.name,
              kind: span.kind,
              startTimeUnixNano: String(span.startTimeUnixNano),
              endTimeUnixNano: String(span.endTimeUnixNano),
              attributes: otlpAttributes(span.attributes),
              status: { code: span.status },
            })),
          },
        ],
      },
    ],
  };
}

function otlpAttributes(attributes: Readonly<Record<string, AttributeValue>>): object[] {
  return Object.entries(attributes).map(([key, value]) => ({ key, value: otlpValue(value) }));
}

function otlpValue(value: AttributeValue): object {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
}
