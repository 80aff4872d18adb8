import { checkFinite, checkSameLength } from './validate.js';
import { VqlMetricsError } from './errors.js';
import type { NumericArray } from './validate.js';

export interface LatencySummary {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Percentile of sorted values with linear interpolation between closest ranks (numpy's default). */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** p50 / p90 / p99 / mean / min / max of latency samples in milliseconds. */
export function latencySummary(samplesMs: NumericArray): LatencySummary {
  const n = checkSameLength('latencySummary', { samplesMs });
  checkFinite('latencySummary', 'samplesMs', samplesMs);
  const sorted = Float64Array.from(samplesMs).sort();
  if (sorted[0]! < 0) {
    throw new VqlMetricsError('INVALID_ARGUMENT', `latencySummary: samplesMs holds a negative duration (${sorted[0]}).`);
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    count: n,
    mean: sum / n,
    min: sorted[0]!,
    p50: percentileSorted(sorted, 0.5),
    p90: percentileSorted(sorted, 0.9),
    p99: percentileSorted(sorted, 0.99),
    max: sorted[n - 1]!,
  };
}
