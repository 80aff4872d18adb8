import { VqlError } from '@vql/errors';
import type { VqlErrorOptions } from '@vql/errors';

/** Every code of `VqlCacheStoreError` (a worker's reply is checked against it). */
export const VQL_CACHE_STORE_ERROR_CODES = [
  'CORRUPT_CACHE',
  'EVENT_AFTER_ANCHOR',
  'FINGERPRINT_MISMATCH',
  'FORMAT_VERSION_MISMATCH',
  'INTERNAL',
  'INVALID_ANCHOR',
  'INVALID_ARGUMENT',
  'INVALID_LAYOUT',
  'INVALID_TIME',
  'LAYOUT_MISMATCH',
  'NON_FINITE_CACHE',
  'OVERLAPPING_CACHES',
  'QUERY_BEFORE_HISTORY',
  'REDIS_ERROR',
  'STORE_CLOSED',
  'STORE_UNAVAILABLE',
  'UNKNOWN_OPTION',
  'UNSUPPORTED_MODEL',
  'UPDATE_CONFLICT',
  'WORKER_FAILED',
  'WORKER_NOT_FOUND',
] as const;

/** Why @vql/cache-store threw; stable, safe to match on (`isVqlError(e, 'CORRUPT_CACHE')`). */
export type VqlCacheStoreErrorCode = (typeof VQL_CACHE_STORE_ERROR_CODES)[number];

/**
 * Thrown by @vql/cache-store; `code` is stable (`FINGERPRINT_MISMATCH`, `CORRUPT_CACHE`,
 * `STORE_UNAVAILABLE`, ...) and the message names the argument, user or blob at fault.
 */
export class VqlCacheStoreError extends VqlError<VqlCacheStoreErrorCode> {
  constructor(code: VqlCacheStoreErrorCode, message: string, options?: VqlErrorOptions) {
    super('@vql/cache-store', code, message, options);
    this.name = 'VqlCacheStoreError';
  }
}

/** A cache built by other weights (or another format version) than the model that wants to read it. */
export class CacheFingerprintMismatchError extends VqlCacheStoreError {
  readonly expected: string;
  readonly actual: string;

  constructor(where: string, expected: string, actual: string) {
    super(
      'FINGERPRINT_MISMATCH',
      `${where}: cache was built by model ${actual.slice(0, 16)}… but this model is ${expected.slice(0, 16)}…; rebuild the cache with the current model.`,
    );
    this.name = 'CacheFingerprintMismatchError';
    this.expected = expected;
    this.actual = actual;
  }
}

/** A blob that fails its checksum, is truncated, or does not start with the cache magic. */
export class CorruptCacheError extends VqlCacheStoreError {
  constructor(message: string) {
    super('CORRUPT_CACHE', message);
    this.name = 'CorruptCacheError';
  }
}

/** A code a build worker posted back: kept when it is one of ours, else WORKER_FAILED. */
export function cacheStoreCode(code: string | undefined): VqlCacheStoreErrorCode {
  return (VQL_CACHE_STORE_ERROR_CODES as readonly string[]).includes(code ?? '') ? (code as VqlCacheStoreErrorCode) : 'WORKER_FAILED';
}
