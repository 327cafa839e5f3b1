import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const ociManifestType = 'application/vnd.oci.image.manifest.v1+json';
export const ociIndexType = 'application/vnd.oci.image.index.v1+json';
export const ociEmptyType = 'application/vnd.oci.empty.v1+json';
export const dockerManifestType = 'application/vnd.docker.distribution.manifest.v2+json';
const refNameAnnotation = 'org.opencontainers.image.ref.name';

/** Every manifest type a pull may get, as clients send them. */
export const manifestAccept = [
  ociManifestType,
  ociIndexType,
  dockerManifestType,
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

export interface Manifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
  /** The parsed JSON. */
  readonly json: {
    mediaType?: string;
    config?: Descriptor;
    layers?: Descriptor[];
    manifests?: Descriptor[];
    subject?: Descriptor;
    artifactType?: string;
  };
}

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function blobPath(layoutDir: string, digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return join(layoutDir, 'blobs', algorithm!, hex!);
}

export async function readLayoutBlob(layoutDir: string, digest: string): Promise<Buffer> {
  return await readFile(blobPath(layoutDir, digest));
}

function asManifest(bytes: Buffer, mediaType?: string): Manifest {
  const json = JSON.parse(bytes.toString('utf8')) as Manifest['json'];
  return { digest: sha256(bytes), mediaType: json.mediaType ?? mediaType ?? ociManifestType, bytes, json };
}

/** The manifest an OCI image layout names `refName` (skopeo's `oci:DIR:REF`). */
export async function readLayoutManifest(layoutDir: string, refName: string): Promise<Manifest> {
  const index = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const entry = index.manifests.find((d) => d.annotations?.[refNameAnnotation] === refName);
  if (!entry) throw new Error(`${layoutDir}/index.json has no manifest named ${refName}: ${JSON.stringify(index)}`);
  const manifest = asManifest(await readLayoutBlob(layoutDir, entry.digest), entry.mediaType);
  if (manifest.digest !== entry.digest) throw new Error(`${layoutDir}: blob ${entry.digest} has digest ${manifest.digest}`);
  return manifest;
}

/**
 * The top manifest of a `dir:` copy made by skopeo, exactly as the registry served it (the dir
 * transport never converts), and, for an index, each child manifest by digest.
 */
export async function readDirManifest(dir: string, instance?: string): Promise<Manifest> {
  const file = instance ? `${instance.split(':')[1]}.manifest.json` : 'manifest.json';
  return asManifest(await readFile(join(dir, file)));
}

/** True when a `dir:` copy holds the blob (skopeo names blob files by their hex digest). */
export function dirHasBlob(dir: string, digest: string): boolean {
  return existsSync(join(dir, digest.split(':')[1]!));
}

/**
 * Writes a one-artifact OCI image layout: an image manifest with `artifactType`, an empty
 * config, one text layer and a `subject`, the shape `oras attach` produces. skopeo copies it to
 * a registry untouched (it converts nothing without a reason to), which makes skopeo an
 * artifact pusher.
 */
export async function writeArtifactLayout(
  layoutDir: string,
  options: { refName: string; artifactType: string; subject: Descriptor; content: string },
): Promise<Manifest> {
  await rm(layoutDir, { recursive: true, force: true });
  await mkdir(join(layoutDir, 'blobs', 'sha256'), { recursive: true });
  const put = async (bytes: Buffer) => {
    const digest = sha256(bytes);
    await writeFile(blobPath(layoutDir, digest), bytes);
    return { digest, size: bytes.length };
  };
  const config = { mediaType: ociEmptyType, ...(await put(Buffer.from('{}'))) };
  const layer = {
    mediaType: 'text/plain',
    ...(await put(Buffer.from(options.content))),
    annotations: { 'org.opencontainers.image.title': 'note.txt' },
  };
  const body = {
    schemaVersion: 2,
    mediaType: ociManifestType,
    artifactType: options.artifactType,
    config,
    layers: [layer],
    subject: { mediaType: options.subject.mediaType, digest: options.subject.digest, size: options.subject.size },
    annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
  };
  const bytes = Buffer.from(JSON.stringify(body));
  const { digest, size } = await put(bytes);
  const index = {
    schemaVersion: 2,
    manifests: [{ mediaType: ociManifestType, digest, size, annotations: { [refNameAnnotation]: options.refName } }],
  };
  await writeFile(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(layoutDir, 'index.json'), JSON.stringify(index));
  return asManifest(bytes);
}

const httpTimeoutMs = 15_000;

/** `HEAD` of a manifest: its status and, when found, its digest and media type. */
export async function headManifest(
  registryUrl: string,
  name: string,
  reference: string,
): Promise<{ status: number; digest?: string; mediaType?: string }> {
  const response = await fetch(`${registryUrl}/v2/${name}/manifests/${reference}`, {
    method: 'HEAD',
    headers: { Accept: manifestAccept },
    signal: AbortSignal.timeout(httpTimeoutMs),
  });
  return {
    status: response.status,
    digest: response.headers.get('docker-content-digest') ?? undefined,
    mediaType: response.headers.get('content-type') ?? undefined,
  };
}

/** A GET with a time limit that returns status, headers and the parsed JSON body (if any). */
export async function getJson<T = unknown>(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: T | undefined; text: string }> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(httpTimeoutMs) });
  const text = await response.text();
  let body: T | undefined;
  try {
    body = JSON.parse(text) as T;
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** The tags of a repository via `GET /v2/<name>/tags/list`. */
export async function listTags(registryUrl: string, name: string): Promise<{ status: number; tags: string[] }> {
  const { status, body } = await getJson<{ tags?: string[] | null }>(`${registryUrl}/v2/${name}/tags/list`);
  return { status, tags: [...(body?.tags ?? [])].sort() };
}
