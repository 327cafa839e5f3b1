import { parseDigest, type Digest } from '../../protocol/digest.js';
import { RegistryError } from '../../protocol/errors.js';
import { BoundedCache } from '../../registry/bounded-cache.js';
import { mapLimit } from '../../registry/map-limit.js';
import type { Registry } from '../../registry/registry.js';
import { ConfigFactsCache } from './config-facts.js';
import { isoTime } from './image-config.js';
import { viewManifest, type ManifestKind, type ManifestView } from './manifest-view.js';
import { approximateBytes, SingleFlightCache, type Outcome } from './single-flight-cache.js';

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
  /**
   * An image config's `created`; an artifact's `org.opencontainers.image.created` annotation, else
   * its config's; an index's newest child's, else its annotation.
   */
  readonly created: string | null;
}

/**
 * Bytes of summaries kept per registry: a few hundred each, more for an index of many platforms
 * (weighed, so a few huge indexes cannot hold much memory).
 */
const summaryBytesKept = 16 * 1024 * 1024;

/**
 * Indexes nest (an index of indexes is allowed); children deeper than this count their
 * descriptor size only, so a crafted chain cannot make one request read without end.
 */
const maxNesting = 4;

/** Children of one index read at once (each may be an index in turn). */
const childConcurrency = 8;

/** The platform OCI attestation manifests carry in an index (BuildKit's provenance and SBOMs). */
const attestationPlatform = 'unknown/unknown';

/** The OCI annotation of a creation time (RFC 3339). */
const createdAnnotation = 'org.opencontainers.image.created';

/**
 * Summaries of manifests by digest. Content under a digest never changes, so a summary is kept
 * once it is final; one that had to do without a missing config or child, or stopped at the
 * nesting bound, is not kept. Each digest is summarized once at a time, however many tags and
 * indexes ask for it together, and each config is read once (see ConfigFactsCache).
 */
export class ManifestSummaries {
  /** Facts of the configs of the images summarized. */
  readonly configs: ConfigFactsCache;
  private readonly summaries = new SingleFlightCache(new BoundedCache<ManifestSummary>(summaryBytesKept, approximateBytes, 'ui_manifest_summaries'));

  constructor(private readonly registry: Registry) {
    this.configs = new ConfigFactsCache(registry);
  }

  /** The summary of the manifest stored under digest; undefined when its bytes are not in storage. */
  async of(digest: Digest): Promise<ManifestSummary | undefined> {
    return (await this.summarize(digest, 0))?.value;
  }

  /**
   * The summary, and whether it is final; undefined without the manifest's bytes. A caller that
   * finds the digest under summary at another nesting depth shares that computation: at worst it
   * gets a summary cut short by the bound, which is not final and so is computed again next time.
   */
  private async summarize(digest: Digest, depth: number): Promise<Outcome<ManifestSummary> | undefined> {
    return await this.summaries.get(digest.text, async () => {
      let bytes: Buffer;
      try {
        bytes = await this.registry.manifests.read(digest);
      } catch (error) {
        if (error instanceof RegistryError && error.code === 'BLOB_UNKNOWN') return undefined;
        throw error;
      }
      const view = viewManifest(bytes);
      const base: Base = { digest: digest.text, mediaType: view.mediaType, kind: view.kind, ...(view.artifactType ? { artifactType: view.artifactType } : {}) };
      if (view.layout === 'image') return await this.summarizeImage(base, bytes.length, view);
      if (view.layout === 'index') return await this.summarizeIndex(base, bytes.length, view, depth);
      return { value: { ...base, size: bytes.length, platforms: [], created: null }, final: true };
    });
  }

  /** An image or artifact manifest: its config and layers; platform and created from an image config. */
  private async summarizeImage(base: Base, manifestBytes: number, view: ManifestView): Promise<Outcome<ManifestSummary>> {
    const config = view.config!;
    const facts = await this.configs.of(config);
    const platform = view.kind === 'image' ? facts.value.platform : undefined;
    const annotated = view.kind === 'artifact' ? isoTime(view.annotations?.[createdAnnotation]) : null;
    const size = manifestBytes + config.size + view.layers.reduce((sum, layer) => sum + layer.size, 0);
    const summary = { ...base, size, platforms: platform ? [platform] : [], created: annotated ?? facts.value.created };
    return { value: summary, final: facts.final };
  }

  /** An index: each child's own summary (read from storage), platforms from the child descriptors. */
  private async summarizeIndex(base: Base, manifestBytes: number, view: ManifestView, depth: number): Promise<Outcome<ManifestSummary>> {
    const children = await mapLimit(view.manifests, childConcurrency, async (child): Promise<{ value?: ManifestSummary; final: boolean }> => {
      const childDigest = parseDigest(child.digest);
      if (!childDigest) return { final: true }; // nothing could ever be stored under it
      // Past the nesting bound the child is not read: its descriptor size stands in, so not final.
      if (depth >= maxNesting) return { final: false };
      return (await this.summarize(childDigest, depth + 1)) ?? { final: false };
    });
    const size = manifestBytes + view.manifests.reduce((sum, child, i) => sum + (children[i]!.value?.size ?? child.size), 0);
    const platforms = [...new Set(view.manifests.map((child) => child.platform).filter((p): p is string => !!p && p !== attestationPlatform))];
    // ISO strings of one form compare as the times do.
    const childTimes = children.map((child) => child.value?.created).filter((time): time is string => !!time);
    const created = childTimes.length > 0 ? childTimes.reduce((a, b) => (a > b ? a : b)) : isoTime(view.annotations?.[createdAnnotation]);
    return { value: { ...base, size, platforms, created }, final: children.every((child) => child.final) };
  }
}

type Base = Pick<ManifestSummary, 'digest' | 'mediaType' | 'kind' | 'artifactType'>;

const perRegistry = new WeakMap<Registry, ManifestSummaries>();

/** The summaries of a registry, made on first use and kept as long as the registry is. */
export function summariesOf(registry: Registry): ManifestSummaries {
  let summaries = perRegistry.get(registry);
  if (!summaries) perRegistry.set(registry, (summaries = new ManifestSummaries(registry)));
  return summaries;
}
