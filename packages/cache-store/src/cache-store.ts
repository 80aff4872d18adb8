import { checkKnownKeys } from '@vql/runtime';
import { decodeCache, encodeCache, readCacheHeader } from './codec.js';
import type { CachePrecision } from './codec.js';
import { CorruptCacheError, VqlCacheStoreError } from './errors.js';
import type { CacheLayout } from './layout.js';
import { UserCache, appendEncoded, checkAppendOptions, checkCacheFor } from './user-cache.js';
import type { AppendOptions, AppendResult, CacheKernel, EncodedEvents } from './user-cache.js';
import type { TimeBounds } from './time-bounds.js';

/** What `append` needs to start a cache for a new user and to check an existing one. */
export interface AppendTarget {
  readonly fingerprint: string;
  readonly layout: CacheLayout;
  readonly kernel: CacheKernel;
  /** Accepted event times when the append options name none (a `CtrCacheModel` carries its own). */
  readonly timeBounds?: TimeBounds;
}

export interface ScanOptions {
  /** Only caches built by this model. */
  fingerprint?: string;
  /**
   * Called for each entry whose blob is not a readable cache (junk bytes, damaged header); the
   * scan skips it and goes on. Default: skipped silently (buildAllCaches reports them).
   */
  onCorrupt?: (entry: CorruptEntry) => void;
}

export interface CorruptEntry {
  readonly user: string;
  /** The decoder's message (a `CorruptCacheError`). */
  readonly reason: string;
}

export interface ScanEntry {
  readonly user: string;
  readonly fingerprint: string;
}

const SCAN_KEYS = ['fingerprint', 'onCorrupt'] as const;

export function checkScanOptions(where: string, options: ScanOptions | undefined): ScanOptions {
  checkKnownKeys(`${where}: options`, options, SCAN_KEYS, (m) => new VqlCacheStoreError('UNKNOWN_OPTION', m));
  if (options?.onCorrupt !== undefined && typeof options.onCorrupt !== 'function') {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: options.onCorrupt must be a function.`);
  }
  return options ?? {};
}

/** Header of a listed blob, or a report to `onCorrupt` (undefined) for one that is not a cache. */
export function scanHeader(kind: string, user: string, blob: Uint8Array, options: ScanOptions): string | undefined {
  try {
    return readCacheHeader(blob, `${kind} store, user ${JSON.stringify(user)}`).fingerprint;
  } catch (error) {
    if (!(error instanceof CorruptCacheError)) throw error;
    options.onCorrupt?.({ user, reason: error.message });
    return undefined;
  }
}

/** Read-modify-write callback: return the new cache, or `undefined` to leave the entry as it is. */
export type CacheUpdater = (current: UserCache | undefined) => UserCache | undefined;

/**
 * A keyed store of per-user caches. Every implementation stores the binary encoding
 * (`encodeCache`), so a blob written by one can be read by any other, and every read is
 * checksummed. `update` and `append` are atomic per user against concurrent writers.
 */
export interface CacheStore {
  /** `'memory'`, `'lmdb'`, `'redis'`. */
  readonly kind: string;
  /** The cache of `user`, or undefined. A damaged blob throws `CorruptCacheError`. */
  get(user: string): Promise<UserCache | undefined>;
  /** The raw blob (for byte accounting and replication), or undefined. */
  getBlob(user: string): Promise<Uint8Array | undefined>;
  /** Replaces the cache of `user` (durable when the promise resolves, where the backend is). */
  put(user: string, cache: UserCache): Promise<void>;
  /** Atomic read-modify-write of one user's cache; `fn` may run more than once (optimistic retries), so keep it pure. */
  update(user: string, fn: CacheUpdater): Promise<UserCache | undefined>;
  /**
   * Atomically adds encoded behaviours to the user's cache, creating it (anchored at the newest
   * event) when absent. Events whose id the cache has already applied are skipped and listed in
   * `duplicates` / `stale`; when nothing is new, nothing is written (a retry is a no-op). A stored
   * cache of another model throws `CacheFingerprintMismatchError`; a bad time `INVALID_TIME`.
   */
  append(user: string, events: EncodedEvents, target: AppendTarget, options?: AppendOptions): Promise<AppendResult>;
  /** True when something was deleted. */
  delete(user: string): Promise<boolean>;
  /**
   * Users (with their cache's fingerprint, read from the blob header), optionally only those
   * built by `fingerprint`. Order is unspecified. Entries that are not readable caches are skipped
   * and passed to `onCorrupt`; bodies are not checksummed here (`get` does).
   */
  scan(options?: ScanOptions): AsyncIterable<ScanEntry>;
  close(): Promise<void>;
}

export interface CacheStoreOptions {
  /** Blob precision for `put` / `update` / `append`. Default `'float32'`. */
  precision?: CachePrecision;
}

const MAX_USER_BYTES = 512;

/** Unknown keys in a store's constructor options are errors (`precision` is every store's). */
export function checkStoreOptions(where: string, options: unknown, own: readonly string[]): void {
  checkKnownKeys(`${where}: options`, options, ['precision', ...own], (m) => new VqlCacheStoreError('UNKNOWN_OPTION', m));
}

/** User ids are non-empty strings of at most 512 UTF-8 bytes (they become keys in every backend). */
export function checkUser(where: string, user: unknown): string {
  if (typeof user !== 'string' || user.length === 0 || Buffer.byteLength(user) > MAX_USER_BYTES) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: user must be a non-empty string of at most ${MAX_USER_BYTES} bytes, got ${JSON.stringify(user)}.`);
  }
  return user;
}

