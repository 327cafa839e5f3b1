import { createHash } from 'node:crypto';
import {
  descriptorOf,

  emptyContent,
  emptyDescriptor,
  mediaTypes,
  pushBlob,
  pushManifest,
  type Descriptor,
} from '../push.js';

/**
 * The content a fuzz run starts from: a few images of every manifest kind, in known
 * repositories, so that the corpus can build valid requests (and mutations of them) that reach
 * deep into the handlers instead of stopping at "unknown repository".
 */
export interface FuzzWorld {
  /** Repositories holding the images; `scratch` takes the corpus's own pushes and deletes. */
  readonly repositories: { readonly main: string; readonly other: string; readonly scratch: string };
  /** Blobs stored in `main` (and `other`), with their content. */
  readonly blobs: readonly WorldBlob[];
  /** Small payloads the corpus uploads; deterministic, so repeated pushes reuse the same blobs. */
  readonly payloads: readonly WorldBlob[];
  readonly manifests: readonly WorldManifest[];
  /** Tags set in `main`, enough for `n`/`last` pagination to have pages. */
  readonly tags: readonly string[];
}

export interface WorldBlob extends Descriptor {
  readonly content: Buffer;
}

export interface WorldManifest extends WorldBlob {
  /** The tag it is pushed under in `main`, or undefined for one pushed by digest only. */
  readonly tag?: string;
  readonly kind: 'oci-image' | 'docker-image' | 'oci-index' | 'docker-list' | 'artifact';
}

function blob(mediaType: string, content: string | Buffer): WorldBlob {
  const bytes = Buffer.from(content);
  return { ...descriptorOf(mediaType, bytes), content: bytes };
}

/** Deterministic bytes of a given size, distinct per label. */
function filler(label: string, size: number): Buffer {
  const bytes = Buffer.alloc(size);
  let block = createHash('sha256').update(label).digest();
  for (let at = 0; at < size; at += block.length) {
    block.copy(bytes, at);
    block = createHash('sha256').update(block).digest();
  }
  return bytes;
}

function manifest(kind: WorldManifest['kind'], value: object, tag?: string): WorldManifest {
  const mediaType = (value as { mediaType: string }).mediaType;
  return { ...blob(mediaType, JSON.stringify(value)), kind, ...(tag === undefined ? {} : { tag }) };
}

/** Builds the world's content (nothing is pushed). */
export function buildWorld(): FuzzWorld {
  const ociConfig = blob(mediaTypes.ociConfig, JSON.stringify({ architecture: 'amd64', os: 'linux', fuzz: 'oci' }));
  const ociLayer = blob(mediaTypes.ociLayer, filler('oci layer', 2048));
  const dockerConfig = blob(mediaTypes.dockerConfig, JSON.stringify({ architecture: 'arm64', os: 'linux', fuzz: 'docker' }));
  const dockerLayer = blob(mediaTypes.dockerLayer, filler('docker layer', 777));
  const empty = { ...emptyDescriptor, content: Buffer.from(emptyContent) };
  const strip = ({ mediaType, digest, size }: Descriptor): Descriptor => ({ mediaType, digest, size });

  const ociImage = manifest(
    'oci-image',
    { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: strip(ociConfig), layers: [strip(ociLayer)] },
    'v1',
  );
  const dockerImage = manifest(
    'docker-image',
    { schemaVersion: 2, mediaType: mediaTypes.dockerManifest, config: strip(dockerConfig), layers: [strip(dockerLayer)] },
    'docker',
  );
  const ociIndex = manifest(
    'oci-index',
    {
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      manifests: [{ ...strip(ociImage), platform: { architecture: 'amd64', os: 'linux' } }],
    },
    'multi',
  );
  const dockerList = manifest(
    'docker-list',
    {
      schemaVersion: 2,
      mediaType: mediaTypes.dockerManifestList,
      manifests: [{ ...strip(dockerImage), platform: { architecture: 'arm64', os: 'linux' } }],
    },
    'list',
  );
  const artifact = manifest('artifact', {
    schemaVersion: 2,
    mediaType: mediaTypes.ociManifest,
    artifactType: 'application/vnd.fuzz.signature',
    config: strip(empty),
    layers: [strip(empty)],
    subject: strip(ociImage),
  });
  const payloads = [0, 1, 7, 100, 1000, 4096, 65_537].map((size) => blob('application/octet-stream', filler(`payload ${size}`, size)));
  return {
    repositories: { main: 'fuzz/app', other: 'fuzz/other', scratch: 'fuzz/scratch' },
    blobs: [ociConfig, ociLayer, dockerConfig, dockerLayer, empty],
    payloads,
    manifests: [ociImage, dockerImage, ociIndex, dockerList, artifact],
    tags: ['v1', 'docker', 'multi', 'list', 'a', 'b', 'c', 'latest'],
  };
}

/**
 * Pushes the world (again): blobs, manifests and tags. Pushing is idempotent, so this also
 * restores what fuzzed requests deleted or moved since.
 */
export async function pushWorld(base: string, world: FuzzWorld): Promise<void> {
  const { main, other, scratch } = world.repositories;
  for (const { content, mediaType } of world.blobs) {
    await pushBlob(base, main, content, mediaType);
    await pushBlob(base, other, content, mediaType);
  }
  await pushBlob(base, scratch, world.payloads[0]!.content);
  for (const item of world.manifests) {
    await pushManifest(base, main, item.tag ?? item.digest, item.content, item.mediaType);
  }
  const image = world.manifests[0]!;
  for (const tag of world.tags) {
    if (world.manifests.some((item) => item.tag === tag)) continue;
    await pushManifest(base, main, tag, image.content, image.mediaType);
  }
  // The other repository holds the image as well, for cross-repository requests.
  await pushManifest(base, other, 'v1', image.content, image.mediaType);
}

