/**
 * Bounds on what one request may make the registry hold or parse (config section `limits`, and
 * `catalog.maxentries` / `tags.maxtags` for listing pages). The defaults are written here once;
 * the config schema takes them from here, so `berth serve` and the in-process test servers agree.
 * Every default is far above what a real client sends, so only hostile or broken requests meet them.
 */
export interface RegistryLimits {
  /** `limits.manifestsize`: bytes of one manifest body; larger gets 413 MANIFEST_INVALID. */
  readonly manifestBytes: number;
  /** `limits.manifestdepth`: nesting of arrays and objects in a manifest; deeper gets 400 MANIFEST_INVALID. */
  readonly manifestDepth: number;
  /** `limits.tags`: tags one repository may hold; 0 for no limit. */
  readonly tagsPerRepository: number;
  /** `limits.uploadsize`: bytes of one blob upload; 0 for no limit. */
  readonly uploadBytes: number;
  /** `catalog.maxentries`: the most repositories one `_catalog` page holds (and its size without `n`). */
  readonly catalogPage: number;
  /** `tags.maxtags`: the most tags one `tags/list` page holds. */
  readonly tagsPage: number;
}

/**
 * The largest manifest Berth stores. The OCI spec asks registries to take at least 4 MiB, and
 * Distribution takes no more; garbage collection reads anything larger as a plain blob, so the
 * configured limit may be lower but never higher.
 */
export const maxManifestBytes = 4 * 1024 * 1024;

export const defaultLimits: RegistryLimits = {
  manifestBytes: maxManifestBytes,
  // Real manifests nest 4 or 5 levels (index, descriptor, platform, features); 64 leaves room
  // for any annotation scheme while keeping every later walk of the parsed value shallow.
  manifestDepth: 64,
  // No limit: CI pipelines push a tag per commit, and Distribution has none either.
  tagsPerRepository: 0,
  // No limit: layers of tens of GB are real (ML models); Distribution has none either.
  uploadBytes: 0,
  // Distribution's default `catalog.maxentries`.
  catalogPage: 1000,
  // Large enough that a plain `tags/list` of any ordinary repository comes in one page.
  tagsPage: 10_000,
};

/** The limits in effect: the defaults with what the caller sets. */
export function resolveLimits(limits: Partial<RegistryLimits> = {}): RegistryLimits {
  const defined = Object.entries(limits).filter(([, value]) => value !== undefined);
  return { ...defaultLimits, ...Object.fromEntries(defined) };
}
