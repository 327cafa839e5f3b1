import type { TemporarySweep, TemporarySweepOptions } from '../stale-temporaries.js';
import { pipeline, Transform, Writable, type Readable } from 'node:stream';
import type { FileInfo, FileWriter, ReadOptions, StorageDriver, WriteOptions } from '../driver.js';

/**
 * A storage driver for tests that wraps a real one and fails at random, the way disks and
 * object stores fail: a call refused with an I/O error or with "no space left", a call that did
 * its work but still reports an error (the answer was lost), a read or write stream that breaks
 * after some bytes (those bytes do reach storage), and a writer's commit that fails. Faults are
 * drawn from a seeded generator, so a run that found a bug can be replayed with its seed (the
 * order of calls must be the same, so replay one client at a time).
 *
 * Errors look like node's own file system errors (`code` EIO or ENOSPC, `errno`, `syscall`):
 * the registry must treat them as it treats the real ones.
 */

/** When a fault strikes. */
export type FaultKind =
  /** The call is refused before it touches storage. */
  | 'before'
  /** The call does its work, then reports the error: the caller cannot tell that it happened. */
  | 'after'
  /** A reader or writer stream passes some bytes, then fails. */
  | 'partial';

export type FaultCode = 'EIO' | 'ENOSPC';

/** The operations a fault can hit, named after the system calls they stand for. */
export type FaultOperation = 'read' | 'stat' | 'scandir' | 'open' | 'write' | 'close' | 'rename' | 'unlink';

export interface FaultOptions {
  /** Seed of the generator; print it in the test so a failing run can be replayed. */
  seed: number;
  /** Chance that one call (or one stream) fails, 0..1. */
  probability: number;
  /** Only these operations fail (default: all). */
  operations?: readonly FaultOperation[];
  /**
   * The errors drawn (default both). ENOSPC strikes only what writes; with ENOSPC alone the
   * wrapper is a disk that is full now and then: reads never fail.
   */
  codes?: readonly FaultCode[];
  /** Longest run of bytes a stream passes before a `partial` fault (default 64 KiB). */
  maxBytesBeforeFault?: number;
}

/** What the wrapper did so far, for the test's report. */
export interface FaultCounts {
  calls: number;
  faults: number;
  byKind: Record<FaultKind, number>;
  byCode: Record<FaultCode, number>;
}

/** An error shaped as node's fs errors are, so code that looks at `code` sees a real one. */
export class InjectedFault extends Error {
  readonly code: FaultCode;
  readonly errno: number;
  readonly syscall: string;
  readonly injected = true;

  constructor(code: FaultCode, operation: string, path: string) {
    const what = code === 'EIO' ? 'i/o error' : 'no space left on device';
    super(`${code}: ${what} (injected), ${operation} '${path}'`);
    this.name = 'InjectedFault';
    this.code = code;
    // Linux's numbers, negated as libuv reports them.
    this.errno = code === 'EIO' ? -5 : -28;
    this.syscall = operation;
  }
}

/**
 * A small seeded generator (xorshift32): enough spread for choosing faults, and the same
 * sequence for the same seed on every platform.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    // Zero is xorshift's one fixed point; any other seed works.
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** A number in [0, 1). */
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.state = x;
    return x / 0x1_0000_0000;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
}

/** A drawn fault: when it strikes and what it reports. */
interface Fault {
  kind: FaultKind;
  code: FaultCode;
}

// A write refused is twice as likely as a write done but reported failed.
const writeKinds: readonly FaultKind[] = ['before', 'before', 'after'];
const readKinds: readonly FaultKind[] = ['before'];
const streamKinds: readonly FaultKind[] = ['partial'];

export class FaultyDriver implements StorageDriver {
  readonly name: string;
  /** Faults are drawn only while this is true; the test turns it off to check the store. */
  enabled = true;
  readonly counts: FaultCounts = {
    calls: 0,
    faults: 0,
    byKind: { before: 0, after: 0, partial: 0 },
    byCode: { EIO: 0, ENOSPC: 0 },
  };
  private readonly random: SeededRandom;
  private readonly maxBytes: number;

  constructor(
    readonly inner: StorageDriver,
    private readonly options: FaultOptions,
  ) {
    this.name = inner.name;
    this.random = new SeededRandom(options.seed);
    this.maxBytes = options.maxBytesBeforeFault ?? 64 * 1024;
  }

  async getContent(path: string): Promise<Buffer> {
    return await this.call('read', path, () => this.inner.getContent(path));
  }

  async putContent(path: string, content: Uint8Array): Promise<void> {
    await this.call('write', path, () => this.inner.putContent(path, content));
  }

  async reader(path: string, options?: ReadOptions): Promise<Readable> {
    const stream = await this.call('open', path, () => this.inner.reader(path, options), readKinds);
    const fault = this.draw('read', streamKinds);
    if (!fault) return stream;
    return breakAfter(stream, this.random.below(this.maxBytes), this.fail(fault, 'read', path));
  }

