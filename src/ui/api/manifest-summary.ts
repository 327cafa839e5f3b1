import { parseDigest, type Digest } from '../../protocol/digest.js';
import { RegistryError } from '../../protocol/errors.js';
import { BoundedCache } from '../../registry/bounded-cache.js';
import { mapLimit } from '../../registry/map-limit.js';
import type { Registry } from '../../registry/registry.js';
import { configCreated, configPlatform, isoTime, readImageConfig } from './image-config.js';
import { viewManifest, type ManifestKind, type ManifestView } from './manifest-view.js';

/** What the tag list shows of one manifest (TagSummary without the tag and its push time). */
export interface ManifestSummary {
  readonly digest: string;
  readonly mediaType: string;
  readonly artifactType?: string;
  readonly kind: ManifestKind;
  /**
   * Total compressed bytes: an image's manifest, config and layers; an index's manifest plus each
   * child's own total (a child missing from storage counts its descriptor size).
   */
  readonly size: number;
  /** `os/arch[/variant]`: an image's from its config, an index's from its children's descriptors. */
  readonly platforms: readonly string[];
  /** An image config's `created`; for an index, its newest child's, else its `org.opencontainers.image.created`. */
  readonly created: string | null;
}

/** Summaries kept per registry: a few hundred bytes each. */
const summariesKept = 20_000;

/**
 * Indexes nest (an index of indexes is allowed); children deeper than this count their
 * descriptor size only, so a crafted chain cannot make one request read without end.
 */
const maxNesting = 4;

/** Children of one index read at once (each may be an index in turn). */
const childConcurrency = 8;

/** The platform OCI attestation manifests carry in an index (BuildKit's provenance and SBOMs). */
const attestationPlatform = 'unknown/unknown';

/**
 * Summaries of manifests by digest. Content under a digest never changes, so a summary is kept
 * once it is complete; one that had to do without a missing config or child is not kept, since
 * that content may still be pushed.
 */
export class ManifestSummaries {
  private readonly cache = new BoundedCache<ManifestSummary>(summariesKept, undefined, 'ui_manifest_summaries');

  constructor(private readonly registry: Registry) {}

  /** The summary of the manifest stored under digest; undefined when its bytes are not in storage. */
  async of(digest: Digest): Promise<ManifestSummary | undefined> {
    return (await this.summarize(digest, 0))?.summary;
  }

  /** The summary, and whether it is final (nothing it needed was missing); undefined without the manifest's bytes. */
  private async summarize(digest: Digest, depth: number): Promise<Summarized | undefined> {
    const cached = this.cache.get(digest.text);
    if (cached) return { summary: cached, complete: true };
    let bytes: Buffer;
    try {
      bytes = await this.registry.manifests.read(digest);
    } catch (error) {
      if (error instanceof RegistryError && error.code === 'BLOB_UNKNOWN') return undefined;
      throw error;
    }
    const view = viewManifest(bytes);
    const base: Base = { digest: digest.text, mediaType: view.mediaType, kind: view.kind, ...(view.artifactType ? { artifactType: view.artifactType } : {}) };
    const result =
      view.layout === 'image'
        ? await this.summarizeImage(base, bytes.length, view)
        : view.layout === 'index'
          ? await this.summarizeIndex(base, bytes.length, view, depth)
          : { summary: { ...base, size: bytes.length, platforms: [], created: null }, complete: true };
    if (result.complete) this.cache.set(digest.text, result.summary);
    return result;
  }

  /** An image or artifact manifest: its config and layers; platform and created from an image config. */
  private async summarizeImage(base: Base, manifestBytes: number, view: ManifestView): Promise<Summarized> {
    const config = view.config!;
    const read = await readImageConfig(this.registry, config);
    const content = read.state === 'parsed' ? read.content : undefined;
    const platform = content && view.kind === 'image' ? configPlatform(content) : undefined;
    const size = manifestBytes + config.size + view.layers.reduce((sum, layer) => sum + layer.size, 0);
    const summary = { ...base, size, platforms: platform ? [platform] : [], created: content ? configCreated(content) : null };
    return { summary, complete: read.state !== 'missing' };
  }

  /** An index: each child's own summary (read from storage), platforms from the child descriptors. */
  private async summarizeIndex(base: Base, manifestBytes: number, view: ManifestView, depth: number): Promise<Summarized> {
    const children = await mapLimit(view.manifests, childConcurrency, async (child): Promise<{ summary?: ManifestSummary; complete: boolean }> => {
      const childDigest = parseDigest(child.digest);
      // Past the nesting bound the child is not read: its descriptor size is final, not a stand-in.
      if (!childDigest || depth >= maxNesting) return { complete: true };
      return (await this.summarize(childDigest, depth + 1)) ?? { complete: false };
    });
    const size = manifestBytes + view.manifests.reduce((sum, child, i) => sum + (children[i]!.summary?.size ?? child.size), 0);
    const platforms = [...new Set(view.manifests.map((child) => child.platform).filter((p): p is string => !!p && p !== attestationPlatform))];
    // ISO strings of one form compare as the times do.
    const childTimes = children.map((child) => child.summary?.created).filter((time): time is string => !!time);
    const created = childTimes.length > 0 ? childTimes.reduce((a, b) => (a > b ? a : b)) : isoTime(view.annotations?.['org.opencontainers.image.created']);
    return { summary: { ...base, size, platforms, created }, complete: children.every((child) => child.complete) };
  }
}

/** A summary, and whether it is final: false when some content it needed was missing from storage. */
interface Summarized {
  readonly summary: ManifestSummary;
  readonly complete: boolean;
}

type Base = Pick<ManifestSummary, 'digest' | 'mediaType' | 'kind' | 'artifactType'>;

const perRegistry = new WeakMap<Registry, ManifestSummaries>();

/** The summaries of a registry, made on first use and kept as long as the registry is. */
export function summariesOf(registry: Registry): ManifestSummaries {
  let summaries = perRegistry.get(registry);
  if (!summaries) perRegistry.set(registry, (summaries = new ManifestSummaries(registry)));
  return summaries;
}
