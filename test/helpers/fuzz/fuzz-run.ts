import { setTimeout as sleep } from 'node:timers/promises';
import { formatCaseReport } from './case-report.js';
import { templateNames, templates, uploadPlaceholder, type FuzzCase } from './corpus.js';
import { mustNotHaveChanged, outcomeProblems } from './invariants.js';
import { mutate, type Mutation } from './mutators.js';
import { Random } from './random.js';
import { snapshotDifferences, TreeSnapshotter } from './tree-snapshot.js';
import { sendWire, type WireOutcome, type WireRequest } from './wire.js';
import { pushWorld, type FuzzWorld } from './world.js';

export interface FuzzRunOptions {
  port: number;
  world: FuzzWorld;
  seed: number;
  /** Cases to run, from `first` (default 0). */
  count: number;
  first?: number;
  /** The storage root; its content must not change under rejected requests. */
  storageRoot: string;
  /** Watched for any change at all (the canary beside the storage root, the parent of both). */
  outside: TreeSnapshotter;
  /** Push the world again every this many cases (default 100), undoing what fuzzed deletes did. */
  restoreEvery?: number;
  /** Check that `/v2/` still answers every this many cases (default 10), and after no answer. */
  livenessEvery?: number;
  /** Stop after this many failing cases (default 5). */
  maxFailures?: number;
  /** Share of cases sent as the corpus made them, without mutation (default 0.15). */
  unmutatedShare?: number;
  /** No case starts after this time (ms since the epoch): the run is bounded in time as well as count. */
  deadline?: number;
  onFailure?: (report: string) => void;
}

export interface FuzzStats {
  cases: number;
  /** Every request sent: setup, fuzzed, liveness and world restores aside. */
  fuzzed: number;
  statuses: Map<number | 'no answer', number>;
  /** Unmutated corpus requests, and how many of them succeeded (2xx/3xx). */
  unmutated: { sent: number; succeeded: number };
  /** Rejected requests after which the storage tree was compared. */
  contentChecks: number;
  failures: string[];
}

/** The storage tree as clients see it: upload sessions and temporaries are private state. */
export function storageSnapshotter(root: string): TreeSnapshotter {
  return new TreeSnapshotter(root, {
    skip: (name) => name === '_uploads' || name.startsWith('.tmp-'),
    keepEmpty: (name) => name === '_manifests' || name === '_layers',
  });
}

/**
 * Runs fuzz cases against a registry on 127.0.0.1:`port`, one at a time, checking after each:
 * no 5xx, the error format, nothing changed outside the storage root, no change of content under
 * a rejected request, and (every few cases) that the registry still answers.
 */
export async function runFuzz(options: FuzzRunOptions): Promise<FuzzStats> {
  const { port, world, seed } = options;
  const restoreEvery = options.restoreEvery ?? 100;
  const livenessEvery = options.livenessEvery ?? 10;
  const maxFailures = options.maxFailures ?? 5;
  const unmutatedShare = options.unmutatedShare ?? 0.15;
  const storage = storageSnapshotter(options.storageRoot);
  const outsideBaseline = options.outside.take();
  const stats: FuzzStats = { cases: 0, fuzzed: 0, statuses: new Map(), unmutated: { sent: 0, succeeded: 0 }, contentChecks: 0, failures: [] };
  const first = options.first ?? 0;

  const deadline = options.deadline ?? Infinity;
  for (let index = first; index < first + options.count && stats.failures.length < maxFailures && Date.now() < deadline; index++) {
    if ((index - first) % restoreEvery === 0) await pushWorld(`http://127.0.0.1:${port}`, world);
    const random = Random.forCase(seed, index);
    const template = random.pick(templateNames);
    const fuzzCase: FuzzCase = { template, ...templates[template]!(world, random) };
    const mutations: Mutation[] = random.chance(unmutatedShare) ? [] : mutate(fuzzCase.request, random, world);
    const framingBroken = mutations.some((mutation) => mutation.framingBroken);

    const uploadId = await runSetup(port, fuzzCase.setup);
    const request = withUpload(fuzzCase.request, uploadId);
    const before = storage.take();
    const outcome = await sendWire(port, request, framingBroken ? 1500 : 20_000);
    stats.cases++;
    stats.fuzzed++;
    const status = outcome.kind === 'answer' ? outcome.answer.status : 'no answer';
    stats.statuses.set(status, (stats.statuses.get(status) ?? 0) + 1);
    if (mutations.length === 0) {
      stats.unmutated.sent++;
      if (outcome.kind === 'answer' && outcome.answer.status < 400) stats.unmutated.succeeded++;
    }

    const problems = outcomeProblems(request.method, outcome, framingBroken);
    // A connection cut mid-request leaves the handler to notice; give it a moment to settle.
    if (outcome.kind === 'no-answer') await sleep(50);
    if (mustNotHaveChanged(request.method, outcome, framingBroken)) {
      stats.contentChecks++;
      const changes = snapshotDifferences(before, storage.take());
      if (changes.length > 0) problems.push(`storage changed by a ${describeStatus(outcome)} request: ${changes.slice(0, 10).join(', ')}`);
    }
    const outside = snapshotDifferences(outsideBaseline, options.outside.take());
    if (outside.length > 0) problems.push(`files changed outside the storage root: ${outside.slice(0, 10).join(', ')}`);
    if (outcome.kind === 'no-answer' || (index - first) % livenessEvery === livenessEvery - 1) {
      const alive = await isAlive(port);
      if (!alive) problems.push('the registry no longer answers GET /v2/');
    }
    if (problems.length > 0) {
      const report = formatCaseReport({ seed, index, template, mutations, request, problems });
      stats.failures.push(report);
      // Printed at once, so that a run cut short by its time limit still shows what it found.
      options.onFailure?.(report);
    }
  }
  return stats;
}

function describeStatus(outcome: WireOutcome): string {
  return outcome.kind === 'answer' ? String(outcome.answer.status) : 'unanswered';
}

/** Sends the setup requests, returning the upload session id one of them opened. */
async function runSetup(port: number, setup: readonly WireRequest[]): Promise<string | undefined> {
  let uploadId: string | undefined;
  for (const step of setup) {
    const outcome = await sendWire(port, withUpload(step, uploadId), 20_000);
    if (outcome.kind === 'answer') uploadId = outcome.answer.headers['docker-upload-uuid'] ?? uploadId;
  }
  return uploadId;
}

/** The request with the upload id in place of the placeholder (a random-looking one when none was opened). */
function withUpload(request: WireRequest, uploadId: string | undefined): WireRequest {
  if (!request.target.includes(uploadPlaceholder)) return request;
  return { ...request, target: request.target.replaceAll(uploadPlaceholder, uploadId ?? '00000000-0000-4000-8000-000000000000') };
}

async function isAlive(port: number): Promise<boolean> {
  const outcome = await sendWire(port, { method: 'GET', target: '/v2/', headers: [] }, 10_000);
  return outcome.kind === 'answer' && outcome.answer.status === 200;
}

/** One line of figures: cases, and how many answers of each status. */
export function summarize(stats: FuzzStats): string {
  const statuses = [...stats.statuses.entries()]
    .sort(([a], [b]) => String(a).localeCompare(String(b)))
    .map(([status, count]) => `${status}×${count}`)
    .join(' ');
  return `${stats.cases} cases, ${stats.fuzzed} fuzzed requests; statuses ${statuses}; unmutated ${stats.unmutated.succeeded}/${stats.unmutated.sent} succeeded; ${stats.contentChecks} content checks; ${stats.failures.length} failing cases`;
}
