import { Readable, Writable } from 'node:stream';
import {
  byCodePoint,
  checkPath,
  InvalidOffsetError,
  PathNotFoundError,
  type FileInfo,
  type FileWriter,
  type ReadOptions,
  type StorageDriver,
  type WriteOptions,
} from './driver.js';

/** Appends add a chunk (no copy); reads join the chunks once and keep the result. */
class MemoryFile {
  private chunks: Buffer[];
  size: number;
  modTime = new Date();

  constructor(content: Buffer = Buffer.alloc(0)) {
    this.chunks = [content];
    this.size = content.length;
  }

  get content(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  append(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.modTime = new Date();
  }
}

/**
 * Keeps every file in process memory: for tests and throwaway registries. Directories
 * exist implicitly while some file lies below them, as in object stores.
 */
export class MemoryDriver implements StorageDriver {
  readonly name = 'inmemory';
  private readonly files = new Map<string, MemoryFile>();

  async getContent(path: string): Promise<Buffer> {
    return Buffer.from(this.file(path).content);
  }

  async putContent(path: string, content: Uint8Array): Promise<void> {
    checkPath(path);
    this.files.set(path, new MemoryFile(Buffer.from(content)));
  }

  async reader(path: string, options: ReadOptions = {}): Promise<Readable> {
    const { content } = this.file(path);
    const offset = options.offset ?? 0;
    if (offset > content.length) throw new InvalidOffsetError(path, offset);
    const end = options.end === undefined ? content.length : Math.min(options.end + 1, content.length);
    return Readable.from([content.subarray(offset, Math.max(offset, end))]);
  }

  async writer(path: string, options: WriteOptions = {}): Promise<FileWriter> {
    checkPath(path);
    const existing = options.append ? this.files.get(path) : undefined;
    const file = existing ?? new MemoryFile();
    this.files.set(path, file);
    // Each write is appended at once, so an interrupted stream keeps what it received.
    const stream = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        file.append(chunk);
        callback();
      },
    });
    return {
      stream,
      get size() {
        return file.size;
      },
      commit: async () => {
        if (!stream.writableFinished) await new Promise<void>((resolve) => stream.end(resolve));
      },
      cancel: async () => {
        stream.destroy();
        this.files.delete(path);
      },
    };
  }

  async stat(path: string): Promise<FileInfo> {
    checkPath(path);
    const file = this.files.get(path);
    if (file) return { size: file.size, modTime: file.modTime, isDirectory: false };
    const prefix = `${path}/`;
    for (const key of this.files.keys()) {
      if (key.startsWith(prefix)) return { size: 0, modTime: new Date(), isDirectory: true };
    }
    throw new PathNotFoundError(path);
  }

  async list(path: string): Promise<string[]> {
    checkPath(path);
    const prefix = `${path}/`;
    const children = new Set<string>();
    for (const key of this.files.keys()) {
      if (key.startsWith(prefix)) children.add(key.slice(prefix.length).split('/')[0]!);
    }
    if (children.size === 0) throw new PathNotFoundError(path);
    return [...children].sort(byCodePoint);
  }

  async move(from: string, to: string): Promise<void> {
    checkPath(to);
    const file = this.file(from);
    this.files.delete(from);
    this.files.set(to, file);
  }

  async delete(path: string): Promise<void> {
    checkPath(path);
    const prefix = `${path}/`;
    let found = this.files.delete(path);
    for (const key of [...this.files.keys()]) {
      if (key.startsWith(prefix)) {
        this.files.delete(key);
        found = true;
      }
    }
    if (!found) throw new PathNotFoundError(path);
  }

  private file(path: string): MemoryFile {
    checkPath(path);
    const file = this.files.get(path);
    if (!file) throw new PathNotFoundError(path);
    return file;
  }
}
