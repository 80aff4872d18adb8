import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAllCaches } from '@vql/cache-store';
import type { BuildReport } from '@vql/cache-store';
import type { EventTable } from '@vql/data';
import { Cluster, Redis } from 'ioredis';
import { modelNamespace, openModelStore } from './stores.js';
import type { StoreSpec } from './stores.js';

/** Store key of dense user u of an event table: its raw id, as the service is asked for it. */
export function tableUserKey(table: EventTable): (u: number) => string {
  return (u) => String(table.rawUserId[u]);
}

/** A short-lived client for the completion key (a cluster routes it to its slot). */
async function redisClient(spec: StoreSpec & { kind: 'redis' | 'redis-cluster' }): Promise<Redis | Cluster> {
  const client =
    spec.kind === 'redis'
      ? new Redis(spec.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
      : new Cluster(spec.nodes.map((n) => ({ host: new URL(n).hostname, port: Number(new URL(n).port || 6379) })), { lazyConnect: true });
  await client.connect();
  return client;
}

/** Where "the caches of model X are complete" is recorded: a file beside the LMDB namespace, a key in Redis. */
export async function markComplete(spec: StoreSpec, fingerprint: string, report: object): Promise<void> {
  const ns = modelNamespace(fingerprint);
  const body = JSON.stringify({ fingerprint, completedAt: new Date().toISOString(), ...report });
  if (spec.kind === 'lmdb') {
    mkdirSync(spec.path, { recursive: true });
    writeFileSync(join(spec.path, `${ns}.complete.json`), body);
  } else if (spec.kind === 'redis' || spec.kind === 'redis-cluster') {
    const redis = await redisClient(spec);
    try {
      await redis.set(`vql:${ns}:complete`, body);
    } finally {
      redis.disconnect();
    }
  }
}

/** True when a complete build of model `fingerprint` is recorded under `spec` (memory stores: never). */
export async function isComplete(spec: StoreSpec, fingerprint: string): Promise<boolean> {
  const ns = modelNamespace(fingerprint);
  if (spec.kind === 'lmdb') {
    const file = join(spec.path, `${ns}.complete.json`);
    return existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { fingerprint?: string }).fingerprint === fingerprint;
  }
  if (spec.kind === 'redis' || spec.kind === 'redis-cluster') {
    const redis = await redisClient(spec);
    try {
      const body = await redis.get(`vql:${ns}:complete`);
      return body !== null && (JSON.parse(body) as { fingerprint?: string }).fingerprint === fingerprint;
    } finally {
      redis.disconnect();
    }
  }
  return false;
}

export interface BuildModelCachesOptions {
  modelDir: string;
  table: EventTable;
  spec: StoreSpec;
  fingerprint: string;
  /** Worker threads. Default 2. */
  workers?: number;
  /** Only dense users from ≤ u < to (one queue job's shard). Default all, and the build is marked complete. */
  users?: { from: number; to: number };
  progress?: boolean;
}

/**
 * Builds the caches of one model version into its own namespace with worker threads (resumable:
 * users already built are skipped). A whole-table build is then recorded as complete, which is
 * what a flip waits for.
 */
export async function buildModelCaches(options: BuildModelCachesOptions): Promise<BuildReport> {
  const store = await openModelStore(options.spec, options.fingerprint);
  try {
    const report = await buildAllCaches({
      modelDir: options.modelDir,
      table: options.table,
      store,
      workers: options.workers ?? 2,
      userKey: tableUserKey(options.table),
      progress: options.progress ?? false,
      ...(options.users === undefined ? {} : { users: options.users }),
    });
    if (options.users === undefined) await markComplete(options.spec, options.fingerprint, { built: report.built, skipped: report.skipped, events: report.events });
    return report;
  } finally {
    await store.close();
  }
}
