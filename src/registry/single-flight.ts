/**
 * At most one run of an async task per key at a time: a caller that asks while a run for the
 * same key is under way gets that run's promise instead of starting another. The key is free
 * again once the run settles, so a failure is not remembered. Within one process only; workers
 * and replicas each have their own.
 */
export class SingleFlight<T> {
  private readonly running = new Map<string, Promise<T>>();

  run(key: string, task: () => Promise<T>): Promise<T> {
    const current = this.running.get(key);
    if (current) return current;
    const started = (async () => {
      try {
        return await task();
      } finally {
        this.running.delete(key);
      }
    })();
    this.running.set(key, started);
    return started;
  }
}
