import { VqlError } from '@vql/errors';
import type { VqlErrorOptions } from '@vql/errors';

/** Why @vql/baselines threw; stable, safe to match on (`isVqlError(e, 'INVALID_ARGUMENT')`). */
export type VqlBaselinesErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_BATCH'
  | 'INVALID_CONFIG'
  | 'INVALID_INPUT'
  | 'OUT_OF_RANGE'
  | 'SHAPE_MISMATCH'
  | 'UNKNOWN_OPTION';

/** Thrown for invalid configurations and inputs in @vql/baselines. */
export class VqlBaselinesError extends VqlError<VqlBaselinesErrorCode> {
  constructor(code: VqlBaselinesErrorCode, message: string, options?: VqlErrorOptions) {
    super('@vql/baselines', code, message, options);
    this.name = 'VqlBaselinesError';
  }
}
