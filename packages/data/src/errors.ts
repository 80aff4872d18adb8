import { VqlError } from '@vql/errors';
import type { VqlErrorOptions } from '@vql/errors';
import { checkKnownKeys } from '@vql/runtime';

/** Why @vql/data threw; stable, safe to match on (`isVqlError(e, 'FILE_NOT_FOUND')`). */
export type VqlDataErrorCode =
  | 'FILE_NOT_FOUND'
  | 'MISSING_COLUMN'
  | 'BAD_COLUMN_COUNT'
  | 'BAD_VALUE'
  | 'CSV_SYNTAX'
  | 'DUPLICATE_EVENT'
  | 'EMPTY_DATASET'
  | 'INVALID_ARGUMENT'
  | 'CACHE_CORRUPT'
  | 'UNKNOWN_DATASET'
  | 'BAD_SCHEMA'
  | 'BAD_FILE';

/**
 * Thrown for bad input to @vql/data: missing or malformed files (the message names the file and
 * line), invalid options (the message names the option). `code` is stable and safe to match on.
 */
export class VqlDataError extends VqlError<VqlDataErrorCode> {
  constructor(code: VqlDataErrorCode, message: string, options?: VqlErrorOptions) {
    super('@vql/data', code, message, options);
    this.name = 'VqlDataError';
  }
}

/**
 * Throws INVALID_ARGUMENT naming every key of `options` that `where` does not know (with a
 * did-you-mean hint, @vql/runtime's `checkKnownKeys`): a typo such as `{ negatives: 3 }` for
 * `negativesPerPositive` must not silently fall back to the default.
 */
export function checkOptionKeys(options: unknown, known: readonly string[], where: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new VqlDataError('INVALID_ARGUMENT', `${where}: options must be an object, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}.`);
  }
  checkKnownKeys(where, options, known, (message) => new VqlDataError('INVALID_ARGUMENT', message));
}
