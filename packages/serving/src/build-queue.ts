import { resolve } from 'node:path';
import { loadEventTable } from '@vql/data';
import type { EventTable } from '@vql/data';
import { Queue, QueueEvents, Worker } from 'bullmq';
import type { ConnectionOptions, Job } from 'bullmq';
import { buildModelCaches, markComplete } from './build.js';
import { VqlServingError } from './errors.js';
import { parseStoreSpec } from './stores.js';

/** The BullMQ queue of cache-build shards. */
export const BUILD_QUEUE = 'vql-cache-build';

/** One shard of a model's cache build: dense users `from ≤ u < to` of the event table. */
export interface BuildShardJob {
  modelDir: string;
  eventsDir: string;
  /** `--store` spec of the caches (every host must reach it: Redis, or an LMDB path on shared disk). */
  store: string;
  fingerprint: string;
  from: number;
  to: number;
}

export interface BuildShardResult {
  built: number;
  skipped: number;
  events: number;
}

/** BullMQ connection options from `redis://[user:password@]host:port[/db]`. */
export function queueConnection(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new VqlServingError('INVALID_CONFIG', `--queue ${JSON.stringify(url)} is not a redis:// URL.`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new VqlServingError('INVALID_CONFIG', `--queue ${JSON.stringify(url)}: expected redis:// or rediss://.`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    host: u.hostname,
    port: u.port === '' ? 6379 : Number(u.port),
    db,
    ...(u.username === '' ? {} : { username: decodeURIComponent(u.username) }),
    ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

export interface EnqueueBuildOptions {
  queueUrl: string;
  modelDir: string;
  eventsDir: string;
  store: string;
  fingerprint: string;
  /** Number of dense users in the table (`userOffsets.length − 2`). */
  users: number;
  /** Users per job. Default 1000. */
  shardUsers?: number;
}

/**
 * Spreads a model's cache build over every host running `vql-serve build-worker` on the same
 * Redis: one BullMQ job per shard of users (retried on failure; a shard is resumable, built users
 * are skipped), waits for all of them, then records the build as complete — the flip waits for that.
 */
export async function enqueueBuild(options: EnqueueBuildOptions): Promise<BuildShardResult> {
  const connection = queueConnection(options.queueUrl);
  const queue = new Queue<BuildShardJob, BuildShardResult>(BUILD_QUEUE, { connection });
  const events = new QueueEvents(BUILD_QUEUE, { connection });
  try {
    await events.waitUntilReady();
    const shard = options.shardUsers ?? 1000;
    const jobs: Array<Job<BuildShardJob, BuildShardResult>> = [];
    for (let from = 1; from <= options.users; from += shard) {
      const data: BuildShardJob = { modelDir: resolve(options.modelDir), eventsDir: resolve(options.eventsDir), store: options.store, fingerprint: options.fingerprint, from, to: Math.min(from + shard, options.users + 1) };
      jobs.push(await queue.add(`${options.fingerprint.slice(0, 16)}:${from}`, data, { attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: 1000, removeOnFail: 1000 }));
    }
    const results = await Promise.all(jobs.map((j) => j.waitUntilFinished(events)));
    const total = results.reduce((a, r) => ({ built: a.built + r.built, skipped: a.skipped + r.skipped, events: a.events + r.events }), { built: 0, skipped: 0, events: 0 });
    await markComplete(parseStoreSpec(options.store), options.fingerprint, { ...total, shards: jobs.length });
    return total;
  } finally {
    await events.close();
    await queue.close();
  }
}

/**
 * A BullMQ worker that builds shards with worker threads (`buildAllCaches`); run one per host.
 * Event tables are loaded once per directory.
 */
export function startBuildWorker(options: { queueUrl: string; threads?: number; concurrency?: number }): Worker<BuildShardJob, BuildShardResult> {
  const tables = new Map<string, EventTable>();
  return new Worker<BuildShardJob, BuildShardResult>(
    BUILD_QUEUE,
    async (job) => {
      const d = job.data;
      let table = tables.get(d.eventsDir);
      if (table === undefined) {
        table = loadEventTable(d.eventsDir);
        tables.set(d.eventsDir, table);
      }
      const r = await buildModelCaches({ modelDir: d.modelDir, table, spec: parseStoreSpec(d.store), fingerprint: d.fingerprint, workers: options.threads ?? 2, users: { from: d.from, to: d.to } });
      return { built: r.built, skipped: r.skipped, events: r.events };
    },
    { connection: queueConnection(options.queueUrl), concurrency: options.concurrency ?? 1 },
  );
}
