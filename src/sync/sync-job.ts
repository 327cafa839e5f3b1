import type { Logger } from 'pino';
import { readCredentials } from '../client/docker-config.js';
import { RegistryClient } from '../client/registry-client.js';
import { RegistryError } from '../client/registry-error.js';
import type { SyncEndpointConfig, SyncJobConfig } from '../config/sections/sync.js';
import { BlobLocations } from '../image/blob-locations.js';
import { isIndex, type Descriptor } from '../image/descriptor.js';
import { RegistrySink, RegistrySource } from '../image/registry-endpoint.js';
import { transfer } from '../image/transfer.js';
import { ReferrerCopier, isFallbackTag } from './referrers.js';
import { parseRegistryUrl } from './registry-url.js';
import { RepositoryPattern } from './repository-pattern.js';
import { compileTagFilter, type TagFilter } from './tag-filter.js';
import { totalled, type SyncProblem, type SyncReport, type TagReport } from './sync-report.js';

export type { SyncJobConfig } from '../config/sections/sync.js';
export type { SyncReport, TagReport } from './sync-report.js';

export interface SyncOptions {
  /** Where progress and failures are logged (one line per tag copied or failed); default: nowhere. */
  log?: Pick<Logger, 'info' | 'warn'>;
  /** Stops the run between tags (the tag being copied is finished); the report then says `aborted`. */
  signal?: AbortSignal;
}

/**
 * Runs one sync job once: lists the source repositories its patterns take, and for each tag
 * that passes the filters, copies the image (a whole index with its platforms) unless the
 * destination tag already points at the same digest, then copies the referrers of the image
 * and of each manifest of its index. A failing tag is reported and the run goes on with the
 * others. Never throws for what a registry answers; the report says what happened.
 */
export async function runSyncJob(job: SyncJobConfig, options: SyncOptions = {}): Promise<SyncReport> {
  const startedAt = new Date();
  const source = await connectEndpoint(job.source);
  const destination = await connectEndpoint(job.destination).catch(async (error: unknown) => {
    await source.close();
    throw error;
  });
  // Where blobs were seen, so that a layer shared by several destination repositories is
  // mounted instead of uploaded again (the same hints `berth copy` keeps).
  const locations = new BlobLocations();
  const run = new SyncRun(job, source, destination, locations, options);
  try {
    await run.all();
  } finally {
    await source.close();
    await destination.close();
    await locations.save();
  }
  return totalled({
    job: job.name,
    startedAt: startedAt.toISOString(),
    seconds: (Date.now() - startedAt.getTime()) / 1000,
    tags: run.tags,
    errors: run.errors,
    aborted: run.stopped,
  });
}

/**
 * A client for a sync endpoint. Credentials: the endpoint's username and password when given,
 * else those `berth login` (or `docker login`) saved for that registry, else anonymous.
 */
export async function connectEndpoint(endpoint: SyncEndpointConfig): Promise<RegistryClient> {
  const { registry, insecure } = parseRegistryUrl(endpoint.url, endpoint.insecure);
  const credentials = endpoint.username !== undefined ? { username: endpoint.username, password: endpoint.password ?? '' } : await readCredentials(registry);
  return new RegistryClient(registry, { insecure, caFile: endpoint.cafile, credentials });
}

/** One source repository and where it goes, with the filters of every rule that named it. */
interface RepositoryPair {
  source: string;
  destination: string;
  filters: TagFilter[];
  /** Found through the catalog rather than named: it exists, so no tag list yet means no tags. */
  listed: boolean;
}

/** The state of one run of a job. */
class SyncRun {
  readonly tags: TagReport[] = [];
  readonly errors: SyncProblem[] = [];
  /** Set when the signal stopped the run before its last tag. */
  stopped = false;
  private readonly referrers: ReferrerCopier;

  constructor(
    private readonly job: SyncJobConfig,
    private readonly source: RegistryClient,
    private readonly destination: RegistryClient,
    private readonly locations: BlobLocations,
    private readonly options: SyncOptions,
  ) {
    this.referrers = new ReferrerCopier(source, destination);
  }

  async all(): Promise<void> {
    for (const pair of await this.repositories()) {
      if (this.aborted()) return;
      await this.repository(pair);
    }
  }

  private aborted(): boolean {
    if (this.options.signal?.aborted) this.stopped = true;
    return this.stopped;
  }

