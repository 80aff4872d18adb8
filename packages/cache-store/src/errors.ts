/**
 * Thrown by @vql/cache-store; `code` is stable (`FINGERPRINT_MISMATCH`, `CORRUPT_CACHE`,
 * `STORE_UNAVAILABLE`, ...) and the message names the argument, user or blob at fault.
 */
export class VqlCacheStoreError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VqlCacheStoreError';
    this.code = code;
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
