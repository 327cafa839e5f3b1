import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { parseDigest } from '../protocol/digest.js';
import { ContentCheck } from './content-check.js';
import { isImageManifest, type Descriptor } from './descriptor.js';
import { InvalidImageError } from './image-errors.js';
import type { ImageSource } from './image-endpoint.js';

/**
 * Writes one image as a `docker load` tarball (the legacy `docker save` format):
 * `manifest.json` = `[{Config: "<hex>.json", RepoTags: [repoTag], Layers: ["<hex>/layer.tar", ...]}]`,
 * then the config and every layer. Layers are written as the source holds them, compressed or
 * not: `docker load` and skopeo both detect and undo the compression of a layer.tar, and
 * decompressing here would cost time and a second digest for nothing.
 *
 * `manifest` must be a single-image manifest (pick a platform from an index first). The file
 * appears at `path` only once complete: it is written to a temporary name next to it and renamed.
 */
export async function writeDockerArchive(source: ImageSource, manifest: Descriptor, path: string, repoTag?: string): Promise<void> {
  if (!isImageManifest(manifest.mediaType)) {
    throw new InvalidImageError(`a docker archive holds one image; ${manifest.mediaType} is not an image manifest`);
  }
  const parsed = JSON.parse((await source.fetchBytes(manifest)).toString('utf8')) as { config?: Descriptor; layers?: Descriptor[] };
  if (!parsed.config || !Array.isArray(parsed.layers)) throw new InvalidImageError(`${manifest.digest} has no config or layers`);
  const config = parsed.config;
  const layers = parsed.layers;
  const hexOf = (descriptor: Descriptor): string => {
    const digest = parseDigest(descriptor.digest);
    if (!digest) throw new InvalidImageError(`invalid digest ${JSON.stringify(descriptor.digest)}`);
    return digest.hex;
  };
  const configBytes = await source.fetchBytes(config);
  const entry = {
    Config: `${hexOf(config)}.json`,
    RepoTags: repoTag === undefined ? [] : [repoTag],
    Layers: layers.map((layer) => `${hexOf(layer)}/layer.tar`),
  };

  const temp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  const pack = tar.pack();
  const written = pipeline(pack, createWriteStream(temp, { flags: 'wx' }));
  try {
    const mtime = new Date(0);
    const done = new Set<string>();
    for (const layer of layers) {
      // An image may list the same layer twice; the archive holds it once.
      if (done.has(layer.digest)) continue;
      done.add(layer.digest);
      const hex = hexOf(layer);
      pack.entry({ name: `${hex}/`, type: 'directory', mode: 0o755, mtime });
      const sink = pack.entry({ name: `${hex}/layer.tar`, size: layer.size, mode: 0o644, mtime });
      // The source leaves verification to its caller: a layer that is not what the manifest says
      // must not end up in an archive that docker load would then trust.
      await pipeline(await source.openBlob(layer), new ContentCheck(layer), sink);
    }
    pack.entry({ name: entry.Config, mode: 0o644, mtime }, configBytes);
    pack.entry({ name: 'manifest.json', mode: 0o644, mtime }, Buffer.from(JSON.stringify([entry])));
    pack.finalize();
    await written;
    await rename(temp, path);
  } catch (error) {
    pack.destroy();
    await written.catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}
