import { open } from 'lmdb';
import type { RootDatabase } from 'lmdb';
import type { CachePrecision } from './codec.js';
import { appendThroughUpdate, checkPrecision, checkScanOptions, checkStoreOptions, checkUser, decodeStored, encodeForStore, scanHeader } from './cache-store.js';
import type { AppendTarget, CacheStore, CacheStoreOptions, CacheUpdater, ScanEntry, ScanOptions } from './cache-store.js';
import { VqlCacheStoreError } from './errors.js';
import type { AppendOptions, AppendResult, EncodedEvents, UserCache } from './user-cache.js';

export interface LmdbCacheStoreOptions extends CacheStoreOptions {
  /** Directory of the LMDB environment (created when missing). */
  path: string;
  /** Map size hint in bytes; LMDB grows it on demand. Default 1 GiB. */
  mapSize?: number;
}

/**
 * Embedded persistent store on LMDB (`lmdb` package): one memory-mapped B+tree file, ACID
 * transactions, readers never block, and several processes (e.g. builder workers) may open the
 * same path. `update` / `append` run in a synchronous write transaction, which LMDB serialises
 * across threads and processes; a resolved `put` is committed to disk.
 */
export class LmdbCacheStore implements CacheStore {
  readonly kind = 'lmdb';
  readonly path: string;
  private readonly db: RootDatabase<Buffer, string>;
  private readonly precision: CachePrecision;
  private closed = false;

  constructor(options: LmdbCacheStoreOptions) {
    const where = 'new LmdbCacheStore';
    if (options == null || typeof options.path !== 'string' || options.path.length === 0) {
      throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: options.path (a directory) is required.`);
    }
    checkStoreOptions(where, options, ['path', 'mapSize']);
    this.precision = checkPrecision(where, options.precision);
    this.path = options.path;
    try {
      this.db = open<Buffer, string>({
        path: options.path,
        encoding: 'binary',
        compression: false, // blobs are dense floats: compression costs CPU and saves little
        mapSize: options.mapSize ?? 2 ** 30,
      });
    } catch (error) {
      throw new VqlCacheStoreError('STORE_UNAVAILABLE', `${where}: cannot open LMDB environment at ${options.path}: ${(error as Error).message}`, { cause: error });
    }
  }

  private live(where: string): RootDatabase<Buffer, string> {
    if (this.closed) throw new VqlCacheStoreError('STORE_CLOSED', `LmdbCacheStore.${where}: the store at ${this.path} is closed.`);
    return this.db;
  }

  async get(user: string): Promise<UserCache | undefined> {
    const blob = this.live('get').get(checkUser('LmdbCacheStore.get', user));
    return blob === undefined ? undefined : decodeStored(this.kind, user, blob);
  }

  async getBlob(user: string): Promise<Uint8Array | undefined> {
    const blob = this.live('getBlob').get(checkUser('LmdbCacheStore.getBlob', user));
    return blob === undefined ? undefined : new Uint8Array(blob);
  }

  async put(user: string, cache: UserCache): Promise<void> {
    const db = this.live('put');
    await db.put(checkUser('LmdbCacheStore.put', user), Buffer.from(encodeForStore('LmdbCacheStore.put', cache, this.precision)));
  }

  async update(user: string, fn: CacheUpdater): Promise<UserCache | undefined> {
    const db = this.live('update');
    checkUser('LmdbCacheStore.update', user);
    return db.transactionSync(() => {
      const blob = db.get(user);
      const current = blob === undefined ? undefined : decodeStored(this.kind, user, blob);
      const next = fn(current);
      if (next === undefined) return current;
      db.putSync(user, Buffer.from(encodeForStore('LmdbCacheStore.update', next, this.precision)));
      return next;
    });
  }

  async append(user: string, events: EncodedEvents, target: AppendTarget, options?: AppendOptions): Promise<AppendResult> {
    checkUser('LmdbCacheStore.append', user);
    return appendThroughUpdate('LmdbCacheStore.append', (fn) => this.update(user, fn), events, target, options);
  }

  async delete(user: string): Promise<boolean> {
    const db = this.live('delete');
    checkUser('LmdbCacheStore.delete', user);
    // lmdb's async remove resolves true even for a missing key: check inside one write transaction.
    return db.transactionSync(() => db.get(user) !== undefined && db.removeSync(user));
  }

  async *scan(options?: ScanOptions): AsyncIterable<ScanEntry> {
    const db = this.live('scan');
    const opts = checkScanOptions('LmdbCacheStore.scan', options);
    for (const { key, value } of db.getRange({})) {
      const fingerprint = scanHeader(this.kind, key, value, opts);
      if (fingerprint !== undefined && (opts.fingerprint === undefined || opts.fingerprint === fingerprint)) yield { user: key, fingerprint };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
  }
}
