import { createWriteStream } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, readdir, rm, symlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import tar, { type Header } from 'tar-stream';
import { isImageManifest, type Descriptor } from './descriptor.js';
import { ContentCheck } from './content-check.js';
import { InvalidImageError, UnsupportedFormatError } from './image-errors.js';
import type { ImageSource } from './image-endpoint.js';
import { resolveInRoot, splitPath } from './safe-path.js';

/**
 * Unpacks an image's layers into a directory, as a container runtime would build its root
 * filesystem: each layer in order, with the OCI whiteouts (`.wh.NAME` deletes NAME from the layers
 * below, `.wh..wh..opq` empties its directory of what the layers below put there).
 *
 * Whatever a layer says, nothing is written outside the directory: every name, symlink and
 * hard-link target is resolved inside it as if it were the root of the filesystem (safe-path.ts).
 *
 * Choices: device nodes and FIFOs are skipped, always (creating them needs root, and a tree to
 * inspect or copy does not need them); owners are applied only when running as root; directory
 * modes and times are applied once every layer is in, so that a read-only directory in a lower
 * layer does not stop a later layer from writing into it.
 */

/** Unpacks the layers of the image manifest `manifest` (read from `source`) into `dir`, created if missing. */
export async function unpackLayers(source: ImageSource, manifest: Descriptor, dir: string): Promise<void> {
  if (!isImageManifest(manifest.mediaType)) throw new InvalidImageError(`${manifest.mediaType} is not an image manifest; pick a platform first`);
  const parsed = JSON.parse((await source.fetchBytes(manifest)).toString('utf8')) as { layers?: Descriptor[] };
  if (!Array.isArray(parsed.layers)) throw new InvalidImageError(`${manifest.digest} lists no layers`);
  const unpacker = new LayerUnpacker(dir);
  for (const layer of parsed.layers) {
    await unpacker.applyLayer(await source.openBlob(layer), layer);
  }
  await unpacker.finish();
}

type Decompressor = () => Transform;

/** How to get a tar stream out of a layer of this media type. */
function decompressorFor(mediaType: string): Decompressor | undefined {
  if (mediaType.endsWith('.tar')) return undefined;
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.tar.gzip')) return () => zlib.createGunzip();
  if (mediaType.endsWith('+zstd') || mediaType.endsWith('.tar.zstd')) {
    // Node 22.15 and later have zstd built in; Node 20 does not.
    const zstd = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
    if (zstd) return () => zstd();
    throw new UnsupportedFormatError(`zstd-compressed layers cannot be unpacked on Node ${process.versions.node}`);
  }
  throw new UnsupportedFormatError(`cannot unpack a layer of media type ${mediaType}`);
}

/** Metadata applied to a directory once all layers are in. */
interface DirectoryMeta {
  mode: number;
  mtime?: Date;
}

/** Applies layers one after the other to one directory; call finish() after the last. */
export class LayerUnpacker {
  private readonly directories = new Map<string, DirectoryMeta>();
  private readonly asRoot = process.getuid?.() === 0;
  /** Paths the current layer created, and their ancestors: what an opaque whiteout keeps. */
  private touched = new Set<string>();
  private ready: Promise<void> | undefined;

  constructor(private readonly root: string) {}

  /**
   * Applies one layer. `stream` yields the layer's bytes as stored; `layer` gives their media
   * type (uncompressed or gzip tar) and, when it has a digest, the bytes are verified against
   * it (after extraction, which then throws ContentMismatchError). Without `layer`, the stream
   * is an uncompressed tar.
   */
  async applyLayer(stream: Readable, layer?: Descriptor): Promise<void> {
    this.ready ??= mkdir(this.root, { recursive: true }).then(() => undefined);
    await this.ready;
    const stages: Transform[] = [];
    if (layer) stages.push(new ContentCheck(layer));
    const decompress = layer ? decompressorFor(layer.mediaType) : undefined;
    if (decompress) stages.push(decompress());

    this.touched = new Set();
    const extract = tar.extract();
    const feeding = pipeline([stream, ...stages, extract]);
    try {
      for await (const entry of extract) {
        await this.applyEntry(entry.header, entry as AsyncIterable<Buffer>);
        entry.resume();
      }
      await feeding;
    } catch (error) {
      stream.destroy();
      extract.destroy();
      await feeding.catch(() => undefined);
      throw error;
    }
  }

