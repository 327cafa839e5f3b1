/** What one run of a sync job did: one entry per tag considered, and failures outside any tag. */

/** `copied`: the destination tag was missing or pointed elsewhere and now matches the source; `unchanged`: it already matched; `failed`: see `error`. */
export type TagOutcome = 'copied' | 'unchanged' | 'failed';

export interface TagReport {
  sourceRepository: string;
  destinationRepository: string;
  tag: string;
  outcome: TagOutcome;
  /** The digest the source tag pointed at (absent when even that could not be read). */
  digest?: string;
  /** Referrers (signatures, SBOMs, ...) of the image, or of those referrers, copied in this run. */
  referrersCopied: number;
  /** Blob bytes sent to the destination for this tag. */
  bytesCopied: number;
  error?: string;
}

/** A failure that is not one tag's: the catalog or a repository's tag list could not be read. */
export interface SyncProblem {
  repository?: string;
  message: string;
}

export interface SyncReport {
  job: string;
  /** RFC 3339 time the run started. */
  startedAt: string;
  seconds: number;
  tags: TagReport[];
  copied: number;
  unchanged: number;
  failed: number;
  referrersCopied: number;
  errors: SyncProblem[];
  /** True when nothing failed: no failed tag and no other error. */
  ok: boolean;
  /** True when the run was stopped by its signal before it went through every tag. */
  aborted: boolean;
}

/** Fills in the totals of a report from its entries. */
export function totalled(report: Omit<SyncReport, 'copied' | 'unchanged' | 'failed' | 'referrersCopied' | 'ok'>): SyncReport {
  const count = (outcome: TagOutcome) => report.tags.filter((tag) => tag.outcome === outcome).length;
  const failed = count('failed');
  return {
    ...report,
    copied: count('copied'),
    unchanged: count('unchanged'),
    failed,
    referrersCopied: report.tags.reduce((sum, tag) => sum + tag.referrersCopied, 0),
    ok: failed === 0 && report.errors.length === 0 && !report.aborted,
  };
}

/** The report as lines of text: one per tag that was copied or failed, then the totals. */
export function formatSyncReport(report: SyncReport): string {
  const lines: string[] = [];
  for (const tag of report.tags) {
    if (tag.outcome === 'unchanged') continue;
    const target = `${tag.sourceRepository}:${tag.tag} -> ${tag.destinationRepository}:${tag.tag}`;
    if (tag.outcome === 'copied') {
      const referrers = tag.referrersCopied > 0 ? `, ${tag.referrersCopied} referrer(s)` : '';
      lines.push(`copied     ${target} (${tag.digest}${referrers})`);
    } else {
      lines.push(`FAILED     ${target}: ${tag.error}`);
    }
  }
  for (const tag of report.tags) {
    if (tag.outcome === 'unchanged' && tag.referrersCopied > 0) {
      lines.push(`referrers  ${tag.sourceRepository}:${tag.tag} -> ${tag.destinationRepository}:${tag.tag}: ${tag.referrersCopied} copied`);
    }
  }
  for (const problem of report.errors) lines.push(`ERROR      ${problem.repository === undefined ? '' : `${problem.repository}: `}${problem.message}`);
  const stopped = report.aborted ? ', stopped before the end' : '';
  lines.push(
    `sync ${report.job}: ${report.copied} copied, ${report.unchanged} unchanged, ${report.failed} failed, ${report.referrersCopied} referrer(s) copied${report.errors.length > 0 ? `, ${report.errors.length} error(s)` : ''}${stopped} in ${report.seconds.toFixed(1)}s`,
  );
  return `${lines.join('\n')}\n`;
}
