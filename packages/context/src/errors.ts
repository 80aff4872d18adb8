import { VqlError } from '@vql/errors';
import type { VqlErrorOptions } from '@vql/errors';

/** Why @vql/context threw; stable, safe to match on (`isVqlError(e, 'INVALID_ARGUMENT')`). */
export type VqlContextErrorCode =
  | 'CONTEXT_LENGTH_MISMATCH'
  | 'DUPLICATE_FEATURE'
  | 'EVENT_FEATURE_ON_TARGET'
  | 'INVALID_ARGUMENT'
  | 'INVALID_CONTEXT_ID'
  | 'INVALID_FEATURE_SPEC'
  | 'INVALID_OPTIONS'
  | 'INVALID_WEIGHTS'
  | 'MISSING_CONTEXT'
  | 'MISSING_WEIGHT'
  | 'NON_FINITE_WEIGHT'
  | 'NO_LOGIT_BIAS'
  | 'PAIRWISE_FEATURE'
  | 'SHAPE_MISMATCH'
  | 'UNKNOWN_OPTION'
  | 'UNKNOWN_WEIGHT'
  | 'WEIGHT_SHAPE_MISMATCH';

/** Thrown for invalid feature specs, context columns and weights in @vql/context. */
export class VqlContextError extends VqlError<VqlContextErrorCode> {
  constructor(code: VqlContextErrorCode, message: string, options?: VqlErrorOptions) {
    super('@vql/context', code, message, options);
    this.name = 'VqlContextError';
  }
}
