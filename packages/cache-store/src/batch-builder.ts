import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import cliProgress from 'cli-progress';
import { checkKnownKeys } from '@vql/runtime';
import type { CacheStore, CorruptEntry } from './cache-store.js';
import { decodeCache } from './codec.js';
import { VqlCacheStoreError, cacheStoreCode } from './errors.js';
import { checkTimes, resolveTimeBounds } from './time-bounds.js';
import type { TimeBounds } from './time-bounds.js';
import { checkTable, numUsers } from './history-table.js';
import type { EventTableView } from '@vql/data';
import type { WorkerInit, WorkerReply } from './build-worker.js';

export interface BuildAllOptions {
  /** Directory written by `exportModel` (@vql/model); every worker loads it. */
  modelDir: string;
  /** The dataset's events (`EventTable` of @vql/data). */
  table: EventTableView;
  store: CacheStore;
  /** Worker threads. Default min(2, available cores). */
  workers?: number;
  /** Users per work item. Default 32. */
  chunkUsers?: number;
  /** Store key of dense user id u. Default `String(u)`. */
  userKey?: (user: number) => string;
  /** Stop after building this many users (the rest stays for the next, resumed, run). */
  limit?: number;
  /** Only the dense users `from ≤ u < to` (one shard of a build spread over hosts or queue jobs). Default all. */
  users?: { from: number; to: number };
  /** Progress bar on stderr. Default: only when stderr is a TTY. */
  progress?: boolean;
  /** Passed to `CtrCacheModel`. */
  ignoreHistoryWindow?: boolean;
  /** Accepted event times; `now` is read once, at the start of the run. Default as in `TimeBounds`. */
  timeBounds?: TimeBounds;
}

const BUILD_ALL_KEYS = ['modelDir', 'table', 'store', 'workers', 'chunkUsers', 'userKey', 'limit', 'users', 'progress', 'ignoreHistoryWindow', 'timeBounds'] as const;

export interface BuildReport {
  fingerprint: string;
  /** Users whose cache was built in this run. */
  built: number;
  /** Users that already had a cache of this model (resumed runs). */
  skipped: number;
  /** Users without events: no cache is written (they score as an empty history). */
  empty: number;
  /** Behaviours folded into caches in this run. */
  events: number;
  seconds: number;
  behavioursPerSecond: number;
  /** Bytes of the blobs written in this run. */
  bytes: number;
  /**
   * Stored blobs that failed their checksum, header or decoding (any user in the store); those of
   * the table's users were rebuilt in this run (and are counted in `built`).
   */
  corrupt: CorruptEntry[];
  /** Users whose history could not be built (e.g. an event time outside the bounds); nothing was written for them. */
  failed: Array<{ user: string; reason: string }>;
}

export interface WorkerEntry {
  /** The worker module (`build-worker.js` or `.ts`). */
  file: string;
  /** What `new Worker` runs: the file itself, or a bootstrap that registers tsx first. */
  script: string;
  eval: boolean;
  execArgv: string[];
}

/**
 * Where the worker script is: `build-worker.js` beside this module (dist, ESM), else the `.ts`
 * source (tests and development, where this module itself runs from source): tsx's loader is
 * registered inside the worker before the import, and `@vql/*` resolve to their sources.
 */
