import { isDigestAlgorithm, looksLikeDigest, parseDigest, type Digest } from '../protocol/digest.js';
import { RegistryError } from '../protocol/errors.js';
import { exceedsJsonDepth } from './json-depth.js';
import {
  bareMediaType,
  imageMediaTypes,
  indexMediaTypes,
  mediaTypes,
  schema1MediaTypes,
} from '../protocol/media-types.js';

/** A content descriptor from a manifest, checked for shape. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly urls?: readonly string[];
}

/** What the registry needs to know of a manifest; the bytes themselves are stored untouched. */
export interface ParsedManifest {
  readonly mediaType: string;
  /** `image` lists config and layers; `index` lists child manifests. */
  readonly kind: 'image' | 'index';
  /** Blobs that must exist in the repository (config, layers): images only. */
  readonly blobs: readonly Descriptor[];
  /** Manifests that must exist in the repository: indexes only. */
  readonly children: readonly Descriptor[];
  readonly subject?: Descriptor;
  /** For the referrers API: `artifactType`, or the config media type of an image manifest. */
  readonly artifactType?: string;
  readonly annotations?: Record<string, string>;
}

const schema1Message =
  'Docker schema 1 manifests are not supported; push the image as Docker schema 2 or OCI ' +
  '(for example `skopeo copy --format v2s2` or a current docker/podman)';

export interface ParseOptions {
  /** `limits.manifestdepth`: deeper nesting is MANIFEST_INVALID, checked before parsing. None when absent (stored manifests). */
  readonly maxDepth?: number;
}

/**
 * Parses and checks a manifest for storage. `contentType` is the request's Content-Type (may be
 * empty); the manifest's own `mediaType` field wins when present, and the two must agree when
 * both name a manifest type. Throws MANIFEST_INVALID with a message that says what is wrong
 * (DIGEST_INVALID for a descriptor digest in an algorithm Berth cannot verify).
 */
export function parseManifest(bytes: Uint8Array, contentType?: string, options: ParseOptions = {}): ParsedManifest {
  if (options.maxDepth !== undefined && exceedsJsonDepth(bytes, options.maxDepth)) {
    throw invalid(`manifest nests arrays and objects deeper than ${options.maxDepth} levels (limits.manifestdepth)`);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw invalid('manifest is not valid JSON', error);
  }
  if (!isObject(body)) throw invalid('manifest must be a JSON object');

  const declared = body.mediaType;
  if (declared !== undefined && typeof declared !== 'string') throw invalid('mediaType must be a string');
  const header = bareMediaType(contentType);
  if (schema1MediaTypes.has(header) || (declared && schema1MediaTypes.has(declared)) || body.schemaVersion === 1) {
    throw invalid(schema1Message);
  }
  if (body.schemaVersion !== 2) throw invalid('schemaVersion must be 2');
  const headerNamesManifest = imageMediaTypes.has(header) || indexMediaTypes.has(header);
  if (declared && headerNamesManifest && declared !== header) {
    throw invalid(`mediaType ${declared} does not match Content-Type ${header}`);
  }
  const mediaType = declared || (headerNamesManifest ? header : inferMediaType(body));
  if (indexMediaTypes.has(mediaType)) return parseIndex(body, mediaType);
  if (imageMediaTypes.has(mediaType)) return parseImage(body, mediaType);
  throw invalid(`unsupported manifest media type ${JSON.stringify(mediaType)}`);
}

/** The media type of stored manifest bytes, for Content-Type on reads. */
export function storedMediaType(bytes: Uint8Array): string {
  try {
    const body: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    if (isObject(body)) {
      if (typeof body.mediaType === 'string' && body.mediaType) return body.mediaType;
      return inferMediaType(body);
    }
  } catch {
    // Stored by another registry and not JSON: serve it as an OCI manifest, untouched.
  }
  return mediaTypes.ociManifest;
}

function inferMediaType(body: Record<string, unknown>): string {
  return Array.isArray(body.manifests) ? mediaTypes.ociIndex : mediaTypes.ociManifest;
}

function parseImage(body: Record<string, unknown>, mediaType: string): ParsedManifest {
  const config = parseDescriptor(body.config, 'config');
  if (body.layers !== undefined && !Array.isArray(body.layers)) throw invalid('layers must be an array');
  const layers = ((body.layers as unknown[] | undefined) ?? []).map((layer, i) => parseDescriptor(layer, `layers[${i}]`));
  const subject = body.subject === undefined ? undefined : parseDescriptor(body.subject, 'subject');
  const artifactType = optionalString(body.artifactType, 'artifactType') || config.mediaType;
  // Layers with `urls` (foreign, non-distributable) are fetched elsewhere and need not be here.
  const blobs = [config, ...layers.filter((layer) => !layer.urls?.length)];
  return { mediaType, kind: 'image', blobs, children: [], subject, artifactType, annotations: annotations(body) };
}

function parseIndex(body: Record<string, unknown>, mediaType: string): ParsedManifest {
  if (!Array.isArray(body.manifests)) throw invalid('manifests must be an array');
  const children = body.manifests.map((child, i) => parseDescriptor(child, `manifests[${i}]`));
  const subject = body.subject === undefined ? undefined : parseDescriptor(body.subject, 'subject');
  const artifactType = optionalString(body.artifactType, 'artifactType') || undefined;
  return { mediaType, kind: 'index', blobs: [], children, subject, artifactType, annotations: annotations(body) };
}

function parseDescriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size, urls } = value;
  if (typeof mediaType !== 'string' || !mediaType) throw invalid(`${where}.mediaType must be a non-empty string`);
  const parsed = typeof digest === 'string' ? parseDigest(digest) : undefined;
  if (!parsed && typeof digest === 'string' && looksLikeDigest(digest) && !isDigestAlgorithm(digest.split(':')[0]!)) {
    // Well-formed, but in an algorithm other than sha256 and sha512 (the ones the OCI image spec
    // registers): content could never be checked against it.
    throw new RegistryError('DIGEST_INVALID', {
      message: `${where}.digest ${JSON.stringify(digest)} is not supported: use sha256:<64 hex> or sha512:<128 hex>`,
      detail: { digest, where },
    });
  }
  if (!parsed) throw invalid(`${where}.digest is not a valid digest: ${JSON.stringify(digest)}`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${where}.size must be a non-negative integer`);
  }
  if (urls !== undefined && (!Array.isArray(urls) || !urls.every((u) => typeof u === 'string'))) {
    throw invalid(`${where}.urls must be an array of strings`);
  }
  return { mediaType, digest: parsed, size, urls: urls as string[] | undefined };
}

function annotations(body: Record<string, unknown>): Record<string, string> | undefined {
  const value = body.annotations;
  if (value === undefined) return undefined;
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw invalid('annotations must map strings to strings');
  }
  return value as Record<string, string>;
}

function optionalString(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(`${where} must be a string`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string, cause?: unknown): RegistryError {
  return new RegistryError('MANIFEST_INVALID', { message, detail: { reason: message }, cause });
}
