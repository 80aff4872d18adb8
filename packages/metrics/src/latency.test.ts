import { latencySummary } from './latency.js';

describe('latencySummary', () => {
  it('gives interpolated percentiles, mean, min and max', () => {
    const s = latencySummary([5, 1, 4, 2, 3]);
    expect(s).toEqual({ count: 5, mean: 3, min: 1, p50: 3, p90: 4.6, p99: expect.closeTo(4.96, 12), max: 5 });
    const hundred = latencySummary(Array.from({ length: 101 }, (_, i) => i));
    expect(hundred.p50).toBe(50);
    expect(hundred.p90).toBe(90);
    expect(hundred.p99).toBe(99);
  });

  it('handles a single sample', () => {
    expect(latencySummary([2.5]).p99).toBe(2.5);
  });

  it('rejects bad input', () => {
    expect(() => latencySummary([])).toThrow(/samplesMs is empty/);
    expect(() => latencySummary([1, Number.NaN])).toThrow(/samplesMs\[1\] is NaN/);
    expect(() => latencySummary([1, -2])).toThrow(/negative duration/);
  });
});
