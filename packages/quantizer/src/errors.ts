import { VqlError } from '@vql/errors';
import type { VqlErrorOptions } from '@vql/errors';

/** Why @vql/quantizer threw; stable, safe to match on (`isVqlError(e, 'INVALID_ARGUMENT')`). */
export type VqlQuantizerErrorCode =
  | 'CORRUPT_FILE'
  | 'DIMENSION_MISMATCH'
  | 'DISPOSED'
  | 'FINGERPRINT_MISMATCH'
  | 'INTERNAL'
  | 'INVALID_ARGUMENT'
  | 'INVALID_MASK'
  | 'INVALID_STATE'
  | 'MISSING_WEIGHT'
  | 'NON_FINITE'
  | 'NON_FINITE_KEYS'
  | 'SHAPE_MISMATCH'
  | 'UNKNOWN_OPTION';

/** Thrown for invalid arguments and inconsistent state in @vql/quantizer. */
export class VqlQuantizerError extends VqlError<VqlQuantizerErrorCode> {
  constructor(code: VqlQuantizerErrorCode, message: string, options?: VqlErrorOptions) {
    super('@vql/quantizer', code, message, options);
    this.name = 'VqlQuantizerError';
  }
}
