import type { Readable } from 'node:stream';

/**
 * A byte range of an open local file, behind a stream the filesystem driver returned. The HTTP
 * layer sends such a range with its own reused buffers (src/http/file-send.ts) instead of
 * reading the stream; the driver records the range here when it makes the stream, so nobody
 * has to read it back from the stream's undocumented fields.
 */
export interface FileSlice {
  /** Owns the descriptor: destroying it closes the file. */
  readonly stream: Readable;
  readonly fd: number;
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
}

const slices = new WeakMap<Readable, FileSlice>();

/** Records that `slice.stream` stands for the range (called by the filesystem driver). */
export function recordFileSlice(slice: FileSlice): void {
  slices.set(slice.stream, slice);
}

/** The file range behind a stream, while nothing of the stream has been read yet. */
export function fileSliceOf(stream: Readable): FileSlice | undefined {
  const slice = slices.get(stream);
  if (!slice || stream.readableDidRead || stream.readableFlowing !== null) return undefined;
  return slice;
}
