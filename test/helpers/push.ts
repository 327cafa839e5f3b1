import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { fetchBody } from './http.js';

/**
 * Pushing content over the HTTP API for tests: blobs, manifests and whole images, each helper
 * asserting that the push itself succeeded so a test can focus on what it checks.
 */

export type Algorithm = 'sha256' | 'sha512';

export const mediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** A content descriptor, as manifests list them. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** `algorithm:hex` of the content. */
export function digestOf(content: string | Buffer, algorithm: Algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(content).digest('hex')}`;
}

export function descriptorOf(mediaType: string, content: string | Buffer): Descriptor {
  return { mediaType, digest: digestOf(content), size: Buffer.byteLength(content) };
}

/** The OCI empty descriptor's content: the two bytes `{}`. */
export const emptyContent = '{}';
export const emptyDescriptor: Descriptor = descriptorOf(mediaTypes.ociEmpty, emptyContent);

/** Distinct bytes for each call, so tests never share content by accident. */
export function uniqueBytes(size = 64): Buffer {
  return randomBytes(size);
}

/** The absolute URL of a `Location` header (which may be relative). */
export function locationOf(response: Response, base: string): URL {
  const location = response.headers.get('location');
  assert.ok(location, `no Location in the ${response.status} answer`);
  return new URL(location, base);
}

/** Starts an upload session (asserting 202) and returns its absolute location. */
export async function startUpload(base: string, name: string, query = ''): Promise<URL> {
  const response = await fetch(`${base}/v2/${name}/blobs/uploads/${query}`, { method: 'POST' });
  assert.equal(response.status, 202, await response.text());
  return locationOf(response, base);
}

/** The upload location with `?digest=` set, ready for the closing PUT. */
export function withDigest(location: URL, digest: string): URL {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url;
}

/** Pushes a blob in a single POST with `?digest=` (asserting 201) and returns its descriptor. */
export async function pushBlob(
  base: string,
  name: string,
  content: string | Buffer,
  mediaType = 'application/octet-stream',
): Promise<Descriptor> {
  const descriptor = descriptorOf(mediaType, content);
  const response = await fetch(`${base}/v2/${name}/blobs/uploads/?digest=${descriptor.digest}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: fetchBody(content),
  });
  assert.equal(response.status, 201, await response.text());
  return descriptor;
}

/** Manifest bytes as sent: objects are serialised with JSON.stringify, text and buffers go as they are. */
export function manifestBytes(manifest: object | string | Buffer): Buffer {
  if (Buffer.isBuffer(manifest)) return manifest;
  return Buffer.from(typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
}

/**
 * PUTs a manifest and returns the answer, whatever it is. The Content-Type defaults to the
 * manifest's own `mediaType` field.
 */
export async function putManifest(
  base: string,
  name: string,
  reference: string,
  manifest: object | string | Buffer,
  contentType?: string,
): Promise<Response> {
  const bytes = manifestBytes(manifest);
  const type = contentType ?? declaredMediaType(bytes);
  return await fetch(`${base}/v2/${name}/manifests/${reference}`, {
    method: 'PUT',
    headers: type ? { 'Content-Type': type } : {},
    body: fetchBody(bytes),
  });
}

export interface PushedManifest extends Descriptor {
  bytes: Buffer;
}

/** PUTs a manifest, asserts 201 and the digest the registry reports, and returns its descriptor. */
export async function pushManifest(
  base: string,
  name: string,
  reference: string,
  manifest: object | string | Buffer,
  contentType?: string,
): Promise<PushedManifest> {
  const bytes = manifestBytes(manifest);
  const response = await putManifest(base, name, reference, bytes, contentType);
  assert.equal(response.status, 201, await response.text());
  const digest = digestOf(bytes, reference.startsWith('sha512:') ? 'sha512' : 'sha256');
  assert.equal(response.headers.get('docker-content-digest'), digest);
  return { mediaType: contentType ?? declaredMediaType(bytes) ?? mediaTypes.ociManifest, digest, size: bytes.length, bytes };
}

export interface ImageOptions {
  /** Layer contents; one random layer when not given. */
  layers?: Buffer[];
  /** Config media type and content; an OCI image config when not given. */
  config?: { mediaType: string; content: string | Buffer };
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An OCI image manifest for the given blobs (nothing is pushed). */
export function imageManifest(config: Descriptor, layers: Descriptor[], options: ImageOptions = {}): object {
  return {
    schemaVersion: 2,
    mediaType: mediaTypes.ociManifest,
    ...(options.artifactType === undefined ? {} : { artifactType: options.artifactType }),
    config,
    layers,
    ...(options.subject === undefined ? {} : { subject: options.subject }),
    ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
  };
}

/**
 * Pushes a complete OCI image: config and layer blobs, then the manifest under `reference`
 * (a tag, or its digest when omitted).
 */
export async function pushImage(
  base: string,
  name: string,
  reference?: string,
  options: ImageOptions = {},
): Promise<PushedManifest> {
  const configSource = options.config ?? {
    mediaType: mediaTypes.ociConfig,
    content: JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: uniqueBytes(8).toString('hex') }),
  };
  const config = await pushBlob(base, name, configSource.content, configSource.mediaType);
  const layers: Descriptor[] = [];
  for (const layer of options.layers ?? [uniqueBytes()]) layers.push(await pushBlob(base, name, layer, mediaTypes.ociLayer));
  const manifest = imageManifest(config, layers, options);
  return await pushManifest(base, name, reference ?? digestOf(manifestBytes(manifest)), manifest);
}

function declaredMediaType(bytes: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
    return typeof parsed.mediaType === 'string' ? parsed.mediaType : undefined;
  } catch {
    return undefined;
  }
}
