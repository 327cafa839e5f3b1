import { digestBytes, type Digest } from '../../protocol/digest.js';
import { mediaTypes } from '../../protocol/media-types.js';
import { Registry } from '../../registry/registry.js';
import { isNotFound, type StorageDriver } from '../../storage/driver.js';

/** Helpers for the collector's tests: content pushed through the registry layer, and a store listing. */
export function testRegistry(driver: StorageDriver): Registry {
  return new Registry(driver, { deleteEnabled: true });
}

export interface PushedImage {
  manifest: Digest;
  bytes: Buffer;
  config: Digest;
  layers: Digest[];
}

/** Stores a blob and links it into the repository. */
export async function pushBlob(registry: Registry, name: string, content: string): Promise<Digest> {
  const bytes = Buffer.from(content);
  const digest = digestBytes(bytes);
  await registry.blobs.putBytes(digest, bytes);
  await registry.blobs.link(name, digest);
  return digest;
}

function descriptor(mediaType: string, digest: Digest, size: number) {
  return { mediaType, digest: digest.text, size };
}

/** An OCI image with a config and the given layers, by tag or by digest. */
export async function pushImage(
  registry: Registry,
  name: string,
  options: { tag?: string; layers: string[]; config?: string; subject?: { digest: Digest; size: number }; artifactType?: string },
): Promise<PushedImage> {
  const configText = options.config ?? `{"config":"${name}:${options.tag ?? 'none'}:${options.layers.join(',')}"}`;
  const config = await pushBlob(registry, name, configText);
  const layers: Digest[] = [];
  for (const layer of options.layers) layers.push(await pushBlob(registry, name, layer));
  const body: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: mediaTypes.ociManifest,
    config: descriptor('application/vnd.oci.image.config.v1+json', config, Buffer.byteLength(configText)),
    layers: options.layers.map((layer, i) => descriptor('application/vnd.oci.image.layer.v1.tar', layers[i]!, Buffer.byteLength(layer))),
  };
  if (options.artifactType) body.artifactType = options.artifactType;
  if (options.subject) body.subject = descriptor(mediaTypes.ociManifest, options.subject.digest, options.subject.size);
  const bytes = Buffer.from(JSON.stringify(body));
  const manifest = digestBytes(bytes);
  await registry.manifests.put(name, options.tag ? { tag: options.tag } : { digest: manifest }, bytes, mediaTypes.ociManifest);
  return { manifest, bytes, config, layers };
}

/** An OCI index over images already in the repository. */
export async function pushIndex(registry: Registry, name: string, tag: string, children: PushedImage[]): Promise<Digest> {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      manifests: children.map((child) => descriptor(mediaTypes.ociManifest, child.manifest, child.bytes.length)),
    }),
  );
  const digest = digestBytes(bytes);
  await registry.manifests.put(name, { tag }, bytes, mediaTypes.ociIndex);
  return digest;
}

/** Every path below the root that is a file, or a directory with nothing in it. */
export async function listing(driver: StorageDriver, base = '/docker'): Promise<string[]> {
  const found: string[] = [];
  const visit = async (path: string) => {
    let children: string[];
    try {
      if (!(await driver.stat(path)).isDirectory) {
        found.push(path);
        return;
      }
      children = await driver.list(path);
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    if (children.length === 0) found.push(`${path}/`);
    for (const child of children) await visit(`${path}/${child}`);
  };
  await visit(base);
  return found.sort();
}
