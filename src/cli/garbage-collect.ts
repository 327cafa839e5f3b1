import { Command } from 'commander';
import { createDescriptorCache } from '../cache/create-descriptor-cache.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { parseDuration } from '../config/values.js';
import { collectGarbage, type CollectSummary, type GcEvent } from '../gc/collector.js';
import { GcLease } from '../gc/lease.js';
import { createLogger } from '../log.js';
import { BlobStore } from '../registry/blob-store.js';
import { createDriver } from '../storage/create-driver.js';
import { UserCommandError } from './user.js';

interface GcFlags {
  dryRun?: boolean;
  deleteUntagged?: boolean;
  online?: boolean;
  grace?: string;
  json?: boolean;
  quiet?: boolean;
}

/** Lease lifetime of a CLI run; renewed every third of it while the run goes on. */
const leaseTtlMs = 10 * 60_000;

/** `berth garbage-collect`: Distribution's offline mark and sweep, and Berth's online variant. */
export function garbageCollectCommand(): Command {
  return new Command('garbage-collect')
    .argument('[config]', 'a Distribution-format config.yml (default: filesystem storage under ./data)')
    .description('delete blobs no manifest references (offline unless --online: stop the registry first, as for registry:2)')
    .option('-d, --dry-run', 'report what would be deleted, change nothing')
    .option('-m, --delete-untagged', 'also delete manifest revisions no tag keeps (index children and referrers of kept manifests stay)')
    .option('--online', 'collect while a registry serves the store (deletion markers, grace delay)')
    .option('--grace <duration>', 'with --online: blobs and revisions younger than this stay (default: storage.maintenance.gc.grace)')
    .option('--json', 'print one JSON summary instead of lines')
    .option('-q, --quiet', 'print only the summary line')
    .action(async (config: string | undefined, flags: GcFlags) => {
      await garbageCollect(config, flags);
    });
}

async function garbageCollect(configFile: string | undefined, flags: GcFlags): Promise<void> {
  const { config } = await loadConfig(configFile);
  const log = createLogger('warn');
  const driver = await createDriver(config.storage);
  const descriptors = await createDescriptorCache(config, log);
  const blobs = new BlobStore(driver, descriptors);
  let graceMs = config.storage.maintenance.gc.grace;
  if (flags.grace !== undefined) {
    const parsed = parseDuration(flags.grace);
    if (parsed === undefined) throw new ConfigError(`--grace: not a duration: ${JSON.stringify(flags.grace)}`);
    graceMs = parsed;
  }
  const out = process.stdout;
  // On a terminal, marking shows as one progress line; deletions are always listed line by line.
  const progress = Boolean(out.isTTY) && !flags.json && !flags.quiet;
  let marked = 0;
  let repositories = 0;
  const onEvent = (event: GcEvent) => {
    if (flags.json || flags.quiet) return;
    const isMark = event.type === 'repository' || event.type === 'mark-manifest' || event.type === 'mark-blob';
    if (progress && isMark) {
      if (event.type === 'repository') repositories++;
      else marked++;
      out.write(`\rmarking: ${repositories} repositories, ${marked} blobs and manifests`);
      return;
    }
    if (progress) out.write('\r\x1b[K');
    out.write(`${describe(event, flags.dryRun ?? false)}\n`);
  };
  const lease = await GcLease.acquire(driver, { ttlMs: leaseTtlMs });
  if (!lease) throw new UserCommandError('another garbage collection holds the lease on this storage; try again later');
  let summary: CollectSummary;
  try {
    summary = await collectGarbage(driver, {
      dryRun: flags.dryRun,
      deleteUntagged: flags.deleteUntagged,
      online: flags.online ? { graceMs } : undefined,
      forget: (digest) => blobs.forget(digest),
      lease,
      onEvent,
    });
  } finally {
    await lease.release();
    await descriptors?.close();
  }
  // Temporary files a killed registry left: offline every one is stale (nothing writes); online,
  // only those older than the upload purge age, as `serve` sweeps them (a live write's is younger).
  const olderThan = new Date(Date.now() - (flags.online ? config.storage.maintenance.uploadpurging.age : 0));
  const temporaries = (await driver.sweepTemporaries?.({ olderThan, dryRun: flags.dryRun }))?.stale ?? 0;
  if (progress) out.write('\r\x1b[K');
  if (flags.json) {
    out.write(`${JSON.stringify({ ...summary, staleTemporaries: temporaries }, null, 2)}\n`);
    return;
  }
  if (temporaries > 0) out.write(`${temporaries} stale temporary files ${summary.dryRun ? 'would be removed' : 'removed'}\n`);
  const verb = summary.dryRun ? 'eligible for deletion' : 'deleted';
  out.write(
    `\n${summary.markedBlobs} blobs marked, ${summary.deletedBlobs.length} blobs and ${summary.deletedManifests.length} manifests ${verb}, ` +
      `${summary.deletedLayerLinks.length} layer links ${verb}, ${summary.bytesFreed} bytes ${summary.dryRun ? 'would be freed' : 'freed'}\n`,
  );
}

function describe(event: GcEvent, dryRun: boolean): string {
  const would = dryRun ? 'eligible for deletion' : 'deleted';
  switch (event.type) {
    case 'repository':
      return event.repository;
    case 'mark-manifest':
      return `${event.repository}: marking manifest ${event.digest}`;
    case 'mark-blob':
      return `${event.repository}: marking blob ${event.digest}`;
    case 'warning':
      return `warning: ${[event.repository, event.digest].filter(Boolean).join(' ')}: ${event.message}`;
    case 'delete-manifest':
      return `${event.repository}: manifest ${would}: ${event.digest}`;
    case 'delete-blob':
      return `blob ${would}: ${event.digest} (${event.size} bytes)`;
    case 'keep-blob':
      return `blob kept: ${event.digest} (${event.reason})`;
    case 'delete-layer-link':
      return `${event.repository}: layer link ${would}: ${event.digest}`;
    case 'delete-repository':
      return `${event.repository}: repository removed (no content left)`;
  }
}
