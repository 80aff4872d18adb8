import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { readCacheHeader } from './codec.js';
import type { CachePrecision } from './codec.js';
import { appendUpdater, checkPrecision, checkUser, decodeStored, encodeForStore } from './cache-store.js';
import type { AppendTarget, CacheStore, CacheStoreOptions, CacheUpdater, ScanEntry } from './cache-store.js';
import { VqlCacheStoreError } from './errors.js';
import type { AppendOptions, EncodedEvents, UserCache } from './user-cache.js';

export interface RedisCacheStoreOptions extends CacheStoreOptions {
  /** `redis://[:password@]host:port[/db]`. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Prefix of every key this store touches. Default `'vql:cache:'`. */
  keyPrefix?: string;
  /** Give up connecting after this long. Default 2000 ms. */
  connectTimeoutMs?: number;
  /** A command with no reply after this long fails with `STORE_UNAVAILABLE`. Default 5000 ms. */
  commandTimeoutMs?: number;
  /** Optimistic `update` retries under contention before `UPDATE_CONFLICT`. Default 100. */
  maxUpdateRetries?: number;
}

// Reads one user's blob and version in one atomic step.
const READ_LUA = `return { redis.call('GET', KEYS[1]) or false, redis.call('GET', KEYS[2]) or '0' }`;

// Compare-and-set on the per-user version counter: the write happens only if nobody wrote since
// our read. Keeps the fingerprint index set in step, parsing the old blob's header in Lua
// (byte 8 = fingerprint length, fingerprint from byte 9, 1-based). ARGV[1] = expected version
// ('*' = unconditional put), ARGV[2] = blob, ARGV[3] = user, ARGV[4] = key prefix, ARGV[5] = fingerprint.
const CAS_LUA = `
local v = redis.call('GET', KEYS[2]) or '0'
if ARGV[1] ~= '*' and v ~= ARGV[1] then return -1 end
local old = redis.call('GET', KEYS[1])
if old then
  local n = string.byte(old, 8)
  redis.call('SREM', ARGV[4] .. 'idx:' .. string.sub(old, 9, 8 + n), ARGV[3])
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', ARGV[4] .. 'idx:' .. ARGV[5], ARGV[3])
return redis.call('INCR', KEYS[2])`;

const DELETE_LUA = `
local old = redis.call('GET', KEYS[1])
if not old then return 0 end
local n = string.byte(old, 8)
redis.call('SREM', ARGV[2] .. 'idx:' .. string.sub(old, 9, 8 + n), ARGV[1])
redis.call('DEL', KEYS[1], KEYS[2])
return 1`;

interface ScriptedRedis extends Redis {
  vqlReadBuffer(blobKey: string, versionKey: string): Promise<[Buffer | null, Buffer]>;
  vqlCas(blobKey: string, versionKey: string, expected: string, blob: Buffer, user: string, prefix: string, fingerprint: string): Promise<number>;
  vqlDelete(blobKey: string, versionKey: string, user: string, prefix: string): Promise<number>;
}

const CONNECTION_ERROR = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|Connection is closed|Stream isn't writeable|Command timed out|connect|max retries/i;

function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * Store on a Redis server (ioredis client). Each user is two keys, the blob and a version
 * counter; `update` / `append` read both atomically, compute on the client, and write through a
 * Lua compare-and-set that fails if anyone wrote in between (then retry), so concurrent writers
 * on any number of processes never lose an event. A set per fingerprint serves `scan`.
 * Durability is the server's: with `appendonly yes` + `appendfsync always`, an acknowledged
 * write survives `kill -9`. Standalone Redis only (keys of one user are not hash-tagged).
 */