  /** The source repositories the job's patterns take; the catalog is read only for patterns with wildcards. */
  private async repositories(): Promise<RepositoryPair[]> {
    const pairs = new Map<string, RepositoryPair>();
    let catalog: string[] | undefined;
    let catalogFailed = false;
    for (const rule of this.job.repositories) {
      const pattern = new RepositoryPattern(rule.name, rule.destination);
      const compiled = compileTagFilter(rule.tags);
      if (compiled.filter === undefined) throw new Error(`sync job ${this.job.name}: ${rule.name}: tags.${compiled.problem.key}: ${compiled.problem.message}`);
      let names: string[];
      if (pattern.isExact) {
        names = [rule.name];
      } else {
        if (catalog === undefined && !catalogFailed) {
          try {
            catalog = await this.source.catalog();
          } catch (error) {
            catalogFailed = true;
            this.problem({ message: `cannot list the repositories of ${this.source.registry}: ${messageOf(error)}` });
          }
        }
        names = catalog ?? [];
      }
      for (const name of names) {
        const target = pattern.destinationOf(name);
        if (target === undefined) continue;
        const key = `${name}\n${target}`;
        const pair = pairs.get(key) ?? { source: name, destination: target, filters: [], listed: false };
        if (!pattern.isExact) pair.listed = true;
        pair.filters.push(compiled.filter);
        pairs.set(key, pair);
      }
    }
    return [...pairs.values()];
  }

  private async repository(pair: RepositoryPair): Promise<void> {
    let tags: string[];
    try {
      tags = await this.source.tags(pair.source);
    } catch (error) {
      // registry:2 lists a repository in its catalog as soon as a blob is pushed, and answers
      // 404 to its tag list until a manifest is: nothing to copy yet, not a failure. A repository
      // the job names itself is still an error when it is missing (a typo must not pass quietly).
      if (pair.listed && error instanceof RegistryError && error.status === 404) return;
      this.problem({ repository: pair.source, message: `cannot list its tags: ${messageOf(error)}` });
      return;
    }
    // Fallback-tag indexes of referrers travel with the images they refer to.
    const wanted = tags.filter((tag) => !(this.job.referrers && isFallbackTag(tag)) && pair.filters.some((filter) => filter(tag))).sort();
    for (const tag of wanted) {
      if (this.aborted()) return;
      this.tags.push(await this.tag(pair, tag));
    }
  }

  /** Brings one tag up to date; failures are caught into the report. */
  private async tag(pair: RepositoryPair, tag: string): Promise<TagReport> {
    const report: TagReport = { sourceRepository: pair.source, destinationRepository: pair.destination, tag, outcome: 'unchanged', referrersCopied: 0, bytesCopied: 0 };
    const log = { job: this.job.name, repository: pair.source, destinationRepository: pair.destination, tag };
    try {
      const root = await this.source.headManifest(pair.source, tag);
      if (root === undefined) throw new Error('the tag went away from the source during the sync');
      report.digest = root.digest;
      const present = await this.destination.headManifest(pair.destination, tag);
      if (present?.digest !== root.digest) {
        const result = await transfer(
          new RegistrySource(this.source, { registry: this.source.registry, repository: pair.source, tag }, this.locations),
          new RegistrySink(this.destination, { registry: this.destination.registry, repository: pair.destination, tag }, { locations: this.locations }),
          { platform: 'all' },
        );
        // The tag may have moved at the source between the HEAD and the copy: report what was copied.
        report.digest = result.root.digest;
        report.bytesCopied = result.copiedBytes;
        report.outcome = 'copied';
      }
      if (this.job.referrers) {
        for (const subject of await this.subjects(pair.source, report.digest)) {
          report.referrersCopied += await this.referrers.copy(pair.source, pair.destination, subject);
        }
      }
      if (report.outcome === 'copied' || report.referrersCopied > 0) {
        this.options.log?.info({ ...log, digest: report.digest, outcome: report.outcome, referrersCopied: report.referrersCopied, bytesCopied: report.bytesCopied }, 'sync copied a tag');
      }
    } catch (error) {
      report.outcome = 'failed';
      report.error = messageOf(error);
      this.options.log?.warn({ ...log, digest: report.digest, err: error }, 'sync failed to copy a tag');
    }
    return report;
  }

  /** The manifests whose referrers travel with an image: its root, and every manifest of an index. */
  private async subjects(repository: string, digest: string): Promise<string[]> {
    const { descriptor, bytes } = await this.source.getManifest(repository, digest);
    if (!isIndex(descriptor.mediaType)) return [digest];
    const index = JSON.parse(bytes.toString('utf8')) as { manifests?: Descriptor[] };
    return [digest, ...(index.manifests ?? []).map((child) => child.digest)];
  }

  private problem(problem: SyncProblem): void {
    this.errors.push(problem);
    this.options.log?.warn({ job: this.job.name, repository: problem.repository, reason: problem.message }, 'sync could not list repositories or tags');
  }
}

/** An error's text for the report: the registry's own words where it answered. */
function messageOf(error: unknown): string {
  if (error instanceof RegistryError && error.hint !== undefined) return `${error.message} (${error.hint})`;
  return error instanceof Error ? error.message : String(error);
}
