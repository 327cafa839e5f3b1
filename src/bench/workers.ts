import { performance } from 'node:perf_hooks';

/**
 * What bounds a timed phase: a number of operations, a duration, or both (whichever comes
 * first). Workers take one unit at a time; `take()` hands out consecutive indexes.
 */
export class Budget {
  private next = 0;
  private readonly deadline: number;
  private readonly limit: number;

  /** Starts the clock now. Without count and duration, the budget is empty. */
  constructor(bounds: { count?: number; durationMs?: number }) {
    this.deadline = bounds.durationMs === undefined ? Infinity : performance.now() + bounds.durationMs;
    this.limit = bounds.count ?? (bounds.durationMs === undefined ? 0 : Infinity);
  }

  /** The index of the next operation, or undefined once the count or the time is used up. */
  take(): number | undefined {
    if (this.next >= this.limit || performance.now() >= this.deadline) return undefined;
    return this.next++;
  }

  /** True when the count (not the duration) ended the phase. */
  get countReached(): boolean {
    return this.next >= this.limit;
  }
}

/**
 * Runs `concurrency` workers until each returns. A worker must not throw: the bench counts
 * errors where they happen and carries on.
 */
export async function runWorkers(concurrency: number, worker: (id: number) => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: concurrency }, (_, id) => worker(id)));
}

/** Runs `work` for each unit of the budget, `concurrency` at a time. */
export async function forBudget(budget: Budget, concurrency: number, work: (index: number, worker: number) => Promise<void>): Promise<void> {
  await runWorkers(concurrency, async (worker) => {
    for (let index = budget.take(); index !== undefined; index = budget.take()) await work(index, worker);
  });
}
