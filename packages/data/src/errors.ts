/**
 * Thrown for bad input to @vql/data: missing or malformed files (the message names the file and
 * line), invalid options (the message names the option). `code` is stable and safe to match on.
 */
export class VqlDataError extends Error {
  readonly code: VqlDataErrorCode;

  constructor(code: VqlDataErrorCode, message: string) {
    super(message);
    this.name = 'VqlDataError';
    this.code = code;
  }
}

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
  | 'UNKNOWN_DATASET';
