import { decodeCache, encodeCache } from './codec.js';
import type { CachePrecision } from './codec.js';
import { VqlCacheStoreError } from './errors.js';
import type { CacheLayout } from './layout.js';
import { UserCache, appendEncoded, checkCacheFor } from './user-cache.js';
import type { AppendOptions, CacheKernel, EncodedEvents } from './user-cache.js';

/** What `append` needs to start a cache for a new user and to check an existing one. */
export interface AppendTarget {
  readonly fingerprint: string;
  readonly layout: CacheLayout;
  readonly kernel: CacheKernel;
}

export interface ScanEntry {
  readonly user: string;
  readonly fingerprint: string;
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
   * event) when absent. A stored cache of another model throws `CacheFingerprintMismatchError`.
   */
  append(user: string, events: EncodedEvents, target: AppendTarget, options?: AppendOptions): Promise<UserCache>;
  /** True when something was deleted. */
  delete(user: string): Promise<boolean>;
  /** Users (with their cache's fingerprint), optionally only those built by `fingerprint`. Order is unspecified. */
  scan(options?: { fingerprint?: string }): AsyncIterable<ScanEntry>;
  close(): Promise<void>;
}

export interface CacheStoreOptions {
  /** Blob precision for `put` / `update` / `append`. Default `'float32'`. */
  precision?: CachePrecision;
}

const MAX_USER_BYTES = 512;

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

/** The updater behind every store's `append`. */
export function appendUpdater(where: string, events: EncodedEvents, target: AppendTarget, options: AppendOptions = {}): CacheUpdater {
  if (target == null || typeof target.fingerprint !== 'string' || target.kernel == null) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: target must carry fingerprint, layout and kernel (a CacheModel does).`);
  }
  return (current) => {
    if (current === undefined) {
      let newest = 0;
      if (events.count > 0) {
        newest = Number.NEGATIVE_INFINITY;
        for (let i = 0; i < events.count; i++) newest = Math.max(newest, events.times[i]!);
      }
      const fresh = new UserCache(target.fingerprint, target.layout, Number.isFinite(newest) ? newest : 0);
      return appendEncoded(fresh, events, target.kernel, options);
    }
    checkCacheFor(where, current, target.fingerprint, target.layout);
    return appendEncoded(current, events, target.kernel, options);
  };
}
