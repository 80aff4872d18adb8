import { VqlMetricsError } from './errors.js';

export type NumericArray = ArrayLike<number>;

export function checkSameLength(fn: string, arrays: Record<string, { length: number }>): number {
  const entries = Object.entries(arrays);
  const [firstName, first] = entries[0]!;
  for (const [name, arr] of entries) {
    if (arr == null || typeof arr.length !== 'number') {
      throw new VqlMetricsError('INVALID_ARGUMENT', `${fn}: ${name} must be an array.`);
    }
    if (arr.length !== first.length) {
      throw new VqlMetricsError(
        'LENGTH_MISMATCH',
        `${fn}: ${name} has length ${arr.length} but ${firstName} has length ${first.length}.`,
      );
    }
  }
  if (first.length === 0) throw new VqlMetricsError('EMPTY_INPUT', `${fn}: ${firstName} is empty.`);
  return first.length;
}

export function checkLabels(fn: string, labels: NumericArray): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y !== 0 && y !== 1) {
      throw new VqlMetricsError('INVALID_LABEL', `${fn}: labels[${i}] is ${y}; labels must be 0 or 1.`);
    }
  }
}

export function checkFinite(fn: string, name: string, values: NumericArray): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new VqlMetricsError('NON_FINITE', `${fn}: ${name}[${i}] is ${values[i]}; values must be finite numbers.`);
    }
  }
}
