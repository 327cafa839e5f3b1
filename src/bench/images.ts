import { mediaTypes } from '../image/descriptor.js';
import { bufferContent, type BlobContent, type ContentPool } from './content.js';

/**
 * The images push-images, pull-images and mixed move: `layers` layers of `size` bytes, the first
 * `sharedBase` of them identical in every image of a run (a common base image), a small config
 * and an OCI image manifest.
 */

export interface BenchImage {
  /** The tag it is pushed under. */
  tag: string;
  /** Layers, then the config: the blobs a push checks and uploads, in that order. */
  blobs: BlobContent[];
  /** How many of the first blobs are shared base layers (their HEAD may find them present). */
  shared: number;
  manifest: BlobContent & { bytes: Buffer };
}

export interface ImageShape {
  layers: number;
  /** Layer size, bytes. */
  size: number;
  /** The first `sharedBase` layers are the same in every image (≤ layers). */
  sharedBase: number;
}

/** Image number `index` of a set named `label` (the label keeps sets and runs apart). */
export function benchImage(pool: ContentPool, label: string, index: number, shape: ImageShape): BenchImage {
  const layers: BlobContent[] = [];
  for (let i = 0; i < shape.layers; i++) {
    layers.push(pool.blob(i < shape.sharedBase ? `${label}/base-${i}` : `${label}/image-${index}/layer-${i}`, shape.size));
  }
  const config = bufferContent(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Labels: { 'org.berth.bench': `${label}/image-${index}` } },
        rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) },
      }),
    ),
  );
  const manifest = bufferContent(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: mediaTypes.ociManifest,
        config: { mediaType: mediaTypes.ociConfig, digest: config.digest, size: config.size },
        layers: layers.map((layer) => ({ mediaType: mediaTypes.ociLayer, digest: layer.digest, size: layer.size })),
      }),
    ),
  );
  return { tag: `image-${index}`, blobs: [...layers, config], shared: Math.min(shape.sharedBase, shape.layers), manifest };
}