export function resolveWorkerEntry(here: string = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url)): WorkerEntry {
  const dir = dirname(here);
  const js = join(dir, 'build-worker.js');
  if (existsSync(js)) return { file: js, script: js, eval: false, execArgv: [] };
  const ts = join(dir, 'build-worker.ts');
  if (!existsSync(ts)) throw new VqlCacheStoreError('WORKER_NOT_FOUND', `buildAllCaches: neither ${js} nor ${ts} exists; is the package built?`);
  let tsxApi: string;
  try {
    // require.resolve picks the CommonJS build; the worker imports the ESM one beside it.
    tsxApi = pathToFileURL(createRequire(here).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  } catch (error) {
    throw new VqlCacheStoreError('WORKER_NOT_FOUND', `buildAllCaches: running from source needs the tsx package to load ${ts}: ${(error as Error).message}`, { cause: error });
  }
  const script = `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(pathToFileURL(ts).href)}); });`;
  return { file: ts, script, eval: true, execArgv: ['--conditions=@vql/source'] };
}

interface Pool {
  worker: Worker;
  fingerprint: string;
}

async function startWorker(init: WorkerInit): Promise<Pool> {
  const entry = resolveWorkerEntry();
  const worker = new Worker(entry.script, { eval: entry.eval, workerData: init, execArgv: entry.execArgv });
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => reject(new VqlCacheStoreError('WORKER_FAILED', `buildAllCaches: worker ${entry.file} failed to start: ${error.message}`, { cause: error }));
    worker.once('error', fail);
    worker.once('message', (msg: WorkerReply) => {
      worker.off('error', fail);
      if (msg.kind === 'ready') resolve({ worker, fingerprint: msg.fingerprint });
      else {
        void worker.terminate();
        reject(new VqlCacheStoreError(msg.kind === 'error' ? cacheStoreCode(msg.code) : 'WORKER_FAILED', `buildAllCaches: worker could not load ${init.modelDir}: ${msg.kind === 'error' ? workerMessage(msg) : msg.kind}`));
      }
    });
  });
}

/** A worker's error text, with its code when that is another package's (it becomes WORKER_FAILED here). */
function workerMessage(msg: Extract<WorkerReply, { kind: 'error' }>): string {
  return msg.code !== undefined && cacheStoreCode(msg.code) !== msg.code ? `${msg.message} [${msg.code}]` : msg.message;
}

function request(pool: Pool, users: number[]): Promise<Extract<WorkerReply, { kind: 'done' }>> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      pool.worker.off('message', onMessage);
      reject(new VqlCacheStoreError('WORKER_FAILED', `buildAllCaches: worker crashed on users ${users[0]}..${users[users.length - 1]}: ${error.message}`, { cause: error }));
    };
    const onMessage = (msg: WorkerReply) => {
      pool.worker.off('error', onError);
      if (msg.kind === 'done') resolve(msg);
      else reject(new VqlCacheStoreError(msg.kind === 'error' ? cacheStoreCode(msg.code) : 'WORKER_FAILED', `buildAllCaches: users ${users[0]}..${users[users.length - 1]}: ${msg.kind === 'error' ? workerMessage(msg) : msg.kind}`));
    };
    pool.worker.once('error', onError);
    pool.worker.once('message', onMessage);
    pool.worker.postMessage({ users });
  });
}

/**
 * Builds the caches of every user of `table` in worker threads and writes them to `store`.
 * Resumable: users that already have a cache of this model's fingerprint are skipped, so an
 * interrupted run (or one cut short by `limit`) continues where it stopped. Stores are written
 * from the calling thread, so any `CacheStore` works, the in-memory one included.
 */
