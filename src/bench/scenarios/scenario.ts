import type { BenchOptions } from '../bench-options.js';
import type { BenchRun } from '../bench-run.js';

export const scenarioNames = ['push-images', 'pull-images', 'manifest-get', 'list', 'mixed', 'push-blob'] as const;
export type ScenarioName = (typeof scenarioNames)[number];

/** One load scenario: an untimed setup, then a timed phase bounded by count or duration. */
export interface Scenario {
  name: ScenarioName;
  /** One line for `--help`. */
  description: string;
  /** Its own defaults, over the common ones (see cli/bench.ts). */
  defaults: Partial<BenchOptions>;
  /**
   * Prepares (through `run.setup`), starts the clock (`run.startClock`) and runs the timed phase.
   * Errors of timed requests are counted, not thrown; a failed setup throws BenchSetupError.
   */
  run(run: BenchRun): Promise<void>;
}
