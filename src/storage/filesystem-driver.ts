import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { recordFileSlice } from './file-slice.js';
import * as fs from './fs-calls.js';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { removeStaleTemporaries, type TemporarySweep, type TemporarySweepOptions } from './stale-temporaries.js';
import {
  byCodePoint,
  checkPath,
  InvalidOffsetError,
  PathNotFoundError,
  temporaryPrefix,
  type FileInfo,
  type FileWriter,
  type ReadOptions,
  type StorageDriver,
  type WriteOptions,
} from './driver.js';

/** Read buffer for blob streams: large reads cut syscalls and event-loop turns per byte served. */
const readChunkSize = 1024 * 1024;
const minReadChunk = 64 * 1024;

/** How long a directory must have been unchanged before changeToken vouches for it. */
const settleMs = 1000;

/**
 * Stores files under a root directory on the local disk, one driver path to one file, so the
 * tree is the same as Distribution's filesystem driver writes and reads.
 *
 * Atomicity comes from rename(2): content is written to a temporary file in the target's
 * directory and renamed over the target. A killed process leaves at most a `.tmp-*` file,
 * never a partial file under a final name. (No fsync: this protects against process crashes,
 * not power loss, as Distribution's driver.)
 */
export class FilesystemDriver implements StorageDriver {
  readonly name = 'filesystem';

  constructor(readonly root: string) {}

  private full(path: string): string {
    checkPath(path);
    return join(this.root, path);
  }

  async getContent(path: string): Promise<Buffer> {
    return await this.wrap(path, () => fs.readWhole(this.full(path)), { fileOnly: true });
  }

  async putContent(path: string, content: Uint8Array): Promise<void> {
    const target = this.full(path);
    const temporary = temporaryName(target);
    try {
      await inDirectoryOf(target, () => fs.writeFile(temporary, content));
      await fs.rename(temporary, target);
    } catch (error) {
      await fs.rm(temporary, { force: true });
      throw error;
    }
  }

  async reader(path: string, options: ReadOptions = {}): Promise<Readable> {
    const full = this.full(path);
    const offset = options.offset ?? 0;
    const fd = await this.wrap(path, () => fs.open(full, 'r'));
    try {
      const info = await fs.fstat(fd);
      // open(2) succeeds on a directory, but there is no file to read at path.
      if (info.isDirectory()) throw new PathNotFoundError(path);
      if (offset > info.size) throw new InvalidOffsetError(path, offset);
      // A buffer no larger than what is left to read (small blobs are most GETs: a 1 MiB
      // buffer for each made the garbage collector a tenth of a pull's CPU), and an explicit
      // end, so the stream stops without one more read to find the end of the file.
      const end = Math.min(options.end ?? info.size - 1, info.size - 1);
      if (end < offset) {
        await fs.close(fd);
        return Readable.from([]);
      }
      const highWaterMark = Math.max(minReadChunk, Math.min(readChunkSize, end - offset + 1));
      // The stream owns the descriptor from here and closes it when done or destroyed.
      const stream = createReadStream('', { fd, start: offset, end, highWaterMark });
      recordFileSlice({ stream, fd, start: offset, end });
      return stream;
    } catch (error) {
      await fs.close(fd);
      throw error;
    }
  }

  async writer(path: string, options: WriteOptions = {}): Promise<FileWriter> {
    const full = this.full(path);
    const fd = await inDirectoryOf(full, () => fs.open(full, options.append ? 'a' : 'w'));
    let initial = 0;
    try {
      // Only an append starts with bytes already there; 'w' truncates.
      if (options.append) initial = (await fs.fstat(fd)).size;
    } catch (error) {
      await fs.close(fd);
      throw error;
    }
    const stream = createWriteStream('', { fd, highWaterMark: readChunkSize });
    return {
      stream,
      get size() {
        return initial + stream.bytesWritten;
      },
      commit: async () => {
        await finished(stream);
      },
      cancel: async () => {
        stream.destroy();
        await fs.rm(full, { force: true });
      },
    };
  }

  async stat(path: string): Promise<FileInfo> {
    const info = await this.wrap(path, () => fs.stat(this.full(path)));
    return { size: info.size, modTime: info.mtime, isDirectory: info.isDirectory() };
  }