export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis';
  readonly url: string;
  private readonly client: ScriptedRedis;
  private readonly prefix: string;
  private readonly precision: CachePrecision;
  private readonly maxRetries: number;
  private lastError: Error | undefined;
  private closed = false;

  private constructor(options: RedisCacheStoreOptions) {
    const where = 'RedisCacheStore.connect';
    this.url = options.url ?? 'redis://127.0.0.1:6379';
    this.prefix = options.keyPrefix ?? 'vql:cache:';
    if (typeof this.prefix !== 'string') throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: options.keyPrefix must be a string.`);
    this.precision = checkPrecision(where, options.precision);
    this.maxRetries = options.maxUpdateRetries ?? 100;
    const connectTimeout = options.connectTimeoutMs ?? 2000;
    const redisOptions: RedisOptions = {
      lazyConnect: true,
      // Fail fast instead of queueing commands while Redis is down: callers get STORE_UNAVAILABLE.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout,
      commandTimeout: options.commandTimeoutMs ?? 5000,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    };
    try {
      this.client = new Redis(this.url, redisOptions) as ScriptedRedis;
    } catch (error) {
      throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: invalid url ${JSON.stringify(this.url)}: ${(error as Error).message}`, { cause: error });
    }
    // Without a listener ioredis prints every reconnect error; keep the last for messages.
    this.client.on('error', (error: Error) => {
      this.lastError = error;
    });
    this.client.defineCommand('vqlRead', { numberOfKeys: 2, lua: READ_LUA });
    this.client.defineCommand('vqlCas', { numberOfKeys: 2, lua: CAS_LUA });
    this.client.defineCommand('vqlDelete', { numberOfKeys: 2, lua: DELETE_LUA });
  }

  /** Connects (and pings) before resolving; an unreachable server is `STORE_UNAVAILABLE`. */
  static async connect(options: RedisCacheStoreOptions = {}): Promise<RedisCacheStore> {
    const store = new RedisCacheStore(options);
    const timeout = options.connectTimeoutMs ?? 2000;
    try {
      await Promise.race([
        store.client.connect().then(() => store.client.ping()),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no connection within ${timeout} ms`)), timeout).unref()),
      ]);
    } catch (error) {
      store.client.disconnect();
      throw new VqlCacheStoreError(
        'STORE_UNAVAILABLE',
        `RedisCacheStore.connect: Redis at ${store.url} is unavailable: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return store;
  }

  private key(kind: 'c' | 'v', user: string): string {
    return `${this.prefix}${kind}:${user}`;
  }

  /** Runs one Redis round trip, turning connection failures into `STORE_UNAVAILABLE`. */
  private async call<T>(where: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new VqlCacheStoreError('STORE_CLOSED', `RedisCacheStore.${where}: the store is closed.`);
    try {
      return await fn();
    } catch (error) {
      if (error instanceof VqlCacheStoreError) throw error;
      const message = (error as Error).message;
      if (this.client.status !== 'ready' || CONNECTION_ERROR.test(message)) {
        throw new VqlCacheStoreError(
          'STORE_UNAVAILABLE',
          `RedisCacheStore.${where}: Redis at ${this.url} is unavailable (${message}${this.lastError !== undefined && this.lastError.message !== message ? `; last connection error: ${this.lastError.message}` : ''}).`,
          { cause: error },
        );
      }
      throw new VqlCacheStoreError('REDIS_ERROR', `RedisCacheStore.${where}: ${message}`, { cause: error });
    }
  }

  private async read(where: string, user: string): Promise<{ blob: Buffer | null; version: string }> {
    const [blob, version] = await this.call(where, () => this.client.vqlReadBuffer(this.key('c', user), this.key('v', user)));
    return { blob, version: version.toString() };
  }

  async get(user: string): Promise<UserCache | undefined> {
    checkUser('RedisCacheStore.get', user);
    const blob = await this.call('get', () => this.client.getBuffer(this.key('c', user)));
    return blob === null ? undefined : decodeStored(this.kind, user, blob);
  }

  async getBlob(user: string): Promise<Uint8Array | undefined> {
    checkUser('RedisCacheStore.getBlob', user);
    const blob = await this.call('getBlob', () => this.client.getBuffer(this.key('c', user)));
    return blob === null ? undefined : new Uint8Array(blob);
  }

  async put(user: string, cache: UserCache): Promise<void> {
    checkUser('RedisCacheStore.put', user);
    const blob = Buffer.from(encodeForStore('RedisCacheStore.put', cache, this.precision));
    await this.call('put', () => this.client.vqlCas(this.key('c', user), this.key('v', user), '*', blob, user, this.prefix, cache.fingerprint));
  }

  async update(user: string, fn: CacheUpdater): Promise<UserCache | undefined> {
    checkUser('RedisCacheStore.update', user);
    for (let attempt = 0; attempt <= this.maxRetries; attempt++) {
      const { blob, version } = await this.read('update', user);
      const current = blob === null ? undefined : decodeStored(this.kind, user, blob);
      const next = fn(current);
      if (next === undefined) return current;
      const encoded = Buffer.from(encodeForStore('RedisCacheStore.update', next, this.precision));
      const result = await this.call('update', () =>
        this.client.vqlCas(this.key('c', user), this.key('v', user), version, encoded, user, this.prefix, next.fingerprint),
      );
      if (result !== -1) return next;
      // Lost the race: back off a little (deterministically growing) and recompute from fresh state.
      if (attempt >= 2) await new Promise((r) => setTimeout(r, Math.min(attempt, 20)));
    }
    throw new VqlCacheStoreError('UPDATE_CONFLICT', `RedisCacheStore.update: user ${JSON.stringify(user)} changed under us ${this.maxRetries + 1} times in a row; giving up.`);
  }

  async append(user: string, events: EncodedEvents, target: AppendTarget, options?: AppendOptions): Promise<UserCache> {
    return (await this.update(user, appendUpdater('RedisCacheStore.append', events, target, options)))!;
  }

  async delete(user: string): Promise<boolean> {
    checkUser('RedisCacheStore.delete', user);
    const n = await this.call('delete', () => this.client.vqlDelete(this.key('c', user), this.key('v', user), user, this.prefix));
    return n === 1;
  }

  async *scan(options: { fingerprint?: string } = {}): AsyncIterable<ScanEntry> {
    let cursor = '0';
    if (options.fingerprint !== undefined) {
      const fingerprint = options.fingerprint;
      do {
        const [next, users] = await this.call('scan', () => this.client.sscan(`${this.prefix}idx:${fingerprint}`, cursor, 'COUNT', 500));
        cursor = next;
        for (const user of users) yield { user, fingerprint };
      } while (cursor !== '0');
      return;
    }
    const head = `${this.prefix}c:`;
    do {
      const [next, keys] = await this.call('scan', () => this.client.scan(cursor, 'MATCH', `${globEscape(head)}*`, 'COUNT', 500));
      cursor = next;
      for (const key of keys) {
        const user = key.slice(head.length);
        // 300 bytes cover magic, version and the longest (255-byte) fingerprint.
        const start = await this.call('scan', () => this.client.getrangeBuffer(key, 0, 299));
        if (start.length === 0) continue; // deleted since SCAN listed it
        yield { user, fingerprint: readCacheHeader(start, `redis store, user ${JSON.stringify(user)}`).fingerprint };
      }
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect(); // server already gone: nothing left to flush
    }
  }
}
