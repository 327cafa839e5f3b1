import { BenchSetupError } from './bench-error.js';
import type { BenchOptions } from './bench-options.js';
import { benchResult, type BenchResult } from './bench-result.js';
import { BenchRun } from './bench-run.js';
import { scenarios } from './scenarios/index.js';
import type { ScenarioName } from './scenarios/scenario.js';
import type { BenchTransport } from './transport.js';

/**
 * Runs one scenario over `transport` and returns its result; never throws for errors of the
 * registry: a failed setup comes back as a result with one error and no figures (so `--json`
 * and `--report` still describe what happened).
 */
export async function runBench(
  scenario: ScenarioName,
  options: BenchOptions,
  transport: BenchTransport,
  log: (line: string) => void = () => {},
): Promise<BenchResult> {
  const run = new BenchRun(options, transport, log);
  const startedAt = new Date();
  try {
    await scenarios[scenario].run(run);
  } catch (error) {
    if (!(error instanceof BenchSetupError)) throw error;
    const result = benchResult(run, scenario, startedAt, undefined, 0);
    result.errors = { count: 1, first: [error.message] };
    result.valid = false;
    return result;
  }
  const metrics = run.metrics;
  const seconds = metrics ? metrics.elapsedMs() / 1000 : 0;
  if (run.counts.blobs_preexisting) {
    run.notes.push(`${run.counts.blobs_preexisting} blob(s) that are not shared base layers were already in the registry (a reused --prefix?)`);
  }
  return benchResult(run, scenario, new Date(startedAt.getTime() + run.setupTimeMs), metrics, seconds);
}
