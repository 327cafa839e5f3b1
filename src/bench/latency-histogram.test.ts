import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatencyHistogram } from './latency-histogram.js';

/** Within the histogram's precision (1/32 of the value, and a microsecond). */
function near(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) <= expected / 32 + 0.001, `${actual} is not within 3% of ${expected}`);
}

describe('LatencyHistogram', () => {
  it('gives nearest-rank percentiles of known samples', () => {
    const histogram = new LatencyHistogram();
    // 1..100 ms, shuffled: p50 is 50, p90 is 90, p99 is 99.
    const samples = Array.from({ length: 100 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
    for (const ms of samples) histogram.record(ms);
    assert.equal(histogram.count, 100);
    near(histogram.percentile(0.5), 50);
    near(histogram.percentile(0.9), 90);
    near(histogram.percentile(0.99), 99);
    assert.equal(histogram.percentile(1), 100);
    assert.equal(histogram.maxMs, 100);
    assert.equal(histogram.minMs, 1);
    assert.equal(histogram.meanMs, 50.5);
  });

  it('is exact for sub-millisecond values and clamps to the exact extremes', () => {
    const histogram = new LatencyHistogram();
    for (const ms of [0.005, 0.01, 0.02, 0.031]) histogram.record(ms);
    assert.equal(histogram.percentile(0.25), 0.005);
    assert.equal(histogram.percentile(0.5), 0.01);
    assert.equal(histogram.percentile(1), 0.031);
  });

  it('keeps a skewed distribution apart: the tail shows in p99, not in p50', () => {
    const histogram = new LatencyHistogram();
    for (let i = 0; i < 990; i++) histogram.record(2);
    for (let i = 0; i < 10; i++) histogram.record(800);
    near(histogram.percentile(0.5), 2);
    near(histogram.percentile(0.99), 2);
    near(histogram.percentile(0.991), 800);
    assert.equal(histogram.maxMs, 800);
  });

  it('answers 0 when empty, and merges', () => {
    const a = new LatencyHistogram();
    assert.equal(a.percentile(0.5), 0);
    assert.equal(a.meanMs, 0);
    const b = new LatencyHistogram();
    a.record(10);
    b.record(30);
    a.merge(b);
    assert.equal(a.count, 2);
    assert.equal(a.maxMs, 30);
    near(a.percentile(0.5), 10);
  });

  it('stays bounded for huge values and gives chart bins that add up', () => {
    const histogram = new LatencyHistogram();
    for (let i = 1; i <= 5000; i++) histogram.record(i * 0.37);
    histogram.record(1e9); // beyond the covered range: counted in the last bucket
    const bins = histogram.bins(40);
    assert.ok(bins.length <= 40 && bins.length > 10);
    assert.equal(bins.reduce((sum, bin) => sum + bin.count, 0), 5001);
    for (let i = 1; i < bins.length; i++) assert.ok(bins[i]!.fromMs >= bins[i - 1]!.toMs - 1e-9, 'bins are ordered and disjoint');
    assert.equal(histogram.maxMs, 1e9);
  });
});
