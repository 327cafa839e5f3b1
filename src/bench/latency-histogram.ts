/**
 * Latencies kept as an HDR-style log-linear histogram: each power of two of microseconds is
 * split into 32 equal buckets, so any recorded value is known within about 3% while the memory
 * stays fixed (a few thousand counters) however long a soak runs. Minimum, maximum, count and
 * sum are exact.
 */

/** Linear buckets per power of two: the relative precision is 1/subBuckets. */
const subBucketBits = 5;
const subBuckets = 1 << subBucketBits;
/** Powers of two of microseconds covered: 2^40 µs is about 12 days, beyond any request. */
const magnitudes = 40;

/** One bar of the histogram: the requests whose latency fell in [fromMs, toMs). */
export interface HistogramBin {
  /** Lower bound, milliseconds (inclusive). */
  fromMs: number;
  /** Upper bound, milliseconds (exclusive). */
  toMs: number;
  count: number;
}

export class LatencyHistogram {
  /**
   * Index 0..subBuckets-1 holds values 0..subBuckets-1 µs exactly; above that, magnitude m
   * (values in [2^m, 2^(m+1)) µs, m ≥ subBucketBits) holds subBuckets buckets of width 2^(m-5).
   */
  private readonly counts = new Float64Array(subBuckets * (magnitudes - subBucketBits + 2));
  private total = 0;
  private sumUs = 0;
  private minUs = Infinity;
  private maxUs = 0;

  /** Number of values recorded. */
  get count(): number {
    return this.total;
  }

  /** Records one latency, in milliseconds (fractions allowed; negative counts as 0). */
  record(ms: number): void {
    const us = Math.max(0, Math.round(ms * 1000));
    this.counts[indexOf(us)]!++;
    this.total++;
    this.sumUs += us;
    if (us < this.minUs) this.minUs = us;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** Adds every value of another histogram (to merge per-worker or per-type histograms). */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    this.sumUs += other.sumUs;
    this.minUs = Math.min(this.minUs, other.minUs);
    this.maxUs = Math.max(this.maxUs, other.maxUs);
  }

  /**
   * The nearest-rank q-quantile (0 < q ≤ 1) in milliseconds: the smallest recorded latency that
   * at least q of the values do not exceed, as the middle of its bucket clamped to the exact
   * min and max. 0 when nothing was recorded.
   */
  percentile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    if (rank >= this.total) return this.maxUs / 1000;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const [from, to] = boundsOf(i);
        const middle = i < subBuckets ? from : (from + to - 1) / 2;
        return Math.min(this.maxUs, Math.max(this.minUs, middle)) / 1000;
      }
    }
    return this.maxUs / 1000;
  }

  /** Exact maximum, milliseconds (0 when empty). */
  get maxMs(): number {
    return this.maxUs / 1000;
  }

  /** Exact minimum, milliseconds (0 when empty). */
  get minMs(): number {
    return this.total === 0 ? 0 : this.minUs / 1000;
  }

  /** Exact mean, milliseconds (0 when empty). */
  get meanMs(): number {
    return this.total === 0 ? 0 : this.sumUs / this.total / 1000;
  }

  /**
   * The non-empty buckets, merged into at most `maxBins` bars of consecutive buckets, for
   * charts: fine buckets near each other are merged first so the shape survives.
   */
  bins(maxBins = 40): HistogramBin[] {
    const fine: HistogramBin[] = [];
    for (let i = 0; i < this.counts.length; i++) {
      if (this.counts[i] === 0) continue;
      const [from, to] = boundsOf(i);
      fine.push({ fromMs: from / 1000, toMs: to / 1000, count: this.counts[i]! });
    }
    if (fine.length <= maxBins) return fine;
    // Equal-width bars on a log scale between the smallest and largest non-empty bucket.
    const low = Math.log(Math.max(fine[0]!.fromMs, 0.001));
    const high = Math.log(fine[fine.length - 1]!.toMs);
    const step = (high - low) / maxBins;
    const bars: HistogramBin[] = [];
    let lastSlot = -1;
    for (const bin of fine) {
      const slot = Math.min(maxBins - 1, Math.floor((Math.log(Math.max(bin.fromMs, 0.001)) - low) / step));
      const last = bars[bars.length - 1];
      if (last && slot === lastSlot) {
        last.toMs = bin.toMs;
        last.count += bin.count;
      } else {
        bars.push({ ...bin });
        lastSlot = slot;
      }
    }
    return bars;
  }
}

function indexOf(us: number): number {
  if (us < subBuckets) return us;
  let magnitude = Math.floor(Math.log2(us));
  // log2 is a floating-point result: correct it at the edges of a power of two.
  if (2 ** magnitude > us) magnitude--;
  else if (2 ** (magnitude + 1) <= us) magnitude++;
  magnitude = Math.min(magnitude, magnitudes);
  const capped = Math.min(us, 2 ** (magnitude + 1) - 1);
  const sub = Math.floor(capped / 2 ** (magnitude - subBucketBits)) - subBuckets;
  return subBuckets * (magnitude - subBucketBits + 1) + sub;
}

/** [from, to) in microseconds of bucket i. */
function boundsOf(i: number): [number, number] {
  if (i < subBuckets) return [i, i + 1];
  const magnitude = Math.floor(i / subBuckets) + subBucketBits - 1;
  const width = 2 ** (magnitude - subBucketBits);
  const from = 2 ** magnitude + (i % subBuckets) * width;
  return [from, from + width];
}
