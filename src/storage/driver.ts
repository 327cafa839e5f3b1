import type { TemporarySweep, TemporarySweepOptions } from './stale-temporaries.js';
import type { Readable, Writable } from 'node:stream';

/**
 * The storage driver contract: a small key/value store of byte files addressed by
 * slash-separated paths, in the manner of Distribution's StorageDriver. The registry
 * layer builds everything (blobs, links, uploads) on these methods alone, so a driver
 * that passes the shared suite in `testing/driver-suite.ts` plugs in without other changes.
 *
 * Paths are absolute within the driver (`/docker/registry/v2/...`): one or more components
 * of [A-Za-z0-9._-], none of them empty, `.`, `..` or starting with `.tmp-` (reserved for
 * temporary files), no trailing slash, at most 4096 characters in all. Any other path is
 * refused with InvalidPathError before the driver touches anything, so no path can leave the
 * driver's root.
 */
export interface StorageDriver {
  /** A short name for logs and metrics (`filesystem`, `inmemory`). */
  readonly name: string;

  /** The whole content of a small file. PathNotFoundError when there is no file at path. */
  getContent(path: string): Promise<Buffer>;

  /**
   * Stores content at path, creating parent directories. Readers see either the old
   * content or the new, never a mix or a truncated file, even if the process dies mid-write.
   */
  putContent(path: string, content: Uint8Array): Promise<void>;

  /**
   * A stream of the file from `offset` (default 0) to `end` (inclusive; default: the end).
   * Both errors come from the returned promise, never from the stream: PathNotFoundError when
   * there is no file at path (a directory is not a file); InvalidOffsetError when offset is past
   * the end of the file (offset equal to the size gives an empty stream).
   */
  reader(path: string, options?: ReadOptions): Promise<Readable>;

  /**
   * A writer for path. With `append`, bytes go after the existing content (a missing file
   * counts as empty); without it the file starts empty. Once the writer's stream has finished,
   * what it wrote is part of the file for every later call, from this process or another one:
   * `stat` counts it, `reader` returns it, a later append writer goes on after it. (An upload
   * continues on whichever replica its next chunk reaches, which re-reads the bytes to hash
   * them; an object store must therefore keep each append readable, e.g. as segments, and
   * cannot rely on uncommitted multipart parts.) The writer is meant for upload data, which
   * lives under `_uploads` and is moved into place only once verified.
   */
  writer(path: string, options?: WriteOptions): Promise<FileWriter>;

  /** Size, modification time and kind. PathNotFoundError when neither file nor directory. */
  stat(path: string): Promise<FileInfo>;

  /**
   * Names (not paths) of the direct children of a directory, sorted by code point.
   * PathNotFoundError when the directory does not exist; an empty list never means "missing".
   */
  list(path: string): Promise<string[]>;

  /**
   * Moves a file to a new path, replacing any file there, creating parent directories.
   * Readers of `to` see the old file or the whole new one. PathNotFoundError when `from` is missing.
   */
  move(from: string, to: string): Promise<void>;

  /** Deletes a file, or a directory with everything below it. PathNotFoundError when missing. */
  delete(path: string): Promise<void>;

  /**
   * Optional: a URL from which a client can GET the file directly from the store for a short
   * time (a presigned S3 URL, an Azure SAS URL), for `storage.redirect`. Undefined when the
   * driver cannot make one for this path; drivers without the method never redirect. Does not
   * check that the file exists.
   */
  redirectURL?(path: string): Promise<string | undefined>;

  /**
   * Optional: a cheap value that changes whenever the entries of the directory at path change
   * (an entry added or removed; not a change inside an entry), so a listing can be cached and
   * checked with one call instead of read again. Undefined when the driver cannot promise that
   * for the directory right now (it changed too recently to tell one change from the next);
   * drivers without the method are always listed. PathNotFoundError when missing.
   */
  changeToken?(path: string): Promise<string | undefined>;
  /**
   * Optional: removes the temporary files (`.tmp-*`) a killed process left (see
   * stale-temporaries.ts). Only drivers that write under a temporary name and rename have it.
   */
  sweepTemporaries?(options: TemporarySweepOptions): Promise<TemporarySweep>;
}

export interface ReadOptions {
  offset?: number;
  /** Last byte to read, inclusive. */
  end?: number;
}

export interface WriteOptions {
  append?: boolean;
}

export interface FileInfo {
  readonly size: number;
  readonly modTime: Date;
  readonly isDirectory: boolean;
}

/**
 * An open writer. Pipe bytes into `stream`; when the stream has finished, `size` counts every
 * byte of the file and the bytes are kept (see `writer`). If the stream fails part way, the
 * bytes that reached storage are kept too, and a later `stat` tells how many: an interrupted
 * chunk upload resumes from there. `commit()` says no more appends will follow (a driver may
 * consolidate the file then); `cancel()` deletes the file.
 */
export interface FileWriter {
  readonly stream: Writable;
  /** Bytes in the file: what was there before an append plus what has been written. */
  readonly size: number;
  commit(): Promise<void>;
  cancel(): Promise<void>;
}

export class PathNotFoundError extends Error {
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`path not found: ${path}`, options);
    this.name = 'PathNotFoundError';
  }
}

export class InvalidPathError extends Error {
  constructor(readonly path: string) {
    super(`invalid storage path: ${JSON.stringify(path)}`);
    this.name = 'InvalidPathError';
  }
}

export class InvalidOffsetError extends Error {
  constructor(
    readonly path: string,
    readonly offset: number,
  ) {
    super(`offset ${offset} is past the end of ${path}`);
    this.name = 'InvalidOffsetError';
  }
}

const componentPattern = /^[A-Za-z0-9._-]+$/;

/** Temporary files are named with this prefix; `list` never shows them and no path may name one. */
export const temporaryPrefix = '.tmp-';

/** Throws InvalidPathError unless path follows the driver path grammar above. */
export function checkPath(path: string): void {
  if (!path.startsWith('/') || path.length > 4096) throw new InvalidPathError(path);
  const components = path.slice(1).split('/');
  for (const component of components) {
    const reserved = component === '.' || component === '..' || component.startsWith(temporaryPrefix);
    if (!componentPattern.test(component) || reserved) {
      throw new InvalidPathError(path);
    }
  }
}

export function isNotFound(error: unknown): error is PathNotFoundError {
  return error instanceof PathNotFoundError;
}

/** The order `list` promises: plain code-point order, as Go's sort.Strings (and the OCI spec) use. */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
