import { parseManifest, storedMediaType } from '../../registry/manifest-parser.js';

/** What the UI calls a manifest: a runnable image, a multi-platform index, an artifact, or something it cannot read. */
export type ManifestKind = 'image' | 'index' | 'artifact' | 'other';

/**
 * The deepest nesting of arrays and objects the UI parses in stored JSON. Manifests and image
 * configs nest a handful of levels; deeper text parses, but serializing it again for the answer
 * can overflow the stack.
 */
export const maxJsonDepth = 64;

/** Config media types of runnable images; any other config makes an image manifest an artifact. */
export const imageConfigMediaTypes: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
]);

/** A descriptor as the UI shows it: the digest as text, the platform as `os/arch[/variant]`. */
export interface DescriptorView {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly platform?: string;
  readonly artifactType?: string;
  readonly annotations?: Record<string, string>;
}

/** The parts of stored manifest bytes the UI shows, from a lenient read of them. */
export interface ManifestView {
  readonly mediaType: string;
  readonly kind: ManifestKind;
  /** How its size adds up: an image's config and layers, or an index's children; `other` has neither. */
  readonly layout: 'image' | 'index' | 'other';
  /** `artifactType`, or for an artifact image manifest its config media type (as the referrers API says). */
  readonly artifactType?: string;
  readonly config?: DescriptorView;
  /** Layers (foreign ones too) of an image; [] for an index. */
  readonly layers: readonly DescriptorView[];
  /** Children of an index; [] for an image. */
  readonly manifests: readonly DescriptorView[];
  /** The subject descriptor as written in the manifest. */
  readonly subject?: Record<string, unknown>;
  readonly annotations?: Record<string, string>;
}

/**
 * Reads stored manifest bytes for display. The registry's own parser checks them (a manifest
 * another registry stored may not pass); what it does not keep (platforms, per-descriptor
 * annotations and artifact types, foreign layers) is read from the JSON that passed. Bytes it
 * refuses (nesting deeper than maxJsonDepth too) are kind `other`, with no descriptors, and are
 * still shown as text.
 */
export function viewManifest(bytes: Uint8Array): ManifestView {
  const mediaType = storedMediaType(bytes);
  let body: Record<string, unknown>;
  let layout: 'image' | 'index';
  try {
    layout = parseManifest(bytes, undefined, { maxDepth: maxJsonDepth }).kind;
    body = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch {
    return { mediaType, kind: 'other', layout: 'other', layers: [], manifests: [] };
  }
  const ownArtifactType = typeof body.artifactType === 'string' && body.artifactType ? body.artifactType : undefined;
  const subject = isObject(body.subject) ? body.subject : undefined;
  const annotations = stringMap(body.annotations);
  if (layout === 'index') {
    const manifests = (body.manifests as unknown[]).map(descriptorView);
    return { mediaType, kind: ownArtifactType ? 'artifact' : 'index', layout: 'index', artifactType: ownArtifactType, layers: [], manifests, subject, annotations };
  }
  const config = descriptorView(body.config);
  const layers = Array.isArray(body.layers) ? body.layers.map(descriptorView) : [];
  const isArtifact = ownArtifactType !== undefined || !imageConfigMediaTypes.has(config.mediaType);
  return {
    mediaType,
    kind: isArtifact ? 'artifact' : 'image',
    layout: 'image',
    artifactType: isArtifact ? (ownArtifactType ?? config.mediaType) : undefined,
    config,
    layers,
    manifests: [],
    subject,
    annotations,
  };
}

/** `os/architecture[/variant]`, or undefined without both os and architecture. */
export function platformText(platform: unknown): string | undefined {
  if (!isObject(platform)) return undefined;
  const { os, architecture, variant } = platform;
  if (typeof os !== 'string' || typeof architecture !== 'string' || !os || !architecture) return undefined;
  return typeof variant === 'string' && variant ? `${os}/${architecture}/${variant}` : `${os}/${architecture}`;
}

/** A descriptor the parser already checked for shape (digest, media type, size). */
function descriptorView(value: unknown): DescriptorView {
  const descriptor = value as Record<string, unknown>;
  const view: { -readonly [K in keyof DescriptorView]: DescriptorView[K] } = {
    digest: descriptor.digest as string,
    mediaType: descriptor.mediaType as string,
    size: descriptor.size as number,
  };
  const platform = platformText(descriptor.platform);
  if (platform) view.platform = platform;
  if (typeof descriptor.artifactType === 'string' && descriptor.artifactType) view.artifactType = descriptor.artifactType;
  const annotations = stringMap(descriptor.annotations);
  if (annotations) view.annotations = annotations;
  return view;
}

function stringMap(value: unknown): Record<string, string> | undefined {
  if (!isObject(value)) return undefined;
  const entries = Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
