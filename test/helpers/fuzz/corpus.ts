import { digestOf, mediaTypes } from '../push.js';
import type { Random } from './random.js';
import type { WireRequest } from './wire.js';
import type { FuzzWorld, WorldBlob } from './world.js';

/**
 * Stands for the id of the upload session that the case's setup opened; replaced in the target
 * of later requests once the setup's POST has answered.
 */
export const uploadPlaceholder = '@UPLOAD@';

/**
 * One fuzz case: valid setup requests (their answers are only used for the upload id), then the
 * request under test, which the mutators may change.
 */
export interface FuzzCase {
  /** Which corpus entry it came from. */
  readonly template: string;
  readonly setup: WireRequest[];
  request: WireRequest;
}

type Template = (world: FuzzWorld, random: Random) => Omit<FuzzCase, 'template'>;

const octet: [string, string] = ['Content-Type', 'application/octet-stream'];

function get(target: string, headers: [string, string][] = []): WireRequest {
  return { method: 'GET', target, headers };
}

const startSession = (name: string): WireRequest => ({ method: 'POST', target: `/v2/${name}/blobs/uploads/`, headers: [] });

const chunk = (name: string, bytes: Buffer, start: number): WireRequest => ({
  method: 'PATCH',
  target: `/v2/${name}/blobs/uploads/${uploadPlaceholder}`,
  // An empty chunk has no range to name.
  headers: bytes.length === 0 ? [octet] : [octet, ['Content-Range', `${start}-${start + bytes.length - 1}`]],
  body: bytes,
});

function anyRepository(world: FuzzWorld, random: Random): string {
  const { main, other, scratch } = world.repositories;
  return random.pick([main, main, other, scratch]);
}

function anyPayload(world: FuzzWorld, random: Random): WorldBlob {
  return random.pick(world.payloads);
}

/** A reference to something in `main`: a tag, or a manifest's digest. */
function anyReference(world: FuzzWorld, random: Random): string {
  return random.chance(0.5) ? random.pick(world.tags) : random.pick(world.manifests).digest;
}

/** Splits bytes into 1–4 pieces (for chunked transfer encoding and multi-chunk uploads). */
function pieces(bytes: Buffer, random: Random): Buffer[] {
  const cuts = [0, bytes.length];
  for (let i = random.int(4); i > 0; i--) cuts.push(random.int(bytes.length + 1));
  cuts.sort((a, b) => a - b);
  return cuts.slice(1).map((end, i) => bytes.subarray(cuts[i], end));
}

const accepts = [
  `${mediaTypes.ociManifest}, ${mediaTypes.ociIndex}, ${mediaTypes.dockerManifest}, ${mediaTypes.dockerManifestList}`,
  mediaTypes.ociManifest,
  '*/*',
];

