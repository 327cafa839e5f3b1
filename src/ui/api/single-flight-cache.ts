import type { BoundedCache } from '../../registry/bounded-cache.js';
import { SingleFlight } from '../../registry/single-flight.js';

/** A computed value, and whether it is final: kept for good, or made without content that may still come. */
export interface Outcome<V> {
  readonly value: V;
  readonly final: boolean;
}

/**
 * Values by key, each computed at most once at a time. Many tags of a repository name the same
 * index children and configs, and each computation may read a blob of up to 1 MiB: a caller
 * asking for a key under computation waits for that computation instead of starting its own.
 * Final values are kept in `kept`; the in-flight entry goes as soon as its computation settles,
 * so a value that was not final is computed afresh by the next caller.
 */
export class SingleFlightCache<V> {
  private readonly flights = new SingleFlight<Outcome<V> | undefined>();

  constructor(private readonly kept: BoundedCache<V>) {}

  /** The kept value, the one under computation, or the one `compute` makes (undefined: nothing to show, not kept). */
  async get(key: string, compute: () => Promise<Outcome<V> | undefined>): Promise<Outcome<V> | undefined> {
    const cached = this.kept.get(key);
    if (cached !== undefined) return { value: cached, final: true };
    return await this.flights.run(key, async () => {
      const outcome = await compute();
      if (outcome?.final) this.kept.set(key, outcome.value);
      return outcome;
    });
  }

  /** Keeps a final value learnt elsewhere (content addressed: it cannot differ from what `compute` would make). */
  remember(key: string, value: V): void {
    this.kept.set(key, value);
  }
}

/** Cached values weigh roughly their JSON size plus a fixed overhead (map entry, object headers), in bytes. */
export function approximateBytes(value: unknown): number {
  return 200 + Buffer.byteLength(JSON.stringify(value) ?? '');
}
