import type { FileInfo, FileWriter, ReadOptions, StorageDriver, WriteOptions } from '../storage/driver.js';
import { isNotFound } from '../storage/driver.js';
import type { Readable } from 'node:stream';
import type { RegistryMetrics } from './metrics.js';
import { SpanKind, SpanStatus, type Tracer } from './tracing.js';

type StorageMetrics = Pick<RegistryMetrics, 'storageCalls' | 'storageDuration' | 'storageErrors'>;

/**
 * A StorageDriver that counts and times every call of the driver it wraps, so every driver gets
 * the same metrics, and with a tracer makes each call a child span of the request's span (calls
 * outside a request, like garbage collection, make none). A `reader` or `writer` span covers
 * opening the stream, not the transfer that follows. Results pass through untouched: the streams `reader` returns are the wrapped
 * driver's own objects, so what is recorded about them (the filesystem driver's file slices, see
 * storage/file-slice.ts) still applies. The optional methods exist exactly when the wrapped
 * driver has them, as callers test for their presence.
 */
export class InstrumentedDriver implements StorageDriver {
  readonly name: string;
  readonly redirectURL?: (path: string) => Promise<string | undefined>;
  readonly changeToken?: (path: string) => Promise<string | undefined>;
  readonly sweepTemporaries?: StorageDriver['sweepTemporaries'];

  constructor(
    readonly inner: StorageDriver,
    private readonly metrics: StorageMetrics | undefined,
    private readonly tracer?: Tracer,
  ) {
    this.name = inner.name;
    const { redirectURL, changeToken, sweepTemporaries } = inner;
    if (redirectURL) this.redirectURL = (path) => this.time('redirectURL', () => redirectURL.call(inner, path), path);
    if (changeToken) this.changeToken = (path) => this.time('changeToken', () => changeToken.call(inner, path), path);
    // A background walk of the whole tree, not a request's storage call: forwarded, not timed.
    if (sweepTemporaries) this.sweepTemporaries = (options) => sweepTemporaries.call(inner, options);
  }

  getContent(path: string): Promise<Buffer> {
    return this.time('getContent', () => this.inner.getContent(path), path);
  }

  putContent(path: string, content: Uint8Array): Promise<void> {
    return this.time('putContent', () => this.inner.putContent(path, content), path);
  }

  reader(path: string, options?: ReadOptions): Promise<Readable> {
    return this.time('reader', () => this.inner.reader(path, options), path);
  }

  writer(path: string, options?: WriteOptions): Promise<FileWriter> {
    return this.time('writer', () => this.inner.writer(path, options), path);
  }

  stat(path: string): Promise<FileInfo> {
    return this.time('stat', () => this.inner.stat(path), path);
  }

  list(path: string): Promise<string[]> {
    return this.time('list', () => this.inner.list(path), path);
  }

  move(from: string, to: string): Promise<void> {
    return this.time('move', () => this.inner.move(from, to), from);
  }

  delete(path: string): Promise<void> {
    return this.time('delete', () => this.inner.delete(path), path);
  }

  private async time<T>(operation: string, call: () => Promise<T>, path: string): Promise<T> {
    const labels = { driver: this.inner.name, operation };
    const stopTimer = this.metrics?.storageDuration.startTimer(labels);
    const span = this.tracer?.startChildSpan(`storage ${operation}`, SpanKind.internal);
    span?.set({ 'berth.storage.driver': this.inner.name, 'berth.storage.operation': operation, 'berth.storage.path': path });
    try {
      const result = await call();
      this.metrics?.storageCalls.inc({ ...labels, outcome: 'ok' });
      span?.set({ 'berth.storage.outcome': 'ok' });
      return result;
    } catch (error) {
      // "Not found" is an answer the registry asks for all the time (does this link exist?), not a fault.
      const notFound = isNotFound(error);
      const outcome = notFound ? 'not_found' : 'error';
      this.metrics?.storageCalls.inc({ ...labels, outcome });
      if (!notFound) this.metrics?.storageErrors.inc(labels);
      if (span) {
        span.set({ 'berth.storage.outcome': outcome });
        if (!notFound) span.status = SpanStatus.error;
      }
      throw error;
    } finally {
      stopTimer?.();
      span?.end();
    }
  }
}
