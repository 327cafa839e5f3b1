import type { Digest } from '../protocol/digest.js';
import { BoundedCache } from './bounded-cache.js';
import { parseManifest } from './manifest-parser.js';
import type { ManifestStore } from './manifest-store.js';

/** A descriptor in a referrers answer (OCI distribution spec v1.1, "Listing Referrers"). */
export interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

interface Summary {
  subject?: string;
  descriptor: ReferrerDescriptor;
}

/**
 * Answers "which manifests of this repository have this subject". The answer is derived from
 * the stored revisions themselves, so it is right for content written by any registry
 * (Distribution stores no referrer index). A revision's summary never changes under its digest,
 * so summaries are cached; only the list of revisions is read each time.
 */
export class Referrers {
  private readonly summaries = new BoundedCache<Summary | null>(100_000, undefined, 'referrers');

  constructor(private readonly manifests: ManifestStore) {}

  async list(name: string, subject: Digest, artifactType?: string): Promise<ReferrerDescriptor[]> {
    const revisions = await this.manifests.revisions(name);
    const summaries = await Promise.all(revisions.map((digest) => this.summary(digest)));
    return summaries
      .filter((s): s is Summary => s?.subject === subject.text)
      .map((s) => s.descriptor)
      .filter((d) => artifactType === undefined || d.artifactType === artifactType)
      .sort((a, b) => (a.digest < b.digest ? -1 : 1));
  }

  private async summary(digest: Digest): Promise<Summary | null> {
    const cached = this.summaries.get(digest.text);
    if (cached !== undefined) return cached;
    let summary: Summary | null = null;
    try {
      const bytes = await this.manifests.read(digest);
      const manifest = parseManifest(bytes);
      const descriptor: ReferrerDescriptor = { mediaType: manifest.mediaType, digest: digest.text, size: bytes.length };
      if (manifest.artifactType) descriptor.artifactType = manifest.artifactType;
      if (manifest.annotations) descriptor.annotations = manifest.annotations;
      summary = { subject: manifest.subject?.digest.text, descriptor };
    } catch {
      // Content that does not parse (or is gone) refers to nothing.
    }
    this.summaries.set(digest.text, summary);
    return summary;
  }
}
