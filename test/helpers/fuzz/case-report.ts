import type { Mutation } from './mutators.js';
import type { WireRequest } from './wire.js';

/** The request as sent, in a form that can be pasted into a reproduction (bodies cut at 300 bytes). */
export function describeRequest(request: WireRequest): string {
  const lines = [`${request.method} ${JSON.stringify(request.target)}`];
  for (const [name, value] of request.headers) lines.push(`  ${name}: ${JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…(${value.length})` : value)}`);
  const { body } = request;
  if (body !== undefined) {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.concat(body);
    const shown = bytes.subarray(0, 300).toString('latin1');
    lines.push(`  body${Buffer.isBuffer(body) ? '' : ` (chunked, ${body.length} pieces)`}: ${bytes.length} bytes ${JSON.stringify(shown)}${bytes.length > 300 ? '…' : ''}`);
  }
  return lines.join('\n');
}

export interface CaseReport {
  seed: number;
  index: number;
  template: string;
  mutations: readonly Mutation[];
  request: WireRequest;
  problems: readonly string[];
}

/** A failure with everything needed to replay it: FUZZ_SEED, the case index, and the request. */
export function formatCaseReport(report: CaseReport): string {
  return [
    `fuzz case ${report.index} of seed ${report.seed} (replay: FUZZ_SEED=${report.seed} FUZZ_FIRST=${report.index} FUZZ_COUNT=1)`,
    `  template ${report.template}; mutations: ${report.mutations.map((m) => m.description).join('; ') || 'none'}`,
    ...report.problems.map((problem) => `  PROBLEM: ${problem}`),
    describeRequest(report.request),
  ].join('\n');
}
