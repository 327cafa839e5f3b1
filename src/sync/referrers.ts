import { text } from 'node:stream/consumers';
import type { RegistryClient } from '../client/registry-client.js';
import { RegistryError } from '../client/registry-error.js';
import { mediaTypes, type Descriptor } from '../image/descriptor.js';
import { RegistrySink, RegistrySource } from '../image/registry-endpoint.js';
import { transfer } from '../image/transfer.js';

/** Referrers of referrers (a signature of an SBOM) are followed this deep, no further. */
const maxDepth = 3;

/**
 * The tag under which a registry without the referrers API keeps the index of a subject's
 * referrers (OCI distribution spec 1.1, "referrers tag schema"): `<alg>-<hex>`, 64 characters at
 * most after the dash.
 */
export function fallbackTagOf(digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return `${algorithm}-${hex!.slice(0, 64)}`;
}

/** True for tags of that schema: a sync moves them as referrers, not as images. */
export function isFallbackTag(tag: string): boolean {
  return /^(sha256|sha512)-[0-9a-f]{64}$/.test(tag);
}

/**
 * Copies the referrers of manifests from a source repository to a destination repository. They
 * are found with the referrers API, or through the fallback tag on a registry without it, and
 * written by digest; a destination without the API also gets its fallback tag index updated, so
 * clients find them there the way they look for them. A referrer the destination already has
 * is not written again, so a run with nothing new writes nothing.
 */
export class ReferrerCopier {
  /** Whether each registry answers the referrers API, learned on first use. */
  private readonly api = new Map<RegistryClient, boolean>();

  constructor(
    private readonly source: RegistryClient,
    private readonly destination: RegistryClient,
  ) {}

  /** Copies what refers to `subject` (and what refers to those); returns how many manifests were written. */
  async copy(sourceRepository: string, destinationRepository: string, subject: string, depth = 0): Promise<number> {
    const referrers = await this.list(this.source, sourceRepository, subject);
    let copied = 0;
    for (const referrer of referrers) {
      if ((await this.destination.headManifest(destinationRepository, referrer.digest)) === undefined) {
        await transfer(
          new RegistrySource(this.source, { registry: this.source.registry, repository: sourceRepository, digest: referrer.digest }),
          new RegistrySink(this.destination, { registry: this.destination.registry, repository: destinationRepository, digest: referrer.digest }),
          { platform: 'all' },
        );
        copied++;
      }
      if (depth + 1 < maxDepth) copied += await this.copy(sourceRepository, destinationRepository, referrer.digest, depth + 1);
    }
    if (referrers.length > 0 && !(await this.hasApi(this.destination, destinationRepository, subject))) {
      await this.updateFallbackTag(destinationRepository, subject, referrers);
    }
    return copied;
  }

  /** Manifests whose `subject` is `digest`: from the referrers API, else from the fallback tag's index. */
  private async list(client: RegistryClient, repository: string, digest: string): Promise<Descriptor[]> {
    if (await this.hasApi(client, repository, digest)) return await client.referrers(repository, digest);
    return (await this.fallbackIndex(client, repository, digest))?.manifests ?? [];
  }

  private async fallbackIndex(client: RegistryClient, repository: string, digest: string): Promise<{ manifests?: Descriptor[] } | undefined> {
    try {
      const { bytes } = await client.getManifest(repository, fallbackTagOf(digest), [mediaTypes.ociIndex]);
      return JSON.parse(bytes.toString('utf8')) as { manifests?: Descriptor[] };
    } catch (error) {
      if (error instanceof RegistryError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** Adds the referrers the destination's fallback index does not list yet (no write when none). */
  private async updateFallbackTag(repository: string, subject: string, referrers: readonly Descriptor[]): Promise<void> {
    const index = (await this.fallbackIndex(this.destination, repository, subject)) ?? {};
    const listed = index.manifests ?? [];
    const known = new Set(listed.map((entry) => entry.digest));
    const missing = referrers.filter((entry) => !known.has(entry.digest));
    if (missing.length === 0) return;
    const updated = { schemaVersion: 2, mediaType: mediaTypes.ociIndex, ...index, manifests: [...listed, ...missing] };
    await this.destination.putManifest(repository, fallbackTagOf(subject), Buffer.from(JSON.stringify(updated)), mediaTypes.ociIndex);
  }

  /**
   * Whether the registry serves the referrers API. A registry that has it never answers 404 to
   * it (OCI distribution spec 1.1), so one request tells; the answer holds for the registry.
   */
  private async hasApi(client: RegistryClient, repository: string, digest: string): Promise<boolean> {
    const known = this.api.get(client);
    if (known !== undefined) return known;
    const response = await client.request('GET', `/v2/${repository}/referrers/${digest}`, { headers: { accept: mediaTypes.ociIndex } });
    await text(response.body);
    if (response.status === 404) {
      this.api.set(client, false);
      return false;
    }
    if (response.status !== 200) throw new RegistryError(client.registry, response.status, { message: 'the referrers API answered unexpectedly' });
    this.api.set(client, true);
    return true;
  }
}
