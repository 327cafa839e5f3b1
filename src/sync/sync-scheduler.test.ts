import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { pino, type Logger } from 'pino';
import { createRegistryMetrics } from '../ops/metrics.js';
import { parsePrometheusText } from '../../test/helpers/prometheus-text.js';
import { totalled, type SyncReport, type TagOutcome } from './sync-report.js';
import { SyncScheduler, type ScheduledJob, type SyncRunner } from './sync-scheduler.js';
import { syncTotals } from './sync-stats.js';

/** A logger whose JSON lines the test reads back. */
function capturingLogger(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines: () => lines };
}

/** Polls until `condition` holds; fails after a bounded wait instead of hanging. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A run's report with this many tags copied, unchanged and failed. */
function report(copied: number, unchanged = 0, failed = 0, aborted = false): SyncReport {
  const tags = (outcome: TagOutcome, count: number) =>
    Array.from({ length: count }, (_, i) => ({
      sourceRepository: 'src/app',
      destinationRepository: 'dst/app',
      tag: `${outcome}-${i}`,
      outcome,
      referrersCopied: 0,
      bytesCopied: 0,
      ...(outcome === 'failed' ? { error: 'destination answered 500' } : {}),
    }));
  return totalled({
    job: 'unit',
    startedAt: new Date().toISOString(),
    seconds: 0,
    tags: [...tags('copied', copied), ...tags('unchanged', unchanged), ...tags('failed', failed)],
    errors: [],
    aborted,
  });
}

