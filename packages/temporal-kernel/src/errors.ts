import { VqlError } from '@vql/errors';
import type { VqlErrorOptions } from '@vql/errors';

/** Why @vql/temporal-kernel threw; stable, safe to match on (`isVqlError(e, 'INVALID_ARGUMENT')`). */
export type VqlTemporalKernelErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_CONFIG'
  | 'INVALID_TIME'
  | 'INVALID_TIME_UNIT'
  | 'INVALID_WEIGHTS'
  | 'MISSING_WEIGHT'
  | 'NON_FINITE_FACTOR'
  | 'NON_FINITE_PARAMETER'
  | 'TIME_UNIT_MISMATCH'
  | 'UNKNOWN_OPTION'
  | 'UNKNOWN_WEIGHT'
  | 'WEIGHT_SHAPE_MISMATCH';

/** Thrown for invalid arguments and parameters in @vql/temporal-kernel. */
export class VqlTemporalKernelError extends VqlError<VqlTemporalKernelErrorCode> {
  constructor(code: VqlTemporalKernelErrorCode, message: string, options?: VqlErrorOptions) {
    super('@vql/temporal-kernel', code, message, options);
    this.name = 'VqlTemporalKernelError';
  }
}
