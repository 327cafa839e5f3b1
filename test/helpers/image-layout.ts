import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import type { Descriptor } from '../../src/image/descriptor.js';

/**
 * Test images built by hand: layer tars made with tar-stream (so a test can put anything in a
 * layer, malicious names included) and an OCI layout written without Berth's own code, so that
 * the code under test is checked against an independent writer.
 */

/** One tar entry of a test layer. */
export interface TarFixtureEntry {
  name: string;
  /** 'file' by default. */
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo' | 'character-device';
  content?: string | Buffer;
  mode?: number;
  linkname?: string;
  mtime?: Date;
}

const fixedTime = new Date('2024-01-02T03:04:05Z');

/** An uncompressed tar holding `entries` in order. */
export async function makeTar(entries: TarFixtureEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    const mode = entry.mode ?? (type === 'directory' ? 0o755 : 0o644);
    const header = { name: entry.name, type, mode, mtime: entry.mtime ?? fixedTime, linkname: entry.linkname, uid: 0, gid: 0 };
    if (type === 'file') pack.entry(header, typeof entry.content === 'string' ? Buffer.from(entry.content) : (entry.content ?? Buffer.alloc(0)));
    else pack.entry(header);
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** What writeTestLayout wrote. */
export interface TestImage {
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  /** The blobs by digest, to compare with what was read back. */
  blobs: Map<string, Buffer>;
}

/**
 * Writes an OCI layout at `dir` holding one image with one layer per entry list (gzipped unless
 * `gzip` is false), named `refName` in index.json.
 */
export async function writeTestLayout(dir: string, layerEntries: TarFixtureEntry[][], refName = 'latest', gzip = true): Promise<TestImage> {
  const blobs = new Map<string, Buffer>();
  const put = async (mediaType: string, bytes: Buffer): Promise<Descriptor> => {
    const digest = sha256(bytes);
    blobs.set(digest, bytes);
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), bytes);
    return { mediaType, digest, size: bytes.length };
  };
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const entries of layerEntries) {
    const tarBytes = await makeTar(entries);
    diffIds.push(sha256(tarBytes));
    layers.push(
      gzip
        ? await put('application/vnd.oci.image.layer.v1.tar+gzip', gzipSync(tarBytes))
        : await put('application/vnd.oci.image.layer.v1.tar', tarBytes),
    );
  }
  const configJson = {
    created: fixedTime.toISOString(),
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: layers.map(() => ({ created: fixedTime.toISOString(), created_by: 'test' })),
  };
  const config = await put('application/vnd.oci.image.config.v1+json', Buffer.from(JSON.stringify(configJson)));
  const manifestJson = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers };
  const manifest = await put('application/vnd.oci.image.manifest.v1+json', Buffer.from(JSON.stringify(manifestJson)));
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': refName } }],
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
  return { manifest, config, layers, blobs };
}
