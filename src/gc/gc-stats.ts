/**
 * Online garbage collection totals of this process, kept as plain numbers so that gc/ does not
 * depend on a metrics library; src/ops reads them when metrics are scraped.
 */
const totals = { runs: 0, failures: 0, bytesFreed: 0 };

/** A finished run (not one skipped for the lease); a dry run frees nothing. */
export function countGcRun(bytesFreed: number): void {
  totals.runs++;
  totals.bytesFreed += bytesFreed;
}

/** A run that failed part way. */
export function countGcFailure(): void {
  totals.failures++;
}

export function gcTotals(): { readonly runs: number; readonly failures: number; readonly bytesFreed: number } {
  return totals;
}