export function checkPrecision(where: string, precision: unknown): CachePrecision {
  const p = precision ?? 'float32';
  if (p !== 'float32' && p !== 'float16') {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: options.precision must be 'float32' or 'float16', got ${JSON.stringify(precision)}.`);
  }
  return p;
}

export function decodeStored(kind: string, user: string, blob: Uint8Array): UserCache {
  return decodeCache(blob, `${kind} store, user ${JSON.stringify(user)}`);
}

export function encodeForStore(where: string, cache: UserCache, precision: CachePrecision): Uint8Array {
  if (!(cache instanceof UserCache)) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: cache must be a UserCache, got ${cache === null ? 'null' : typeof cache}.`);
  }
  return encodeCache(cache, { precision });
}

/**
 * Every store's `append`: runs `appendEncoded` inside `store.update` (which may retry it) and
 * returns the result of the attempt that was written. Nothing new (all duplicates, or no events
 * for a user without a cache) → nothing written.
 */
export async function appendThroughUpdate(
  where: string,
  update: (fn: CacheUpdater) => Promise<UserCache | undefined>,
  events: EncodedEvents,
  target: AppendTarget,
  options: AppendOptions | undefined,
): Promise<AppendResult> {
  if (target == null || typeof target.fingerprint !== 'string' || target.kernel == null) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: target must carry fingerprint, layout and kernel (a CacheModel does).`);
  }
  const opts: AppendOptions = options?.timeBounds === undefined && target.timeBounds !== undefined ? { ...options, timeBounds: target.timeBounds } : (options ?? {});
  checkAppendOptions(where, opts);
  let last: AppendResult | undefined;
  await update((current) => {
    let cache = current;
    if (cache === undefined) {
      let newest = 0;
      if (events != null && events.count > 0) {
        newest = Number.NEGATIVE_INFINITY;
        for (let i = 0; i < events.count; i++) newest = Math.max(newest, events.times[i]!);
      }
      cache = new UserCache(target.fingerprint, target.layout, Number.isFinite(newest) ? newest : 0);
    } else {
      checkCacheFor(where, cache, target.fingerprint, target.layout);
    }
    last = appendEncoded(cache, events, target.kernel, opts);
    return last.applied > 0 ? last.cache : undefined;
  });
  return last!;
}
