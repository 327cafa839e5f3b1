/** One named check, run on a timer by HealthMonitor. */
export interface HealthCheck {
  /** The key under which a failure shows in `/debug/health` (as Distribution names them). */
  readonly name: string;
  /** Time between runs, in milliseconds; the first run is at start. */
  readonly intervalMs: number;
  /**
   * Consecutive failures before the check counts as failing; 0 or 1: the first failure. One
   * success clears it.
   */
  readonly threshold: number;
  /** Resolves when healthy; rejects with the reason otherwise. Must give up when `signal` fires. */
  run(signal: AbortSignal): Promise<void>;
}

/**
 * Runs checks periodically and keeps the last verdict of each, so that answering whether the
 * registry is healthy costs nothing per request (the API asks on every one).
 */
export class HealthMonitor {
  private readonly failing = new Map<string, string>();
  private readonly consecutive = new Map<string, number>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly abort = new AbortController();

  constructor(readonly checks: readonly HealthCheck[]) {}

  /** Starts every check (each runs now, then every interval). Calling it twice starts nothing more. */
  start(): void {
    if (this.timers.length > 0 || this.abort.signal.aborted) return;
    for (const check of this.checks) {
      let running = false;
      const tick = () => {
        if (running) return;
        running = true;
        void this.runOnce(check).finally(() => (running = false));
      };
      tick();
      const timer = setInterval(tick, Math.max(1, check.intervalMs));
      timer.unref();
      this.timers.push(timer);
    }
  }

  /** Stops the timers and abandons checks in flight. */
  stop(): void {
    this.abort.abort();
    for (const timer of this.timers) clearInterval(timer);
  }

  /** Runs every check once now (besides the timers) and resolves when all have a verdict. */
  async checkNow(): Promise<void> {
    await Promise.all(this.checks.map((check) => this.runOnce(check)));
  }

  /** The failing checks: name → the error message of its last failure. Empty when healthy. */
  failures(): Record<string, string> {
    return Object.fromEntries(this.failing);
  }

  get healthy(): boolean {
    return this.failing.size === 0;
  }

  private async runOnce(check: HealthCheck): Promise<void> {
    try {
      await check.run(this.abort.signal);
      this.consecutive.set(check.name, 0);
      this.failing.delete(check.name);
    } catch (error) {
      if (this.abort.signal.aborted) return;
      const count = (this.consecutive.get(check.name) ?? 0) + 1;
      this.consecutive.set(check.name, count);
      if (count >= Math.max(1, check.threshold)) {
        this.failing.set(check.name, error instanceof Error ? error.message : String(error));
      }
    }
  }
}
