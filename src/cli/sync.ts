import { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/load.js';
import type { SyncEndpointConfig, SyncJobConfig } from '../config/sections/sync.js';
import { parseRegistryUrl } from '../sync/registry-url.js';
import { RepositoryPattern, RepositoryPatternError } from '../sync/repository-pattern.js';
import { formatSyncReport } from '../sync/sync-report.js';
import { runSyncJob, type SyncReport } from '../sync/sync-job.js';
import { compileTagFilter } from '../sync/tag-filter.js';
import { UserCommandError } from './user.js';

interface SyncFlags {
  job?: string[];
  json?: boolean;
  from?: string;
  to?: string;
  tags?: string;
  semver?: string;
  insecure?: boolean;
  caFile?: string;
  srcCreds?: string;
  destCreds?: string;
  referrers: boolean;
}

/**
 * `berth sync`: runs the `sync` jobs of a config file once (the same jobs `berth serve` runs on
 * their schedule), or one job given on the command line. Exits with status 1 when any tag or
 * listing failed, after the others were copied.
 */
export function syncCommand(): Command {
  return new Command('sync')
    .description('copy repositories from one registry to another, incrementally: the `sync` jobs of a config file, or one job given with --from and --to')
    .argument('[config]', 'a config.yml with a `sync` section')
    .option('--job <name>', 'run only this job of the config file (repeat for several)', (name: string, names: string[] | undefined) => [...(names ?? []), name])
    .option('--from <registry/repository>', 'one job: the source, [http[s]://]host[:port]/repository (a glob: team/*, team/**)')
    .option('--to <registry/repository>', 'one job: the destination; the same wildcards as --from, each replaced by what it matched')
    .option('--tags <regex>', 'one job: only tags in which this regular expression is found (anchor it with ^ and $)')
    .option('--semver <range>', 'one job: only tags that are semantic versions in this range (">=1.2 <2"; a leading v is accepted)')
    .option('--insecure', 'one job: plain HTTP for both registries (an http:// address means that too)')
    .option('--ca-file <file>', 'one job: trust the CA certificates in this PEM file for HTTPS')
    .option('--src-creds <user:password>', 'one job: credentials for the source (default: those `berth login` saved)')
    .option('--dest-creds <user:password>', 'one job: credentials for the destination (default: those `berth login` saved)')
    .option('--no-referrers', 'one job: do not copy referrers (signatures, SBOMs)')
    .option('--json', 'print the reports as JSON')
    .action(async (configFile: string | undefined, flags: SyncFlags) => {
      const jobs = await chooseJobs(configFile, flags);
      const reports: SyncReport[] = [];
      for (const job of jobs) {
        const report = await runSyncJob(job);
        reports.push(report);
        if (!flags.json) process.stdout.write(formatSyncReport(report));
      }
      const ok = reports.every((report) => report.ok);
      if (flags.json) process.stdout.write(`${JSON.stringify({ ok, jobs: reports }, null, 2)}\n`);
      if (!ok) process.exitCode = 1;
    });
}

async function chooseJobs(configFile: string | undefined, flags: SyncFlags): Promise<SyncJobConfig[]> {
  const adHoc = flags.from !== undefined || flags.to !== undefined;
  if (adHoc) {
    if (configFile !== undefined || flags.job !== undefined) throw new UserCommandError('sync: give either a config file (and --job) or --from and --to, not both');
    return [jobFromFlags(flags)];
  }
  const oneJobFlags = (['tags', 'semver', 'insecure', 'caFile', 'srcCreds', 'destCreds'] as const).filter((key) => flags[key] !== undefined);
  if (oneJobFlags.length > 0 || !flags.referrers) throw new UserCommandError('sync: --tags, --semver, --insecure, --ca-file, --src-creds, --dest-creds and --no-referrers go with --from and --to');
  if (configFile === undefined) throw new UserCommandError('sync: give a config file with a `sync` section, or --from and --to');
  const { config } = await loadConfig(configFile, process.env, { storageOptional: true });
  const all = config.sync ?? [];
  if (all.length === 0) throw new ConfigError(`${configFile}: no jobs under sync`);
  if (flags.job === undefined) return all;
  const unknown = flags.job.filter((name) => !all.some((job) => job.name === name));
  if (unknown.length > 0) throw new UserCommandError(`sync: no job named ${unknown.join(', ')} in ${configFile} (it has: ${all.map((job) => job.name).join(', ')})`);
  return all.filter((job) => flags.job!.includes(job.name));
}

/** The one job --from and --to describe, checked as the config's jobs are. */
function jobFromFlags(flags: SyncFlags): SyncJobConfig {
  if (flags.from === undefined || flags.to === undefined) throw new UserCommandError('sync: --from and --to go together');
  const from = splitLocation('--from', flags.from);
  const to = splitLocation('--to', flags.to);
  try {
    new RepositoryPattern(from.repository, to.repository);
  } catch (error) {
    if (!(error instanceof RepositoryPatternError)) throw error;
    throw new UserCommandError(`sync: ${error.key === 'name' ? '--from' : '--to'}: ${error.message}`, { cause: error });
  }
  const tags = { regex: flags.tags, semver: flags.semver };
  const compiled = compileTagFilter(tags);
  if (compiled.problem !== undefined) throw new UserCommandError(`sync: --${compiled.problem.key === 'regex' ? 'tags' : 'semver'}: ${compiled.problem.message}`);
  return {
    name: 'command-line',
    source: endpoint('--from', from.url, flags.insecure, flags.caFile, flags.srcCreds),
    destination: endpoint('--to', to.url, flags.insecure, flags.caFile, flags.destCreds),
    repositories: [{ name: from.repository, destination: to.repository, tags }],
    referrers: flags.referrers,
  };
}

/** `[http[s]://]host[:port]/repository` into the registry's url and the repository (or pattern). */
function splitLocation(flag: string, value: string): { url: string; repository: string } {
  const scheme = /^[a-z]+:\/\//i.exec(value)?.[0] ?? '';
  const slash = value.indexOf('/', scheme.length);
  if (slash < 0 || slash === value.length - 1) throw new UserCommandError(`sync: ${flag}: expected [http[s]://]host[:port]/repository, not ${JSON.stringify(value)}`);
  return { url: value.slice(0, slash), repository: value.slice(slash + 1) };
}

function endpoint(flag: string, url: string, insecure: boolean | undefined, caFile: string | undefined, creds: string | undefined): SyncEndpointConfig {
  const problem = parseRegistryUrl(url, insecure ?? false).problem;
  if (problem !== undefined) throw new UserCommandError(`sync: ${flag}: ${problem}`);
  let username: string | undefined;
  let password: string | undefined;
  if (creds !== undefined) {
    const colon = creds.indexOf(':');
    if (colon <= 0) throw new UserCommandError(`sync: the credentials for ${flag} must be user:password`);
    username = creds.slice(0, colon);
    password = creds.slice(colon + 1);
  }
  return { url, insecure: insecure ?? false, cafile: caFile, username, password };
}
