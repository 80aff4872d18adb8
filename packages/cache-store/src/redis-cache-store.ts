import { Cluster, Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { CachePrecision } from './codec.js';
import { appendThroughUpdate, checkPrecision, checkScanOptions, checkStoreOptions, checkUser, decodeStored, encodeForStore, scanHeader } from './cache-store.js';
import type { AppendTarget, CacheStore, CacheStoreOptions, CacheUpdater, ScanEntry, ScanOptions } from './cache-store.js';
import { VqlCacheStoreError } from './errors.js';
import type { AppendOptions, AppendResult, EncodedEvents, UserCache } from './user-cache.js';

export interface RedisCacheStoreOptions extends CacheStoreOptions {
  /** `redis[s]://[[user]:password@]host[:port][/db]`; the database index is honoured. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /**
   * Redis Cluster instead of one server: some of its nodes, `redis[s]://[[user]:password@]host[:port]`
   * each (the rest are discovered). A user's keys share one hash slot (`<prefix>{<user>}:c|v`);
   * there is no fingerprint index, so `scan({ fingerprint })` reads every header.
   */
  nodes?: string[];
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
// ('*' = unconditional put), ARGV[2] = blob, ARGV[3] = user, ARGV[4] = key prefix, ARGV[5] = fingerprint,
// ARGV[6] = '1' to keep the index (standalone), '0' without (a cluster: the index lives in another slot).
const CAS_LUA = `
local v = redis.call('GET', KEYS[2]) or '0'
if ARGV[1] ~= '*' and v ~= ARGV[1] then return -1 end
if ARGV[6] == '1' then
  local old = redis.call('GET', KEYS[1])
  if old then
    local n = string.byte(old, 8)
    redis.call('SREM', ARGV[4] .. 'idx:' .. string.sub(old, 9, 8 + n), ARGV[3])
  end
  redis.call('SADD', ARGV[4] .. 'idx:' .. ARGV[5], ARGV[3])
end
redis.call('SET', KEYS[1], ARGV[2])
return redis.call('INCR', KEYS[2])`;

const DELETE_LUA = `
local old = redis.call('GET', KEYS[1])
if not old then return 0 end
if ARGV[3] == '1' then
  local n = string.byte(old, 8)
  redis.call('SREM', ARGV[2] .. 'idx:' .. string.sub(old, 9, 8 + n), ARGV[1])
end
redis.call('DEL', KEYS[1], KEYS[2])
return 1`;

interface Scripts {
  vqlReadBuffer(blobKey: string, versionKey: string): Promise<[Buffer | null, Buffer]>;
  vqlCas(blobKey: string, versionKey: string, expected: string, blob: Buffer, user: string, prefix: string, fingerprint: string, indexed: string): Promise<number>;
  vqlDelete(blobKey: string, versionKey: string, user: string, prefix: string, indexed: string): Promise<number>;
}
type ScriptedRedis = (Redis | Cluster) & Scripts;

const CONNECTION_ERROR = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|Connection is closed|Stream isn't writeable|Command timed out|connect|max retries/i;

interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username: string | undefined;
  password: string | undefined;
  tls: boolean;
  safeUrl: string;
}

/** `redis[s]://[[user]:password@]host[:port][/db]`, checked here so that no part is silently dropped. */
export function parseRedisUrl(where: string, url: unknown): RedisTarget {
  const bad = (why: string): never => {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: options.url ${why}; expected redis[s]://[[user]:password@]host[:port][/db].`);
  };
  if (typeof url !== 'string') return bad(`must be a string, got ${typeof url}`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return bad(`${JSON.stringify(url)} is not a URL`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') bad(`has protocol ${JSON.stringify(u.protocol)}`);
  if (u.hostname === '') bad('has no host');
  if (u.search !== '' || u.hash !== '') bad(`has a query or fragment (${JSON.stringify(u.search + u.hash)}), which this store does not read`);
  const path = u.pathname === '/' ? '' : u.pathname.slice(1);
  if (path !== '' && !/^\d{1,9}$/.test(path)) bad(`has database index ${JSON.stringify(decodeURIComponent(path))} in its path, which is not a non-negative integer`);
  const safe = new URL(url);
  if (safe.password !== '') safe.password = '***';
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port === '' ? 6379 : Number(u.port),
    db: path === '' ? 0 : Number(path),
    username: u.username === '' ? undefined : decodeURIComponent(u.username),
    password: u.password === '' ? undefined : decodeURIComponent(u.password),
    tls: u.protocol === 'rediss:',
    safeUrl: safe.toString().replace(/\/$/, ''),
  };
}

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
  /** The URL without its password. */
  readonly url: string;
  /** The database index from the URL path (default 0). */
  readonly db: number;
  private readonly client: ScriptedRedis;
  private readonly prefix: string;
  private readonly precision: CachePrecision;
  private readonly maxRetries: number;
  /** Redis Cluster: per-user hash-tagged keys, no fingerprint index. */
  private readonly cluster: boolean;
  private lastError: Error | undefined;
  private closed = false;

  private constructor(options: RedisCacheStoreOptions, target: RedisTarget, nodes: RedisTarget[] | null) {
    const where = 'RedisCacheStore.connect';
    this.url = nodes === null ? target.safeUrl : nodes.map((n) => n.safeUrl).join(',');
    this.db = target.db;
    this.cluster = nodes !== null;
    this.prefix = options.keyPrefix ?? 'vql:cache:';
    if (typeof this.prefix !== 'string') throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: options.keyPrefix must be a string.`);
    this.precision = checkPrecision(where, options.precision);
    this.maxRetries = options.maxUpdateRetries ?? 100;
    const redisOptions: RedisOptions = {
      host: target.host,
      port: target.port,
      ...(target.username === undefined ? {} : { username: target.username }),
      ...(target.password === undefined ? {} : { password: target.password }),
      ...(target.tls ? { tls: {} } : {}),
      // Database 0 at connect; `connect` selects the URL's database itself so that a refused index
      // is an error it can report (ioredis would only emit it and carry on in database 0).
      db: 0,
      lazyConnect: true,
      // Fail fast instead of queueing commands while Redis is down: callers get STORE_UNAVAILABLE.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: options.connectTimeoutMs ?? 2000,
      commandTimeout: options.commandTimeoutMs ?? 5000,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    };
    this.client = (
      nodes === null
        ? new Redis(redisOptions)
        : new Cluster(
            nodes.map((n) => ({ host: n.host, port: n.port })),
            {
              redisOptions: { ...redisOptions, host: undefined, port: undefined, lazyConnect: undefined, enableOfflineQueue: undefined },
              lazyConnect: true,
              enableOfflineQueue: false,
              clusterRetryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
            } as ConstructorParameters<typeof Cluster>[1],
          )
    ) as ScriptedRedis;
    // Without a listener ioredis prints every reconnect error (or, for an emitter error with no
    // listener, crashes the process); keep the last one: it names the cause in our messages.
    this.client.on('error', (error: Error) => {
      this.lastError = error;
    });
    // A cause from a past outage must not be blamed for a later failure.
    this.client.on('ready', () => {
      this.lastError = undefined;
    });
    this.client.defineCommand('vqlRead', { numberOfKeys: 2, lua: READ_LUA });
    this.client.defineCommand('vqlCas', { numberOfKeys: 2, lua: CAS_LUA });
    this.client.defineCommand('vqlDelete', { numberOfKeys: 2, lua: DELETE_LUA });
  }

  /**
   * Connects, pings and selects the URL's database before resolving. An unreachable server is
   * `STORE_UNAVAILABLE` naming the URL and the cause (ECONNREFUSED, ENOTFOUND, ...); a database
   * index the server refuses, or a malformed URL, is `INVALID_ARGUMENT`.
   */
  static async connect(options: RedisCacheStoreOptions = {}): Promise<RedisCacheStore> {
    const where = 'RedisCacheStore.connect';
    if (options === null || typeof options !== 'object') throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: options must be an object.`);
    checkStoreOptions(where, options, ['url', 'nodes', 'keyPrefix', 'connectTimeoutMs', 'commandTimeoutMs', 'maxUpdateRetries']);
    let nodes: RedisTarget[] | null = null;
    if (options.nodes !== undefined) {
      if (options.url !== undefined) throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: give options.url (one server) or options.nodes (a cluster), not both.`);
      if (!Array.isArray(options.nodes) || options.nodes.length === 0) throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: options.nodes must be a non-empty array of redis:// URLs.`);
      nodes = options.nodes.map((url, i) => {
        const t = parseRedisUrl(`${where}: options.nodes[${i}]`, url);
        if (t.db !== 0) throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: options.nodes[${i}] selects database ${t.db}; a Redis Cluster has database 0 only.`);
        return t;
      });
    }
    const store = new RedisCacheStore(options, nodes?.[0] ?? parseRedisUrl(where, options.url ?? 'redis://127.0.0.1:6379'), nodes);
    const timeout = options.connectTimeoutMs ?? 2000;
    const attempt = (async () => {
      await store.client.connect();
      await store.client.ping();
      if (store.db !== 0 && !store.cluster) {
        try {
          await store.client.select(store.db);
        } catch (error) {
          throw new VqlCacheStoreError(
            'INVALID_ARGUMENT',
            `${where}: ${store.url} selects database ${store.db}, which the server refuses (${(error as Error).message}; its \`databases\` setting bounds the index).`,
            { cause: error },
          );
        }
      }
    })();
    attempt.catch(() => {}); // may settle after the timeout below: already reported, never unhandled
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        attempt,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no connection within ${timeout} ms`)), timeout);
        }),
      ]);
    } catch (error) {
      store.closed = true;
      store.client.disconnect();
      if (error instanceof VqlCacheStoreError) throw error;
      throw new VqlCacheStoreError('STORE_UNAVAILABLE', `${where}: Redis at ${store.url} is unavailable: ${store.describe(error as Error)}`, { cause: store.lastError ?? error });
    } finally {
      clearTimeout(timer);
    }
    return store;
  }

  /** The error's message plus the last connection error when that says more (the OS cause). */
  private describe(error: Error): string {
    const last = this.lastError;
    // No OS error yet (the server just went away): the connection state is the cause we know.
    if (last === undefined) return this.client.status === 'ready' ? error.message : `${error.message}; connection ${this.client.status}, no socket error seen yet`;
    if (last === error || error.message.includes(last.message)) return error.message;
    const code = (last as NodeJS.ErrnoException).code;
    return `${error.message} (cause: ${last.message}${code !== undefined && !last.message.includes(code) ? `, ${code}` : ''})`;
  }

  private key(kind: 'c' | 'v', user: string): string {
    // In a cluster both keys of a user hash to one slot (the part in braces), so the scripts stay atomic.
    return this.cluster ? `${this.prefix}{${user}}:${kind}` : `${this.prefix}${kind}:${user}`;
  }

  private get indexed(): string {
    return this.cluster ? '0' : '1';
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
        throw new VqlCacheStoreError('STORE_UNAVAILABLE', `RedisCacheStore.${where}: Redis at ${this.url} is unavailable (${this.describe(error as Error)}).`, { cause: error });
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
    await this.call('put', () => this.client.vqlCas(this.key('c', user), this.key('v', user), '*', blob, user, this.prefix, cache.fingerprint, this.indexed));
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
        this.client.vqlCas(this.key('c', user), this.key('v', user), version, encoded, user, this.prefix, next.fingerprint, this.indexed),
      );
      if (result !== -1) return next;
      // Lost the race: back off a little (deterministically growing) and recompute from fresh state.
      if (attempt >= 2) await new Promise((r) => setTimeout(r, Math.min(attempt, 20)));
    }
    throw new VqlCacheStoreError('UPDATE_CONFLICT', `RedisCacheStore.update: user ${JSON.stringify(user)} changed under us ${this.maxRetries + 1} times in a row; giving up.`);
  }

  async append(user: string, events: EncodedEvents, target: AppendTarget, options?: AppendOptions): Promise<AppendResult> {
    checkUser('RedisCacheStore.append', user);
    return appendThroughUpdate('RedisCacheStore.append', (fn) => this.update(user, fn), events, target, options);
  }

  async delete(user: string): Promise<boolean> {
    checkUser('RedisCacheStore.delete', user);
    const n = await this.call('delete', () => this.client.vqlDelete(this.key('c', user), this.key('v', user), user, this.prefix, this.indexed));
    return n === 1;
  }

  async *scan(options?: ScanOptions): AsyncIterable<ScanEntry> {
    const opts = checkScanOptions('RedisCacheStore.scan', options);
    let cursor = '0';
    if (this.cluster) {
      yield* this.scanCluster(opts);
      return;
    }
    if (opts.fingerprint !== undefined) {
      const fingerprint = opts.fingerprint;
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
        const fingerprint = scanHeader(this.kind, user, start, opts);
        if (fingerprint !== undefined) yield { user, fingerprint };
      }
    } while (cursor !== '0');
  }

  /** Every master's keys of this prefix, headers read through the cluster client. */
  private async *scanCluster(opts: ScanOptions): AsyncIterable<ScanEntry> {
    const pattern = `${globEscape(this.prefix)}{*}:c`;
    for (const node of (this.client as Cluster).nodes('master')) {
      let cursor = '0';
      do {
        const [next, keys] = await this.call('scan', () => node.scan(cursor, 'MATCH', pattern, 'COUNT', 500));
        cursor = next;
        for (const key of keys) {
          const user = key.slice(this.prefix.length + 1, key.length - 3);
          const start = await this.call('scan', () => this.client.getrangeBuffer(key, 0, 299));
          if (start.length === 0) continue;
          const fingerprint = scanHeader(this.kind, user, start, opts);
          if (fingerprint !== undefined && (opts.fingerprint === undefined || fingerprint === opts.fingerprint)) yield { user, fingerprint };
        }
      } while (cursor !== '0');
    }
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
