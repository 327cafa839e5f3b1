import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { mediaTypes } from '../../src/image/descriptor.js';
import type { RegistryClient } from '../../src/client/registry-client.js';

/** Test content for the registry client's tests, pushed with the client itself. */

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A source for uploadBlob over bytes in memory, handed out in pieces of `piece` bytes. */
export function bufferSource(bytes: Buffer, piece = 16 * 1024): (offset: number) => Promise<Readable> {
  return async (offset) => Readable.from(pieces(bytes.subarray(offset), piece));
}

function* pieces(bytes: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** Reads a stream whole (test blobs are small). */
export async function readStream(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Pushes a one-layer OCI image (random content) as repo:tag; returns the manifest's digest and its layer. */
export async function pushImage(client: RegistryClient, repo: string, tag: string, layerSize = 1000): Promise<{ digest: string; layer: Buffer; config: Buffer }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') }));
  const layer = randomBytes(layerSize);
  for (const blob of [config, layer]) await client.uploadBlob(repo, { digest: sha256(blob), size: blob.length }, bufferSource(blob));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.ociManifest,
      config: { mediaType: mediaTypes.ociConfig, digest: sha256(config), size: config.length },
      layers: [{ mediaType: mediaTypes.ociLayerGzip, digest: sha256(layer), size: layer.length }],
    }),
  );
  const digest = await client.putManifest(repo, tag, manifest, mediaTypes.ociManifest);
  return { digest, layer, config };
}
