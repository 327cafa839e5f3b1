import { countLookup } from './cache-stats.js';

/**
 * A least-recently-used map bounded by a total weight (bytes, or 1 per entry). Only for values
 * that never change under their key (content addressed by digest): `delete` is only for content
 * that goes away, never to replace a stale value.
 */
export class BoundedCache<V> {
  private readonly entries = new Map<string, { value: V; weight: number }>();
  private total = 0;

  constructor(
    private readonly capacity: number,
    private readonly weigh: (value: V) => number = () => 1,
    /** With a name, every `get` counts as a hit or a miss in cache-stats (the metrics read them). */
    private readonly name?: string,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (this.name !== undefined) countLookup(this.name, entry !== undefined);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V): void {
    const weight = this.weigh(value);
    if (weight > this.capacity) return;
    this.delete(key);
    this.entries.set(key, { value, weight });
    this.total += weight;
    for (const [oldest, entry] of this.entries) {
      if (this.total <= this.capacity) break;
      this.entries.delete(oldest);
      this.total -= entry.weight;
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.total -= entry.weight;
  }
}