  /**
   * The directory's inode, link count, mtime and ctime. Adding or removing an entry updates
   * mtime and ctime, but with the kernel's coarse clock two changes within one tick can leave
   * the same times: so a directory changed less than `settleMs` ago has no token (it is listed
   * every time until it has been quiet that long). The link count, which counts subdirectories,
   * catches most changes within a tick anyway. On a shared file system (NFS) the server's clock
   * sets mtime: it must agree with this host's within `settleMs`.
   */
  async changeToken(path: string): Promise<string | undefined> {
    const info = await this.wrap(path, () => fs.stat(this.full(path), { bigint: true }));
    if (!info.isDirectory()) throw new PathNotFoundError(path);
    // Entry changes set mtime and ctime together; ctime alone moves on metadata changes, which
    // the token includes but which cannot hide an entry change.
    if (BigInt(Date.now() - settleMs) * 1_000_000n < info.mtimeNs) return undefined;
    return `${info.ino}:${info.nlink}:${info.mtimeNs}:${info.ctimeNs}`;
  }

  async list(path: string): Promise<string[]> {
    const entries = await this.wrap(path, () => fs.readdir(this.full(path)));
    return entries.filter((name) => !name.startsWith(temporaryPrefix)).sort(byCodePoint);
  }

  async move(from: string, to: string): Promise<void> {
    const source = this.full(from);
    const target = this.full(to);
    // ENOENT from rename means either the source or the target's directory is missing: after
    // making the directory, a second ENOENT can only be the source.
    await this.wrap(from, () => inDirectoryOf(target, () => fs.rename(source, target)));
  }

  async delete(path: string): Promise<void> {
    await this.wrap(path, () => removeTree(this.full(path)));
  }

  /** Removes the `.tmp-*` files killed processes left (see stale-temporaries.ts). */
  async sweepTemporaries(options: TemporarySweepOptions): Promise<TemporarySweep> {
    return await removeStaleTemporaries(this.root, options);
  }

  /**
   * Turns ENOENT/ENOTDIR into PathNotFoundError, the only "missing" the contract knows. With
   * `fileOnly` (the caller wants a file's content), EISDIR is "missing" too, as in object stores.
   */
  private async wrap<T>(path: string, action: () => Promise<T>, { fileOnly = false } = {}): Promise<T> {
    try {
      return await action();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || (fileOnly && code === 'EISDIR')) {
        throw new PathNotFoundError(path, { cause: error });
      }
      throw error;
    }
  }
}

function temporaryName(target: string): string {
  return join(dirname(target), `${temporaryPrefix}${randomBytes(8).toString('hex')}`);
}

/**
 * Runs `action`, which creates something at `target`, and when it fails with ENOENT makes the
 * target's directory and runs it once more. Trying first saves the mkdir (and the stat that a
 * recursive mkdir of an existing directory costs) in the common case of a directory already
 * there, such as an upload's; a new directory costs one failed call more.
 */
async function inDirectoryOf<T>(target: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await makeDirectory(dirname(target));
    return await action();
  }
}

/**
 * `mkdir -p`. Node's recursive mkdir answers ENOENT when it cannot make a missing parent for
 * any reason: on a disk out of space or inodes that hid ENOSPC (and made `move` report its
 * source missing). Then each level is made in turn, so the real error comes out.
 */
async function makeDirectory(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await makeEachLevel(dir);
  }
}

async function makeEachLevel(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT' || dirname(dir) === dir) throw error;
    await makeEachLevel(dirname(dir));
    await fs.mkdir(dir).catch((again: NodeJS.ErrnoException) => {
      if (again.code !== 'EEXIST') throw again;
    });
  }
}

/**
 * Removes a file, or a directory with everything in it. ENOENT when nothing is there.
 *
 * Why not `fs.rm(recursive)`: it stats each entry, sometimes twice, before removing it; an
 * upload's directory (two files) cost it twelve system calls against eight here. A file is
 * tried with unlink first; Linux answers EISDIR for a directory (and others EPERM).
 */
async function removeTree(full: string): Promise<void> {
  let entries: string[];
  try {
    await fs.unlink(full);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM') throw error;
    // EPERM is also a file that may not be removed: that error, not readdir's ENOTDIR, is the
    // answer. But a directory another remover took away meanwhile is simply missing (ENOENT):
    // answering EISDIR for it made a manifest DELETE racing the garbage collector a 500.
    entries = await fs.readdir(full).catch((listing: NodeJS.ErrnoException) => Promise.reject(listing.code === 'ENOENT' ? listing : error));
  }
  await Promise.all(entries.map((name) => removeTree(join(full, name)).catch(ignoreMissing)));
  await fs.rmdir(full);
}

/** Something already gone while removing a tree is what the removal wanted anyway. */
function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}

/** Resolves once a write stream has flushed and closed (immediately if it already has). */
function finished(stream: NodeJS.WritableStream & { closed?: boolean; writableFinished?: boolean }): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    stream.once('close', resolve);
    stream.once('error', reject);
    if (!stream.writableFinished) stream.end();
  });
}
