import { VqlError } from '@vql/errors';

/** Stable codes of @vql/serving's own errors (store and model errors keep their packages' codes). */
export type VqlServingErrorCode = 'INVALID_ARGUMENT' | 'INVALID_CONFIG' | 'MODEL_NOT_READY' | 'MODEL_STAGING' | 'UNKNOWN_FEATURE';

/** Thrown by @vql/serving; `code` is stable and the message names the input at fault. */
export class VqlServingError extends VqlError<VqlServingErrorCode> {
  /** JSON pointer of the request field at fault (`/candidates/3/context/category`), when one is. */
  readonly field: string | undefined;

  constructor(code: VqlServingErrorCode, message: string, options?: { cause?: unknown; field?: string }) {
    super('@vql/serving', code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VqlServingError';
    this.field = options?.field;
  }
}
