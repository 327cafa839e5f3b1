import { z } from 'zod';
import { parseRegistryUrl } from '../../sync/registry-url.js';
import { RepositoryPattern, RepositoryPatternError } from '../../sync/repository-pattern.js';
import { compileTagFilter } from '../../sync/tag-filter.js';
import { duration, flag, section, text } from '../values.js';

/**
 * Berth extension, not in Distribution: `sync`, jobs that copy repositories from one registry
 * to another (`berth sync`, and on a schedule inside `berth serve`). src/sync/ runs them.
 */

const endpoint = section({
  /** `http://host:port`, `https://host:port`, or `host:port` (HTTPS unless `insecure`). */
  url: text,
  username: text.optional(),
  password: text.optional(),
  /** Plain HTTP for a `host:port` url (an `http://` url is plain HTTP anyway). */
  insecure: flag.default(false),
  /** PEM file of a CA to trust for HTTPS, besides the system's roots. */
  cafile: text.optional(),
}).superRefine((value, ctx) => {
  const problem = parseRegistryUrl(value.url, value.insecure).problem;
  if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: problem });
});

const tags = section({
  /** A JavaScript regular expression searched in the tag (anchor it with ^ and $ to match whole tags). */
  regex: text.optional(),
  /** A semver range (`>=1.2 <2`); tags that are not semantic versions (a leading `v` allowed) never match. */
  semver: text.optional(),
}).superRefine((value, ctx) => {
  const problem = compileTagFilter(value).problem;
  if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [problem.key], message: problem.message });
});

const repository = section({
  /** A source repository name, or a glob (`*` within one path component, `**` across them) matched against the catalog. */
  name: text,
  /** The destination name; its wildcards take the text the name's matched, in order. Default: the same name. */
  destination: text.optional(),
  /** Which tags to copy; default every tag. */
  tags: tags.optional(),
}).superRefine((value, ctx) => {
  try {
    new RepositoryPattern(value.name, value.destination);
  } catch (error) {
    if (!(error instanceof RepositoryPatternError)) throw error;
    ctx.addIssue({ code: 'custom', path: [error.key], message: error.message });
  }
});

const job = section({
  /** Names the job in logs, reports and `berth sync --job`. */
  name: text.refine((v) => /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v), { message: 'must be letters, digits, ".", "_" or "-"' }),
  source: endpoint,
  destination: endpoint,
  repositories: z.array(repository, { error: 'must be a list of repositories' }).min(1, { error: 'must list at least one repository' }),
  /** Copy the referrers (signatures, SBOMs) of every image copied. */
  referrers: flag.default(true),
  /** Run every this long inside `berth serve`; absent: only when asked (`berth sync`). */
  schedule: duration
    .refine((ms) => ms >= 1000, { message: 'must be at least 1s' })
    .optional(),
});

export const syncSchema = z
  .array(job, { error: 'must be a list of jobs' })
  .superRefine((jobs, ctx) => {
    const seen = new Set<string>();
    jobs.forEach((each, index) => {
      if (seen.has(each.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `another job is named ${JSON.stringify(each.name)}` });
      seen.add(each.name);
    });
  })
  .optional();

export type SyncConfig = NonNullable<z.output<typeof syncSchema>>;
export type SyncJobConfig = SyncConfig[number];
export type SyncEndpointConfig = SyncJobConfig['source'];
export type SyncRepositoryConfig = SyncJobConfig['repositories'][number];
export type SyncTagsConfig = NonNullable<SyncRepositoryConfig['tags']>;
