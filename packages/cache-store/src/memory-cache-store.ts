import type { CachePrecision } from './codec.js';
import { appendThroughUpdate, checkPrecision, checkScanOptions, checkStoreOptions, checkUser, decodeStored, encodeForStore, scanHeader } from './cache-store.js';
import type { AppendTarget, CacheStore, CacheStoreOptions, CacheUpdater, ScanEntry, ScanOptions } from './cache-store.js';
import { VqlCacheStoreError } from './errors.js';
import type { AppendOptions, AppendResult, EncodedEvents, UserCache } from './user-cache.js';

/**
 * In-process store (the default): encoded blobs in a Map, so reads are checksummed copies and
 * byte counts match the persistent stores. `update` runs synchronously inside one call, which
 * makes it atomic on the single JS thread. Nothing survives the process.
 */
export class MemoryCacheStore implements CacheStore {
  readonly kind = 'memory';
  private readonly blobs = new Map<string, Uint8Array>();
  private readonly precision: CachePrecision;
  private closed = false;

  constructor(options: CacheStoreOptions = {}) {
    checkStoreOptions('new MemoryCacheStore', options, []);
    this.precision = checkPrecision('new MemoryCacheStore', options.precision);
  }

  /** Number of users stored. */
  get size(): number {
    return this.blobs.size;
  }

  private open(where: string): void {
    if (this.closed) throw new VqlCacheStoreError('STORE_CLOSED', `MemoryCacheStore.${where}: the store is closed.`);
  }

  async get(user: string): Promise<UserCache | undefined> {
    this.open('get');
    const blob = this.blobs.get(checkUser('MemoryCacheStore.get', user));
    return blob === undefined ? undefined : decodeStored(this.kind, user, blob);
  }

  async getBlob(user: string): Promise<Uint8Array | undefined> {
    this.open('getBlob');
    return this.blobs.get(checkUser('MemoryCacheStore.getBlob', user))?.slice();
  }

  async put(user: string, cache: UserCache): Promise<void> {
    this.open('put');
    this.blobs.set(checkUser('MemoryCacheStore.put', user), encodeForStore('MemoryCacheStore.put', cache, this.precision));
  }

  async update(user: string, fn: CacheUpdater): Promise<UserCache | undefined> {
    this.open('update');
    checkUser('MemoryCacheStore.update', user);
    const blob = this.blobs.get(user);
    const next = fn(blob === undefined ? undefined : decodeStored(this.kind, user, blob));
    if (next === undefined) return blob === undefined ? undefined : decodeStored(this.kind, user, blob);
    this.blobs.set(user, encodeForStore('MemoryCacheStore.update', next, this.precision));
    return next;
  }

  async append(user: string, events: EncodedEvents, target: AppendTarget, options?: AppendOptions): Promise<AppendResult> {
    checkUser('MemoryCacheStore.append', user);
    return appendThroughUpdate('MemoryCacheStore.append', (fn) => this.update(user, fn), events, target, options);
  }

  async delete(user: string): Promise<boolean> {
    this.open('delete');
    return this.blobs.delete(checkUser('MemoryCacheStore.delete', user));
  }

  async *scan(options?: ScanOptions): AsyncIterable<ScanEntry> {
    this.open('scan');
    const opts = checkScanOptions('MemoryCacheStore.scan', options);
    for (const [user, blob] of [...this.blobs]) {
      const fingerprint = scanHeader(this.kind, user, blob, opts);
      if (fingerprint !== undefined && (opts.fingerprint === undefined || opts.fingerprint === fingerprint)) yield { user, fingerprint };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.blobs.clear();
  }
}