export async function buildAllCaches(options: BuildAllOptions): Promise<BuildReport> {
  const where = 'buildAllCaches';
  if (options == null || typeof options !== 'object') throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: options are required.`);
  checkKnownKeys(`${where}: options`, options, BUILD_ALL_KEYS, (m) => new VqlCacheStoreError('UNKNOWN_OPTION', m));
  checkTable(where, options.table);
  const bounds = resolveTimeBounds(where, options.timeBounds);
  const workers = options.workers ?? Math.min(2, availableParallelism());
  if (!Number.isInteger(workers) || workers < 1) throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: options.workers must be a positive integer, got ${workers}.`);
  const chunk = options.chunkUsers ?? 32;
  if (!Number.isInteger(chunk) || chunk < 1) throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: options.chunkUsers must be a positive integer, got ${chunk}.`);
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const range = options.users ?? { from: 1, to: numUsers(options.table) + 1 };
  if (range == null || !Number.isInteger(range.from) || !Number.isInteger(range.to) || range.from < 1 || range.to < range.from) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: options.users must be { from, to } with integers 1 ≤ from ≤ to, got ${JSON.stringify(range)}.`);
  }
  const keyOf = options.userKey ?? ((u: number) => String(u));
  const { table, store } = options;
  const init: WorkerInit = {
    modelDir: options.modelDir,
    table,
    ignoreHistoryWindow: options.ignoreHistoryWindow ?? false,
    // Functions do not cross into workers: the clock is read once here.
    timeBounds: { earliest: bounds.earliest, maxFutureSkew: bounds.maxFutureSkew, now: bounds.now() },
  };
  const start = performance.now();
  const pools = await Promise.all(Array.from({ length: workers }, () => startWorker(init)));
  try {
    const fingerprint = pools[0]!.fingerprint;
    // Resume: a user counts as built only if its whole blob decodes (checksum, layout, ids) and
    // carries this fingerprint; a damaged blob is reported and rebuilt, never trusted by its header.
    const corrupt: CorruptEntry[] = [];
    const listed = new Set<string>();
    for await (const entry of store.scan({ fingerprint, onCorrupt: (c) => corrupt.push(c) })) listed.add(entry.user);
    const verified = async (key: string): Promise<boolean> => {
      if (!listed.has(key)) return false;
      const blob = await store.getBlob(key);
      if (blob === undefined) return false;
      try {
        const cache = decodeCache(blob, `${store.kind} store, user ${JSON.stringify(key)}`);
        if (cache.fingerprint !== fingerprint) return false;
        // A cache written before times were checked may hold an impossible newest event: rebuild it.
        if (cache.eventCount > 0) checkTimes(`${store.kind} store, user ${JSON.stringify(key)}`, [cache.lastEventTime], bounds, () => "the cache's newest event", 'rebuilding it');
        return true;
      } catch (error) {
        if (!(error instanceof VqlCacheStoreError)) throw error;
        corrupt.push({ user: key, reason: error.message });
        return false;
      }
    };
    const todo: number[] = [];
    let skipped = 0;
    let empty = 0;
    for (let u = range.from; u < Math.min(range.to, numUsers(table) + 1); u++) {
      if (table.userOffsets[u + 1]! === table.userOffsets[u]!) empty++;
      else if (await verified(keyOf(u))) skipped++;
      else if (todo.length < limit) todo.push(u);
    }
    const failed: BuildReport['failed'] = [];
    let failedEvents = 0;
    const totalEvents = todo.reduce((s, u) => s + table.userOffsets[u + 1]! - table.userOffsets[u]!, 0);
    const bar =
      (options.progress ?? process.stderr.isTTY === true)
        ? new cliProgress.SingleBar({ format: 'caches {bar} {value}/{total} users | {rate} behaviours/s | eta {eta}s', stream: process.stderr }, cliProgress.Presets.shades_classic)
        : null;
    bar?.start(todo.length, 0, { rate: 0 });
    let built = 0;
    let events = 0;
    let bytes = 0;
    let next = 0;
    const run = async (pool: Pool): Promise<void> => {
      while (next < todo.length) {
        const users = todo.slice(next, next + chunk);
        next += users.length;
        const reply = await request(pool, users);
        for (const f of reply.failed) {
          failed.push({ user: keyOf(f.user), reason: f.reason });
          failedEvents += f.events;
        }
        for (const r of reply.results) {
          await store.put(keyOf(r.user), decodeCache(r.blob, `worker result for user ${r.user}`));
          built++;
          events += r.events;
          bytes += r.blob.length;
        }
        bar?.update(built, { rate: Math.round(events / ((performance.now() - start) / 1000)) });
      }
    };
    await Promise.all(pools.map(run));
    bar?.stop();
    const seconds = (performance.now() - start) / 1000;
    if (events + failedEvents !== totalEvents) throw new VqlCacheStoreError('INTERNAL', `${where}: folded ${events} behaviours (+${failedEvents} of failed users), expected ${totalEvents}.`);
    return { fingerprint, built, skipped, empty, events, seconds, behavioursPerSecond: events / seconds, bytes, corrupt, failed };
  } finally {
    await Promise.all(pools.map((p) => p.worker.terminate()));
  }
}
