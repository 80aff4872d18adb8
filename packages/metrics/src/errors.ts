import { VqlError } from '@vql/errors';
import type { VqlErrorOptions } from '@vql/errors';

/** Why @vql/metrics threw; stable, safe to match on (`isVqlError(e, 'INVALID_ARGUMENT')`). */
export type VqlMetricsErrorCode =
  | 'EMPTY_INPUT'
  | 'INVALID_ARGUMENT'
  | 'INVALID_LABEL'
  | 'INVALID_PROBABILITY'
  | 'LENGTH_MISMATCH'
  | 'MISMATCHED_RESAMPLES'
  | 'NON_FINITE'
  | 'SINGLE_CLASS'
  | 'UNKNOWN_OPTION';

/** Thrown for invalid metric inputs; the message names the argument. */
export class VqlMetricsError extends VqlError<VqlMetricsErrorCode> {
  constructor(code: VqlMetricsErrorCode, message: string, options?: VqlErrorOptions) {
    super('@vql/metrics', code, message, options);
    this.name = 'VqlMetricsError';
  }
}
