import { VqlTemporalKernelError } from './errors.js';

/** The unit of every time a kernel receives. Nothing guesses it: kernels are built with one. */
export type TimeUnit = 'seconds' | 'milliseconds';

export const TIME_UNITS: readonly TimeUnit[] = ['seconds', 'milliseconds'];

/** Seconds per unit: parameters (rates, periods) are stored per second whatever the unit. */
export function secondsPerUnit(unit: TimeUnit): number {
  return unit === 'seconds' ? 1 : 1e-3;
}

export function checkTimeUnit(where: string, unit: unknown): TimeUnit {
  if (unit !== 'seconds' && unit !== 'milliseconds') {
    throw new VqlTemporalKernelError(
      'INVALID_TIME_UNIT',
      `${where}: timeUnit must be 'seconds' or 'milliseconds' (never guessed), got ${JSON.stringify(unit)}.`,
    );
  }
  return unit;
}
