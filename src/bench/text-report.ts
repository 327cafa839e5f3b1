import type { BenchResult, LatencyStats } from './bench-result.js';
import { humanSize } from '../units.js';

/** The human summary printed on stdout: what ran, the rates, a latency table, the errors. */
export function textReport(result: BenchResult): string {
  const lines: string[] = [];
  const banner = result.valid ? '' : '!! INVALID RESULT: errors happened (see below)';
  if (banner) lines.push(banner);
  lines.push(`== ${result.scenario}  ${result.registry}  prefix=${result.params.prefix}  concurrency=${result.params.concurrency}`);
  const counts = Object.entries(result.counts)
    .map(([name, n]) => `${name}=${n}`)
    .join('  ');
  if (counts) lines.push(`   counts   ${counts}`);
  lines.push(`   moved    ${humanSize(result.bytes)} in ${result.seconds.toFixed(3)} s (setup ${result.setupSeconds.toFixed(3)} s)`);
  const { rates } = result;
  const shown = [`requests/s=${rates.requests_per_s}`, `ops/s=${rates.ops_per_s}`];
  if (rates.images_per_s > 0) shown.push(`images/s=${rates.images_per_s}`);
  shown.push(`MB/s=${rates.MB_per_s}`);
  lines.push(`   rates    ${shown.join('  ')}`);
  const rows: string[][] = [['latency (ms)', 'count', 'errors', 'p50', 'p90', 'p99', 'max']];
  const row = (name: string, s: LatencyStats) => [name, String(s.count), String(s.errors), ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max)];
  for (const [name, stats] of Object.entries(result.requests)) rows.push(row(name, stats));
  for (const [name, stats] of Object.entries(result.operations)) rows.push(row(`op ${name}`, stats));
  if (rows.length > 1) {
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const r of rows) lines.push(`   ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}`);
  }
  for (const note of result.notes) lines.push(`   note     ${note}`);
  lines.push(`   errors   ${result.errors.count}`);
  for (const message of result.errors.first) lines.push(`     - ${message}`);
  if (result.errors.count > result.errors.first.length) lines.push(`     (${result.errors.count - result.errors.first.length} more)`);
  if (banner) lines.push(banner);
  return `${lines.join('\n')}\n`;
}

function ms(value: number): string {
  return value.toFixed(value >= 100 ? 1 : 2);
}
