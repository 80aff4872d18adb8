import { checkFinite, checkSameLength } from './validate.js';
import type { NumericArray } from './validate.js';

export interface MeanStd {
  mean: number;
  /** Sample standard deviation (n − 1 denominator); 0 for a single value. */
  std: number;
  n: number;
}

/** Mean and sample standard deviation (two-pass, so large offsets do not cancel). */
export function meanStd(values: NumericArray): MeanStd {
  const n = checkSameLength('meanStd', { values });
  checkFinite('meanStd', 'values', values);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  const mean = sum / n;
  if (n === 1) return { mean, std: 0, n };
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (values[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(squares / (n - 1)), n };
}
