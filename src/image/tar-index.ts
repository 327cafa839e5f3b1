import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { InvalidImageError, UnsupportedFormatError } from './image-errors.js';

/**
 * Random access into an uncompressed tar file. Pushing from a tarball (`docker save` output or
 * an OCI layout tarball) must read each blob at an arbitrary offset, to resume an upload or
 * upload several layers at once, without extracting gigabytes to disk first. tar-stream can only
 * stream an archive from start to end, so this reads the 512-byte headers alone and seeks past
 * each entry's content, which costs one small read per entry whatever the archive's size.
 *
 * Handled: POSIX ustar (with the `prefix` field), PAX extended headers (`x`: path, linkpath,
 * size) and GNU long names (`L`, `K`); PAX global headers (`g`) are skipped.
 */

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'link' | 'other';

/** One entry of the archive. */
export interface TarEntry {
  /** The entry's path as written, without a leading `./` or a trailing `/`. */
  name: string;
  /** Where the content starts in the archive file. */
  offset: number;
  /** Content length in bytes (0 for anything but regular files). */
  size: number;
  type: TarEntryType;
  /** Target of a symlink or hard link, as written; empty otherwise. */
  linkname: string;
}

const block = 512;

/** An index of a tar file's entries by name; the archive must not change while it is in use. */
export class TarIndex {
  private constructor(
    /** The archive file. */
    readonly path: string,
    /** Every entry by normalized name; a name written twice keeps its last entry, as extraction would. */
    readonly entries: ReadonlyMap<string, TarEntry>,
  ) {}

  /**
   * Reads the headers of the tar file at `path`. Throws UnsupportedFormatError for a gzip,
   * bzip2, xz or zstd file, and InvalidImageError for anything that is not a tar archive.
   */
  static async open(path: string): Promise<TarIndex> {
    const handle = await open(path, 'r');
    try {
      return new TarIndex(path, await readEntries(handle, path));
    } finally {
      await handle.close();
    }
  }

  /** The entry called `name` (normalized as entries are), or undefined. */
  get(name: string): TarEntry | undefined {
    return this.entries.get(normalizeName(name));
  }

  /**
   * The entry `name` after following symlinks and hard links inside the archive (docker save
   * writes `<id>/layer.tar` as a link to a blob in some versions). Undefined when missing or
   * when the links loop.
   */
  resolve(name: string): TarEntry | undefined {
    let entry = this.get(name);
    for (let hops = 0; entry && hops < 16; hops++) {
      if (entry.type === 'symlink') entry = this.get(joinRelative(entry.name, entry.linkname));
      else if (entry.type === 'link') entry = this.get(entry.linkname);
      else return entry;
    }
    return undefined;
  }

  /** A stream of an entry's content from `offset` (0 by default) to its end. */
  openEntry(entry: TarEntry, offset = 0): Readable {
    if (offset >= entry.size) return Readable.from([]);
    return createReadStream(this.path, { start: entry.offset + offset, end: entry.offset + entry.size - 1 });
  }
}

/** Resolves a symlink target relative to the entry's directory, inside the archive. */
function joinRelative(from: string, target: string): string {
  const parts = target.startsWith('/') ? [] : from.split('/').slice(0, -1);
  for (const part of target.split('/')) {
    if (part === '..') parts.pop();
    else if (part !== '' && part !== '.') parts.push(part);
  }
  return parts.join('/');
}

export function normalizeName(name: string): string {
  let result = name;
  while (result.startsWith('./')) result = result.slice(2);
  while (result.startsWith('/')) result = result.slice(1);
  while (result.endsWith('/')) result = result.slice(0, -1);
  return result;
}

const compressedMagic: [string, number[]][] = [
  ['gzip', [0x1f, 0x8b]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
];

/** The compression a file's first bytes announce, if any. */
export function detectCompression(head: Uint8Array): string | undefined {
  return compressedMagic.find(([, magic]) => magic.every((byte, i) => head[i] === byte))?.[0];
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

function text(header: Buffer, start: number, length: number): string {
  const field = header.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
}

/** A numeric field: octal text, or GNU base-256 when the high bit of the first byte is set. */
function number(header: Buffer, start: number, length: number): number {
  const field = header.subarray(start, start + length);
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const digits = field.toString('latin1').replace(/[\0 ]+/g, ' ').trim();
  return digits === '' ? 0 : parseInt(digits, 8);
}

function checksumMatches(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < block; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  return number(header, 148, 8) === sum;
}

/** PAX records: `<length> <key>=<value>\n`, the length counting the whole record. */
function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = parseInt(data.subarray(at, space).toString('latin1'), 10);
    if (!Number.isSafeInteger(length) || length <= 0) break;
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
    at += length;
  }
  return records;
}

function typeOf(flag: string): TarEntryType {
  switch (flag) {
    case '0':
    case '\0':
    case '':
    case '7':
      return 'file';
    case '5':
      return 'directory';
    case '2':
      return 'symlink';
    case '1':
      return 'link';
    default:
      return 'other';
  }
}

async function readEntries(handle: FileHandle, where: string): Promise<Map<string, TarEntry>> {
  const entries = new Map<string, TarEntry>();
  const { size: fileSize } = await handle.stat();
  const first = await readAt(handle, 0, block);
  const compression = detectCompression(first);
  if (compression) throw new UnsupportedFormatError(`${where} is ${compression}-compressed; decompress it first (e.g. gunzip)`);

  let position = 0;
  let pax = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  while (position + block <= fileSize) {
    const header = await readAt(handle, position, block);
    if (header.every((byte) => byte === 0)) break; // end of archive (two zero blocks; one is enough to stop)
    if (!checksumMatches(header)) throw new InvalidImageError(`${where} is not a tar archive (bad header at offset ${position})`);
    const flag = String.fromCharCode(header[156]!);
    const contentOffset = position + block;
    let size = number(header, 124, 12);
    if (flag === 'x' || flag === 'L' || flag === 'K' || flag === 'g') {
      const data = await readAt(handle, contentOffset, size);
      if (flag === 'x') pax = parsePax(data);
      else if (flag === 'L') longName = text(data, 0, data.length);
      else if (flag === 'K') longLink = text(data, 0, data.length);
      position = contentOffset + Math.ceil(size / block) * block;
      continue;
    }
    let name = text(header, 0, 100);
    const ustar = header.subarray(257, 262).toString('latin1') === 'ustar';
    if (ustar && flag !== 'L') {
      const prefix = text(header, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    name = pax.get('path') ?? longName ?? name;
    const linkname = pax.get('linkpath') ?? longLink ?? text(header, 157, 100);
    const paxSize = pax.get('size');
    if (paxSize !== undefined) size = Number(paxSize);
    if (!Number.isSafeInteger(size) || size < 0) throw new InvalidImageError(`${where}: invalid size for ${name}`);
    const type = typeOf(flag);
    // Only regular files carry content; hard links and others have a size of 0 in practice.
    const contentSize = type === 'file' ? size : 0;
    if (contentOffset + contentSize > fileSize) throw new InvalidImageError(`${where} is truncated (entry ${name})`);
    entries.set(normalizeName(name), { name: normalizeName(name), offset: contentOffset, size: contentSize, type, linkname });
    position = contentOffset + Math.ceil(contentSize / block) * block;
    pax = new Map();
    longName = undefined;
    longLink = undefined;
  }
  return entries;
}
