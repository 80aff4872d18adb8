import { join } from 'node:path';
import { LmdbCacheStore, MemoryCacheStore, RedisCacheStore } from '@vql/cache-store';
import type { CacheStore } from '@vql/cache-store';
import { VqlServingError } from './errors.js';

/** Where the caches live. Every model version gets its own namespace (caches are keyed by model fingerprint). */
export type StoreSpec =
  | { readonly kind: 'lmdb'; readonly path: string }
  | { readonly kind: 'redis'; readonly url: string }
  | { readonly kind: 'redis-cluster'; readonly nodes: readonly string[] }
  | { readonly kind: 'memory' };

/**
 * `lmdb:<dir>` (the embedded default), `redis://host:port[/db]` / `rediss://…`,
 * `redis-cluster://host:port,host:port,…` (some nodes of a Redis Cluster; `rediss-cluster://` for
 * TLS), or `memory` (tests: nothing persists).
 */
export function parseStoreSpec(text: string): StoreSpec {
  if (text === 'memory') return { kind: 'memory' };
  const cluster = /^(rediss?)-cluster:\/\/(.+)$/.exec(text);
  if (cluster !== null) return { kind: 'redis-cluster', nodes: cluster[2]!.split(',').map((n) => `${cluster[1]}://${n}`) };
  if (text.startsWith('redis://') || text.startsWith('rediss://')) return { kind: 'redis', url: text };
  if (text.startsWith('lmdb:') && text.length > 'lmdb:'.length) return { kind: 'lmdb', path: text.slice('lmdb:'.length) };
  throw new VqlServingError('INVALID_CONFIG', `--store ${JSON.stringify(text)}: expected lmdb:<dir>, redis://host:port[/db] or memory.`);
}

/** The namespace of one model version: the fingerprint's first 16 hex digits. */
export function modelNamespace(fingerprint: string): string {
  return fingerprint.slice(0, 16);
}

export function describeStore(spec: StoreSpec): string {
  const hide = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@');
  if (spec.kind === 'redis-cluster') return `redis-cluster: ${spec.nodes.map(hide).join(',')}`;
  return spec.kind === 'lmdb' ? `lmdb:${spec.path}` : spec.kind === 'redis' ? hide(spec.url) : 'memory';
}

/** Opens the cache store of model `fingerprint` under `spec` (LMDB: a sub-directory; Redis: a key prefix). */
export async function openModelStore(spec: StoreSpec, fingerprint: string, options: { commandTimeoutMs?: number } = {}): Promise<CacheStore> {
  const ns = modelNamespace(fingerprint);
  if (spec.kind === 'memory') return new MemoryCacheStore();
  if (spec.kind === 'lmdb') return new LmdbCacheStore({ path: join(spec.path, ns) });
  const timeout = options.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: options.commandTimeoutMs };
  if (spec.kind === 'redis-cluster') return RedisCacheStore.connect({ nodes: [...spec.nodes], keyPrefix: `vql:${ns}:`, ...timeout });
  return RedisCacheStore.connect({ url: spec.url, keyPrefix: `vql:${ns}:`, ...timeout });
}
