import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** How long to keep trying (default 10 s). */
  readonly timeoutMs?: number;
  /** The pause between tries (default 25 ms). */
  readonly intervalMs?: number;
}

/**
 * Polls `condition` until it holds, for effects that follow an answer in the background; fails
 * naming `what` once `timeoutMs` has passed instead of hanging the test.
 */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, options: WaitOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) assert.fail(`not within ${timeoutMs} ms: ${what}`);
    await sleep(options.intervalMs ?? 25);
  }
}
