import { VqlError } from '@vql/errors';
import type { VqlErrorOptions } from '@vql/errors';

/** Why @vql/model threw; stable, safe to match on (`isVqlError(e, 'INVALID_ARGUMENT')`). */
export type VqlModelErrorCode =
  | 'CORRUPT_FILE'
  | 'DISPOSED'
  | 'DUPLICATE_KIND'
  | 'EMPTY_DATASET'
  | 'FINGERPRINT_MISMATCH'
  | 'INVALID_ARGUMENT'
  | 'INVALID_BATCH'
  | 'INVALID_CONFIG'
  | 'MISSING_WEIGHT'
  | 'NAN_GRADIENT'
  | 'NAN_LOSS'
  | 'NOT_VQL'
  | 'SHAPE_MISMATCH'
  | 'SINGLE_CLASS'
  | 'UNKNOWN_KIND'
  | 'UNKNOWN_OPTION'
  | 'UNKNOWN_WEIGHT'
  | 'VOCAB_MISMATCH'
  | 'WORKER_FAILED';

/** Thrown for invalid configurations, inputs and training failures in @vql/model. */
export class VqlModelError extends VqlError<VqlModelErrorCode> {
  constructor(code: VqlModelErrorCode, message: string, options?: VqlErrorOptions) {
    super('@vql/model', code, message, options);
    this.name = 'VqlModelError';
  }
}
