import type { FileInfo, FileWriter, ReadOptions, StorageDriver, WriteOptions } from '../storage/driver.js';
import { isNotFound } from '../storage/driver.js';
import type { Readable } from 'node:stream';
import type { RegistryMetrics } from './metrics.js';

type StorageMetrics = Pick<RegistryMetrics, 'storageCalls' | 'storageDuration' | 'storageErrors'>;

/**
 * A StorageDriver that counts and times every call of the driver it wraps, so every driver gets
 * the same metrics. Results pass through untouched: the streams `reader` returns are the wrapped
 * driver's own objects, so what is recorded about them (the filesystem driver's file slices, see
 * storage/file-slice.ts) still applies. The optional methods exist exactly when the wrapped
 * driver has them, as callers test for their presence.
 */
export class InstrumentedDriver implements StorageDriver {
  readonly name: string;
  readonly redirectURL?: (path: string) => Promise<string | undefined>;
  readonly changeToken?: (path: string) => Promise<string | undefined>;

  constructor(
    readonly inner: StorageDriver,
    private readonly metrics: StorageMetrics,
  ) {
    this.name = inner.name;
    const { redirectURL, changeToken } = inner;
    if (redirectURL) this.redirectURL = (path) => this.time('redirectURL', () => redirectURL.call(inner, path));
    if (changeToken) this.changeToken = (path) => this.time('changeToken', () => changeToken.call(inner, path));
  }

  getContent(path: string): Promise<Buffer> {
    return this.time('getContent', () => this.inner.getContent(path));
  }

  putContent(path: string, content: Uint8Array): Promise<void> {
    return this.time('putContent', () => this.inner.putContent(path, content));
  }

  reader(path: string, options?: ReadOptions): Promise<Readable> {
    return this.time('reader', () => this.inner.reader(path, options));
  }

  writer(path: string, options?: WriteOptions): Promise<FileWriter> {
    return this.time('writer', () => this.inner.writer(path, options));
  }

  stat(path: string): Promise<FileInfo> {
    return this.time('stat', () => this.inner.stat(path));
  }

  list(path: string): Promise<string[]> {
    return this.time('list', () => this.inner.list(path));
  }

  move(from: string, to: string): Promise<void> {
    return this.time('move', () => this.inner.move(from, to));
  }

  delete(path: string): Promise<void> {
    return this.time('delete', () => this.inner.delete(path));
  }

  private async time<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const labels = { driver: this.inner.name, operation };
    const stopTimer = this.metrics.storageDuration.startTimer(labels);
    try {
      const result = await call();
      this.metrics.storageCalls.inc({ ...labels, outcome: 'ok' });
      return result;
    } catch (error) {
      // "Not found" is an answer the registry asks for all the time (does this link exist?), not a fault.
      const notFound = isNotFound(error);
      this.metrics.storageCalls.inc({ ...labels, outcome: notFound ? 'not_found' : 'error' });
      if (!notFound) this.metrics.storageErrors.inc(labels);
      throw error;
    } finally {
      stopTimer();
    }
  }
}
