import { VqlError } from '@vql/errors';
import type { VqlErrorOptions } from '@vql/errors';

/** Why @vql/runtime threw; stable, safe to match on (`isVqlError(e, 'INVALID_ARGUMENT')`). */
export type VqlRuntimeErrorCode =
  | 'BACKEND_INIT_FAILED'
  | 'CORRUPT_FILE'
  | 'FILE_NOT_FOUND'
  | 'INDEX_OUT_OF_RANGE'
  | 'INVALID_ARGUMENT'
  | 'NON_FINITE_WEIGHTS'
  | 'SHAPE_MISMATCH'
  | 'TENSOR_LEAK'
  | 'UNKNOWN_BACKEND'
  | 'UNKNOWN_OPTION';

/** Thrown for invalid arguments and environment problems in @vql/runtime. */
export class VqlRuntimeError extends VqlError<VqlRuntimeErrorCode> {
  constructor(code: VqlRuntimeErrorCode, message: string, options?: VqlErrorOptions) {
    super('@vql/runtime', code, message, options);
    this.name = 'VqlRuntimeError';
  }
}