  /** Applies the directory modes and times held back while layers were written. */
  async finish(): Promise<void> {
    const deepestFirst = [...this.directories].sort(([a], [b]) => b.length - a.length);
    for (const [path, meta] of deepestFirst) {
      const info = await lstat(path).catch(() => undefined);
      if (!info?.isDirectory()) continue; // removed or replaced by a later layer
      await chmod(path, meta.mode);
      if (meta.mtime) await utimes(path, meta.mtime, meta.mtime);
    }
    this.directories.clear();
  }

  private async applyEntry(header: Header, content: AsyncIterable<Buffer>): Promise<void> {
    const parts = splitPath(header.name);
    const base = parts.at(-1);
    if (base === undefined || base === '..') return; // the root itself, or a name that climbs out of it
    if (base.startsWith('.wh.')) return this.whiteout(parts.slice(0, -1).join('/'), base.slice('.wh.'.length));

    const host = await resolveInRoot(this.root, header.name, false);
    if (host === this.root) return;
    await mkdir(dirname(host), { recursive: true });
    const mode = (header.mode ?? 0o644) & 0o7777;
    switch (header.type) {
      case 'directory': {
        const existing = await lstat(host).catch(() => undefined);
        if (!existing?.isDirectory()) {
          if (existing) await this.remove(host);
          await mkdir(host);
        }
        await this.own(host, header);
        // Kept writable until finish(), for later entries and layers.
        await chmod(host, mode | 0o700);
        this.directories.set(host, { mode, mtime: header.mtime });
        break;
      }
      case 'file':
      case 'contiguous-file': {
        await this.clear(host);
        // 'wx' (O_CREAT | O_EXCL) never follows a symlink that might appear in the name's place.
        await pipeline(content, createWriteStream(host, { flags: 'wx', mode: 0o600 }));
        // Owner first: changing it clears the setuid and setgid bits that chmod sets.
        await this.own(host, header);
        await chmod(host, mode);
        if (header.mtime) await utimes(host, header.mtime, header.mtime);
        break;
      }
      case 'symlink': {
        await this.clear(host);
        // The target is stored as written: it is only ever followed through resolveInRoot.
        await symlink(header.linkname ?? '', host);
        await this.own(host, header);
        if (header.mtime) await lutimes(host, header.mtime, header.mtime);
        break;
      }
      case 'link': {
        const target = await resolveInRoot(this.root, header.linkname ?? '', false);
        const info = await lstat(target).catch(() => undefined);
        if (!info || info.isDirectory()) {
          throw new InvalidImageError(`hard link ${header.name} -> ${header.linkname}: the target is not a file in the layers so far`);
        }
        if (target === host) break;
        await this.clear(host);
        await link(target, host);
        break;
      }
      default:
        // Devices, FIFOs: skipped (see the module comment).
        return;
    }
    this.markTouched(host);
  }

  /** Applies the entry's owner when running as root (anyone else cannot, and gets their own). */
  private async own(host: string, header: Header): Promise<void> {
    if (this.asRoot) await lchown(host, header.uid ?? 0, header.gid ?? 0);
  }

  /** Makes room for a new entry at `host`, whatever was there (never following a symlink). */
  private async clear(host: string): Promise<void> {
    const existing = await lstat(host).catch(() => undefined);
    if (existing) await this.remove(host);
  }

  /** Removes a path and everything below it, forgetting the directory metadata held for them. */
  private async remove(host: string): Promise<void> {
    // rm never follows a symlink: it removes the link itself.
    await rm(host, { recursive: true, force: true });
    for (const path of this.directories.keys()) {
      if (path === host || path.startsWith(`${host}/`)) this.directories.delete(path);
    }
  }

  private markTouched(host: string): void {
    for (let path = host; path !== this.root && path.length > this.root.length; path = dirname(path)) {
      if (this.touched.has(path)) break;
      this.touched.add(path);
    }
  }

  /** `.wh.NAME` in `parent`: NAME goes; `.wh..wh..opq`: what lower layers put in `parent` goes. */
  private async whiteout(parent: string, name: string): Promise<void> {
    const folder = await resolveInRoot(this.root, parent, true);
    const info = await lstat(folder).catch(() => undefined);
    if (!info?.isDirectory()) return;
    if (name === '.wh..opq') return this.makeOpaque(folder);
    if (name === '' || name === '.' || name === '..' || name.startsWith('.wh.')) return;
    await this.remove(join(folder, name));
  }

  private async makeOpaque(folder: string): Promise<void> {
    for (const child of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, child.name);
      if (!this.touched.has(path)) await this.remove(path);
      else if (child.isDirectory()) await this.makeOpaque(path);
    }
  }
}
