import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

/** An attribute value as OTLP carries it (arrays and maps are not needed here). */
export type AttributeValue = string | number | boolean;

/** OTLP's SpanKind numbers (opentelemetry-proto trace.proto). */
export const SpanKind = { internal: 1, server: 2, client: 3 } as const;
export type SpanKind = (typeof SpanKind)[keyof typeof SpanKind];

/** OTLP's Status.StatusCode numbers: unset, ok, error. */
export const SpanStatus = { unset: 0, ok: 1, error: 2 } as const;
export type SpanStatus = (typeof SpanStatus)[keyof typeof SpanStatus];

/** A span once ended: what an exporter sends. */
export interface FinishedSpan {
  /** 32 lower-case hex digits. */
  readonly traceId: string;
  /** 16 lower-case hex digits. */
  readonly spanId: string;
  /** The parent's span id; undefined for a trace's root. */
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: SpanKind;
  /** Wall-clock nanoseconds since the Unix epoch. */
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly status: SpanStatus;
}

/** Where ended spans go (the OTLP exporter); `export` must not block or throw. */
export interface SpanSink {
  export(span: FinishedSpan): void;
  /** Sends what is queued and stops. */
  shutdown(): Promise<void>;
}

/** The trace a span belongs to, as W3C Trace Context carries it. */
export interface SpanContext {
  readonly traceId: string;
  readonly spanId: string;
  /** The caller's `sampled` flag: false means nothing of this trace is recorded. */
  readonly sampled: boolean;
}

/** A span in progress. Ending it twice is harmless: only the first end counts. */
export class Span {
  readonly attributes: Record<string, AttributeValue> = {};
  status: SpanStatus = SpanStatus.unset;
  private readonly start: bigint;
  private ended = false;

  constructor(
    private readonly tracer: Tracer,
    readonly name: string,
    readonly kind: SpanKind,
    readonly context: SpanContext,
    readonly parentSpanId: string | undefined,
  ) {
    this.start = tracer.now();
  }

  /** Sets attributes; undefined values are left out. */
  set(attributes: Readonly<Record<string, AttributeValue | undefined>>): this {
    for (const [key, value] of Object.entries(attributes)) if (value !== undefined) this.attributes[key] = value;
    return this;
  }

  end(name = this.name): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.context.sampled) return;
    this.tracer.sink.export({
      traceId: this.context.traceId,
      spanId: this.context.spanId,
      parentSpanId: this.parentSpanId,
      name,
      kind: this.kind,
      startTimeUnixNano: this.start,
      endTimeUnixNano: this.tracer.now(),
      attributes: this.attributes,
      status: this.status,
    });
  }
}

/**
 * Makes spans and knows the current one: the request span is entered with `run` for the whole of
 * the request's handling, and AsyncLocalStorage carries it through every await, so the storage
 * wrapper finds its parent without the span being passed down through the registry code.
 */
export class Tracer {
  private readonly current = new AsyncLocalStorage<Span>();
  // Wall clock at one instant plus the monotonic clock since: nanosecond resolution and no
  // jumps inside a span when the system clock is adjusted.
  private readonly wallAtStart = BigInt(Date.now()) * 1_000_000n;
  private readonly monotonicAtStart = process.hrtime.bigint();

  constructor(readonly sink: SpanSink) {}

  /** Nanoseconds since the Unix epoch. */
  now(): bigint {
    return this.wallAtStart + (process.hrtime.bigint() - this.monotonicAtStart);
  }

  /**
   * A server span for an incoming request: a child of the caller's span when `traceparent` is a
   * valid W3C header (the caller's trace continues), else the root of a new trace.
   */
  startRequestSpan(name: string, traceparent: string | undefined): Span {
    const parent = parseTraceparent(traceparent);
    const context = { traceId: parent?.traceId ?? newTraceId(), spanId: newSpanId(), sampled: parent?.sampled ?? true };
    return new Span(this, name, SpanKind.server, context, parent?.spanId);
  }

  /** A child of the current span, or undefined outside any span (nothing to attach it to). */
  startChildSpan(name: string, kind: SpanKind = SpanKind.internal): Span | undefined {
    const parent = this.current.getStore();
    if (!parent) return undefined;
    const context = { traceId: parent.context.traceId, spanId: newSpanId(), sampled: parent.context.sampled };
    return new Span(this, name, kind, context, parent.context.spanId);
  }

  /** Runs `work` with `span` as the current span (for everything it awaits or schedules). */
  run<T>(span: Span, work: () => T): T {
    return this.current.run(span, work);
  }

  /** Sends the spans still queued; spans ended afterwards are dropped. */
  async shutdown(): Promise<void> {
    await this.sink.shutdown();
  }
}

const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * A W3C `traceparent` header (version-traceid-parentid-flags), or undefined when absent or
 * invalid: version ff, all-zero ids, or a version-00 header with extra fields are refused, as the
 * Trace Context recommendation says; a later version's extra fields are ignored.
 */
export function parseTraceparent(header: string | undefined): SpanContext | undefined {
  const match = header === undefined ? null : traceparentPattern.exec(header.trim().toLowerCase());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

function newTraceId(): string {
  return randomBytes(16).toString('hex');
}

function newSpanId(): string {
  return randomBytes(8).toString('hex');
}