  async writer(path: string, options?: WriteOptions): Promise<FileWriter> {
    // Opening for write allocates nothing, but a full disk can refuse the directory it needs.
    const writer = await this.call('open', path, () => this.inner.writer(path, options), readKinds, true);
    const streamFault = this.draw('write', streamKinds, true);
    const stream = streamFault
      ? failingWriter(writer.stream, this.random.below(this.maxBytes), this.fail(streamFault, 'write', path))
      : writer.stream;
    const commitFault = this.draw('close', writeKinds, true);
    return {
      stream,
      get size() {
        return writer.size;
      },
      commit: async () => await this.struck(commitFault, 'close', path, () => writer.commit()),
      cancel: () => writer.cancel(),
    };
  }

  async stat(path: string): Promise<FileInfo> {
    return await this.call('stat', path, () => this.inner.stat(path));
  }

  async list(path: string): Promise<string[]> {
    return await this.call('scandir', path, () => this.inner.list(path));
  }

  async move(from: string, to: string): Promise<void> {
    await this.call('rename', `${from} -> ${to}`, () => this.inner.move(from, to));
  }

  async delete(path: string): Promise<void> {
    await this.call('unlink', path, () => this.inner.delete(path));
  }

  // Redirects are not wrapped: the test never enables them, and the URL bypasses the driver anyway.

  async changeToken(path: string): Promise<string | undefined> {
    if (!this.inner.changeToken) return undefined;
    return await this.call('stat', path, () => this.inner.changeToken!(path));
  }

  /** Not faulted: a maintenance walk, not a call a request makes. */
  async sweepTemporaries(options: TemporarySweepOptions): Promise<TemporarySweep> {
    return (await this.inner.sweepTemporaries?.(options)) ?? { stale: 0, young: 0, directories: 0 };
  }

  /** Runs one call, failing it before or after as drawn. */
  private async call<T>(
    operation: FaultOperation,
    path: string,
    action: () => Promise<T>,
    kinds = writes.has(operation) ? writeKinds : readKinds,
    writing = writes.has(operation),
  ): Promise<T> {
    return await this.struck(this.draw(operation, kinds, writing), operation, path, action);
  }

  private async struck<T>(fault: Fault | undefined, operation: FaultOperation, path: string, action: () => Promise<T>): Promise<T> {
    if (fault?.kind === 'before') throw this.fail(fault, operation, path);
    const result = await action();
    if (fault?.kind === 'after') throw this.fail(fault, operation, path);
    return result;
  }

  /**
   * Counts a call and decides whether it fails, and how. ENOSPC only where something is
   * written: a read on a full disk works.
   */
  private draw(operation: FaultOperation, kinds: readonly FaultKind[], writing = false): Fault | undefined {
    this.counts.calls++;
    if (!this.enabled || (this.options.operations && !this.options.operations.includes(operation))) return undefined;
    const codes = (this.options.codes ?? ['EIO', 'ENOSPC']).filter((code) => writing || code === 'EIO');
    if (codes.length === 0 || this.random.next() >= this.options.probability) return undefined;
    return { kind: this.random.pick(kinds), code: this.random.pick(codes) };
  }

  private fail(fault: Fault, operation: FaultOperation, path: string): InjectedFault {
    this.counts.faults++;
    this.counts.byKind[fault.kind]++;
    this.counts.byCode[fault.code]++;
    return new InjectedFault(fault.code, operation, path);
  }
}

/** Operations that change storage: they may fail after doing their work, and with ENOSPC. */
const writes: ReadonlySet<FaultOperation> = new Set(['write', 'close', 'rename', 'unlink']);

/** The stream's bytes up to `limit`, then `error`. Destroying the result destroys the source. */
function breakAfter(source: Readable, limit: number, error: Error): Readable {
  let passed = 0;
  const out = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const room = limit - passed;
      if (chunk.length < room) {
        passed += chunk.length;
        callback(null, chunk);
        return;
      }
      if (room > 0) this.push(chunk.subarray(0, room));
      passed = limit;
      callback(error);
    },
  });
  // The pipeline owns both: an error or destroy on either side closes the source's file.
  pipeline(source, out, () => undefined);
  return out;
}

/**
 * A writable that hands its bytes to `target` until `limit` bytes have passed, then fails with
 * `error`; the bytes before the limit do reach storage, as with a disk that fills up part way.
 */
function failingWriter(target: Writable, limit: number, error: Error): Writable {
  let passed = 0;
  const forward = (chunk: Buffer, callback: (error?: Error | null) => void) => {
    if (!target.write(chunk)) target.once('drain', () => callback());
    else callback();
  };
  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const room = limit - passed;
      if (chunk.length < room) {
        passed += chunk.length;
        forward(chunk, callback);
        return;
      }
      passed = limit;
      // The part that fits is flushed before the failure, so a later stat counts it.
      const part = chunk.subarray(0, Math.max(room, 0));
      target.end(part, () => callback(error));
    },
    final(callback) {
      target.end(() => callback());
    },
    destroy(cause, callback) {
      // A finished target has closed its file already; otherwise this closes it.
      if (!target.writableFinished) target.destroy();
      callback(cause);
    },
  });
  // A real failure of the target (the disk is full after all) fails this stream too, even while
  // a write waits for 'drain'.
  target.on('error', (cause: Error) => out.destroy(cause));
  return out;
}