/** Valid requests of every kind the API has; each template draws its details from `random`. */
export const templates: Readonly<Record<string, Template>> = {
  base: (_world, random) => ({ setup: [], request: { method: random.pick(['GET', 'HEAD']), target: '/v2/', headers: [] } }),
  catalog: (world, random) => {
    const query = random.pick(['', '?n=2', `?n=1&last=${world.repositories.main}`, '?n=0', '?last=a']);
    return { setup: [], request: get(`/v2/_catalog${query}`) };
  },
  tags: (world, random) => {
    const query = random.pick(['', '?n=3', `?n=2&last=${random.pick(world.tags)}`, '?last=b', '?n=0']);
    return { setup: [], request: get(`/v2/${world.repositories.main}/tags/list${query}`) };
  },
  'manifest-get': (world, random) => ({
    setup: [],
    request: {
      method: random.pick(['GET', 'HEAD']),
      target: `/v2/${world.repositories.main}/manifests/${anyReference(world, random)}`,
      headers: [['Accept', random.pick(accepts)]],
    },
  }),
  'manifest-put': (world, random) => {
    const manifest = random.pick(world.manifests);
    const byDigest = random.chance(0.5);
    const digest = random.chance(0.2) ? digestOf(manifest.content, 'sha512') : manifest.digest;
    const reference = byDigest ? digest : (manifest.tag ?? random.pick(['fz-1', 'fz-2', 'latest']));
    const query = random.chance(0.2) && byDigest ? '?tag=fz-3&tag=fz-4' : '';
    return {
      setup: [],
      request: {
        method: 'PUT',
        target: `/v2/${world.repositories.main}/manifests/${reference}${query}`,
        headers: [['Content-Type', manifest.mediaType]],
        body: manifest.content,
      },
    };
  },
  'manifest-delete': (world, random) => {
    // Pushed first (under a throwaway tag, or the artifact by digest), so that deleting it does
    // not take the world's images away.
    const { main } = world.repositories;
    const artifact = world.manifests.find((item) => item.kind === 'artifact')!;
    const manifest = random.chance(0.3) ? artifact : random.pick(world.manifests.filter((item) => item !== artifact));
    const reference = manifest === artifact ? artifact.digest : `del-${random.int(4)}`;
    return {
      setup: [{ method: 'PUT', target: `/v2/${main}/manifests/${reference}`, headers: [['Content-Type', manifest.mediaType]], body: manifest.content }],
      request: { method: 'DELETE', target: `/v2/${main}/manifests/${reference}`, headers: [] },
    };
  },
  'blob-get': (world, random) => {
    const blob = random.pick(world.blobs);
    const headers: [string, string][] = [];
    if (random.chance(0.4)) headers.push(['Range', random.pick(['bytes=0-', 'bytes=0-9', 'bytes=-5', `bytes=1-${blob.size}`])]);
    if (random.chance(0.1)) headers.push(['If-None-Match', `"${blob.digest}"`]);
    return {
      setup: [],
      request: { method: random.pick(['GET', 'HEAD']), target: `/v2/${random.pick([world.repositories.main, world.repositories.other])}/blobs/${blob.digest}`, headers },
    };
  },
  'blob-delete': (world, random) => {
    const payload = anyPayload(world, random);
    const { scratch } = world.repositories;
    return {
      setup: [{ method: 'POST', target: `/v2/${scratch}/blobs/uploads/?digest=${payload.digest}`, headers: [octet], body: payload.content }],
      request: { method: 'DELETE', target: `/v2/${scratch}/blobs/${payload.digest}`, headers: [] },
    };
  },
  'upload-monolithic': (world, random) => {
    const payload = anyPayload(world, random);
    return {
      setup: [],
      request: {
        method: 'POST',
        target: `/v2/${anyRepository(world, random)}/blobs/uploads/?digest=${payload.digest}`,
        headers: [octet],
        body: payload.content,
      },
    };
  },
  'upload-start': (world, random) => ({
    setup: [],
    request: {
      method: 'POST',
      target: `/v2/${anyRepository(world, random)}/blobs/uploads/${random.pick(['', '?digest-algorithm=sha512', '?digest-algorithm=sha256'])}`,
      headers: [],
    },
  }),
  'upload-put': (world, random) => {
    const payload = anyPayload(world, random);
    const name = anyRepository(world, random);
    const chunked = random.chance(0.3);
    return {
      setup: [startSession(name)],
      request: {
        method: 'PUT',
        target: `/v2/${name}/blobs/uploads/${uploadPlaceholder}?digest=${payload.digest}`,
        headers: [octet],
        body: chunked ? pieces(payload.content, random) : payload.content,
      },
    };
  },
  'upload-patch': (world, random) => {
    const payload = anyPayload(world, random);
    const name = anyRepository(world, random);
    const request = chunk(name, payload.content, 0);
    if (random.chance(0.3)) request.headers = [octet];
    if (random.chance(0.3)) request.body = pieces(payload.content, random);
    return { setup: [startSession(name)], request };
  },
  'upload-patch-next': (world, random) => {
    const payload = anyPayload(world, random);
    const name = anyRepository(world, random);
    const half = random.int(payload.size + 1);
    return {
      setup: [startSession(name), chunk(name, payload.content.subarray(0, half), 0)],
      request: chunk(name, payload.content.subarray(half), half),
    };
  },
  'upload-finish': (world, random) => {
    const payload = anyPayload(world, random);
    const name = anyRepository(world, random);
    return {
      setup: [startSession(name), chunk(name, payload.content, 0)],
      request: { method: 'PUT', target: `/v2/${name}/blobs/uploads/${uploadPlaceholder}?digest=${payload.digest}`, headers: [] },
    };
  },
  'upload-sha512': (world, random) => {
    // A session opened for sha512, finished with the sha512 digest (or, mutated, another one).
    const payload = anyPayload(world, random);
    const name = anyRepository(world, random);
    return {
      setup: [{ ...startSession(name), target: `/v2/${name}/blobs/uploads/?digest-algorithm=sha512` }, chunk(name, payload.content, 0)],
      request: {
        method: 'PUT',
        target: `/v2/${name}/blobs/uploads/${uploadPlaceholder}?digest=${digestOf(payload.content, 'sha512')}`,
        headers: [],
      },
    };
  },
  'upload-status': (world, random) => {
    const name = anyRepository(world, random);
    return { setup: [startSession(name)], request: get(`/v2/${name}/blobs/uploads/${uploadPlaceholder}`) };
  },
  'upload-cancel': (world, random) => {
    const name = anyRepository(world, random);
    return { setup: [startSession(name)], request: { method: 'DELETE', target: `/v2/${name}/blobs/uploads/${uploadPlaceholder}`, headers: [] } };
  },
  mount: (world, random) => {
    const blob = random.pick(world.blobs);
    return {
      setup: [],
      request: {
        method: 'POST',
        target: `/v2/${world.repositories.scratch}/blobs/uploads/?mount=${blob.digest}&from=${random.pick([world.repositories.main, world.repositories.other])}`,
        headers: [],
      },
    };
  },
  referrers: (world, random) => {
    const query = random.pick(['', '?artifactType=application/vnd.fuzz.signature', '?artifactType=x/y']);
    return { setup: [], request: get(`/v2/${world.repositories.main}/referrers/${world.manifests[0]!.digest}${query}`) };
  },
};

export const templateNames = Object.keys(templates);