describe('SyncScheduler', () => {
  const schedulers: SyncScheduler<ScheduledJob>[] = [];
  const scheduler = (jobs: ScheduledJob[], run: SyncRunner<ScheduledJob>, log: Logger) => {
    const created = new SyncScheduler(jobs, { run, log, firstRunDelayMs: 1 });
    schedulers.push(created);
    created.start();
    return created;
  };
  afterEach(async () => {
    await Promise.all(schedulers.splice(0).map((s) => s.stop()));
  });

  it('runs each scheduled job again and again, logs one line per run with its figures and counts them; jobs without a schedule never run', async () => {
    const { log, lines } = capturingLogger();
    const calls: string[] = [];
    const run: SyncRunner<ScheduledJob> = async (job) => {
      calls.push(job.name);
      return report(2, 3);
    };
    scheduler([{ name: 'unit-often', schedule: 10 }, { name: 'unit-on-demand' }], run, log);
    await waitFor(() => calls.length >= 3, 'three runs');
    assert.ok(calls.every((name) => name === 'unit-often'), `only the scheduled job ran: ${calls.join(', ')}`);
    await waitFor(() => lines().filter((line) => line.msg === 'sync run finished').length >= 3, 'three log lines');
    const finished = lines().find((line) => line.msg === 'sync run finished')!;
    assert.equal(finished.job, 'unit-often');
    assert.equal(finished.copied, 2);
    assert.equal(finished.unchanged, 3);
    assert.equal(finished.failed, 0);
    assert.equal(typeof finished.duration_ms, 'number');
    const totals = syncTotals().get('unit-often')!;
    assert.ok(totals.ok >= 3 && totals.failed === 0 && totals.copied === totals.ok * 2, JSON.stringify(totals));
    assert.equal(syncTotals().get('unit-on-demand'), undefined);
    // What /metrics shows of them (a single `berth serve` process).
    const families = parsePrometheusText(await createRegistryMetrics().registry.metrics());
    const runs = families.get('berth_sync_runs_total')!.samples.filter((sample) => sample.labels.job === 'unit-often');
    assert.ok(runs.find((sample) => sample.labels.result === 'ok')!.value >= 3);
    assert.equal(runs.find((sample) => sample.labels.result === 'failed')!.value, 0);
    const copied = families.get('berth_sync_copied_tags_total')!.samples.find((sample) => sample.labels.job === 'unit-often')!;
    assert.ok(copied.value >= 6);
    assert.deepEqual(
      lines().filter((line) => line.msg === 'sync job scheduled').map((line) => line.job),
      ['unit-often'],
    );
  });

  it('never starts a run of a job while its previous run is still going, and says when a run outlasted its schedule', async () => {
    const { log, lines } = capturingLogger();
    let inFlight = 0;
    let maxInFlight = 0;
    let started = 0;
    const releases: (() => void)[] = [];
    const run: SyncRunner<ScheduledJob> = async (_job, { signal }) => {
      started++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // Held for several schedule periods, until the test lets it go (or the scheduler stops).
      await new Promise<void>((resolve) => {
        releases.push(resolve);
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      inFlight--;
      return report(1);
    };
    scheduler([{ name: 'unit-slow', schedule: 5 }], run, log);
    for (let round = 1; round <= 3; round++) {
      await waitFor(() => started === round, `run ${round} to start`);
      // Ten periods pass with the run still going: no second run may start.
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(started, round, 'no overlapping run started');
      releases.shift()!();
    }
    await waitFor(() => started === 4, 'the run after the third');
    assert.equal(maxInFlight, 1);
    assert.ok(lines().some((line) => line.msg === 'sync run took longer than its schedule; the next one starts now' && line.job === 'unit-slow'));
  });

  it('logs and counts a failed run, and a run with failed tags, and keeps to the schedule', async () => {
    const { log, lines } = capturingLogger();
    let calls = 0;
    const run: SyncRunner<ScheduledJob> = async () => {
      calls++;
      if (calls === 1) throw new Error('source unreachable: connect ECONNREFUSED 127.0.0.1:1');
      return calls === 2 ? report(1, 0, 2) : report(0, 4);
    };
    scheduler([{ name: 'unit-flaky', schedule: 10 }], run, log);
    await waitFor(() => calls >= 3 && lines().some((line) => line.msg === 'sync run finished'), 'a run after the failures');
    const failed = lines().find((line) => line.msg === 'sync run failed')!;
    assert.equal(failed.job, 'unit-flaky');
    assert.match(String((failed.err as { message?: string }).message), /ECONNREFUSED/);
    const partial = lines().find((line) => line.msg === 'sync run finished with failures')!;
    assert.equal(partial.failed, 2);
    assert.equal(partial.level, 40, 'a run with failed tags is a warning');
    assert.deepEqual(partial.problems, ['src/app:failed-0: destination answered 500', 'src/app:failed-1: destination answered 500']);
    const totals = syncTotals().get('unit-flaky')!;
    assert.equal(totals.failed, 2, 'the run that threw and the run with failed tags');
    assert.ok(totals.ok >= 1);
    assert.equal(totals.copied, 1);
  });

  it('stop() aborts the run in progress, waits for it to end, and nothing runs afterwards', async () => {
    const { log, lines } = capturingLogger();
    let calls = 0;
    // Set by the run (TypeScript does not follow assignments made in callbacks to plain lets).
    const seen: { signal?: AbortSignal; ended: boolean } = { ended: false };
    const run: SyncRunner<ScheduledJob> = async (_job, { signal }) => {
      calls++;
      seen.signal = signal;
      // A copy that goes on until its signal aborts; the engine then reports what it did so far.
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      await new Promise((resolve) => setTimeout(resolve, 20));
      seen.ended = true;
      return report(1, 0, 0, true);
    };
    const running = scheduler([{ name: 'unit-stopped', schedule: 5 }], run, log);
    await waitFor(() => calls === 1, 'the first run');
    assert.equal(await running.stop(), true, 'no run was left going');
    assert.equal(seen.signal?.aborted, true, 'the run was told to stop');
    assert.equal(seen.ended, true, 'stop() resolved only after the run had ended');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(calls, 1, 'no run after stop()');
    assert.ok(lines().some((line) => line.msg === 'sync run stopped by shutdown'));
    assert.ok(!lines().some((line) => line.msg === 'sync run failed'), 'a stop is not a failure');
    assert.equal(syncTotals().get('unit-stopped'), undefined, 'an aborted run is not counted');
  });

  it('stop(waitMs) stops waiting for a run that goes on after its signal, and says so', async () => {
    const { log, lines } = capturingLogger();
    let calls = 0;
    const gate: { release?: () => void } = {};
    const run: SyncRunner<ScheduledJob> = async () => {
      calls++;
      // A tag being copied: the engine only looks at its signal between tags.
      await new Promise<void>((resolve) => (gate.release = resolve));
      return report(1, 0, 0, true);
    };
    const running = scheduler([{ name: 'unit-stubborn', schedule: 5 }], run, log);
    await waitFor(() => calls === 1, 'the first run');
    assert.equal(await running.stop(20), false, 'a run was left going');
    const cut = lines().find((line) => line.msg === 'sync runs still going at shutdown are cut')!;
    assert.deepEqual(cut.jobs, ['unit-stubborn']);
    gate.release!();
    assert.equal(await running.stop(), true, 'it ends once its tag is done');
    assert.equal(calls, 1);
  });
});
