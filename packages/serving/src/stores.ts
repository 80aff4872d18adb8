import { join } from 'node:path';
import { LmdbCacheStore, MemoryCacheStore, RedisCacheStore } from '@vql/cache-store';
import type { CacheStore } from '@vql/cache-store';
import { VqlServingError } from './errors.js';

/** Where the caches live. Every model version gets its own namespace (caches are keyed by model fingerprint). */
export type StoreSpec =
  | { readonly kind: 'lmdb'; readonly path: string }
  | { readonly kind: 'redis'; readonly url: string }
  | { readonly kind: 'memory' };

/**
 * `lmdb:<dir>` (the embedded default), `redis://host:port[/db]` / `rediss://…`, or `memory`
 * (tests: nothing persists).
 */
export function parseStoreSpec(text: string): StoreSpec {
  if (text === 'memory') return { kind: 'memory' };
  if (text.startsWith('redis://') || text.startsWith('rediss://')) return { kind: 'redis', url: text };
  if (text.startsWith('lmdb:') && text.length > 'lmdb:'.length) return { kind: 'lmdb', path: text.slice('lmdb:'.length) };
  throw new VqlServingError('INVALID_CONFIG', `--store ${JSON.stringify(text)}: expected lmdb:<dir>, redis://host:port[/db] or memory.`);
}

/** The namespace of one model version: the fingerprint's first 16 hex digits. */
export function modelNamespace(fingerprint: string): string {
  return fingerprint.slice(0, 16);
}

export function describeStore(spec: StoreSpec): string {
  return spec.kind === 'lmdb' ? `lmdb:${spec.path}` : spec.kind === 'redis' ? spec.url.replace(/\/\/[^@/]*@/, '//***@') : 'memory';
}

/** Opens the cache store of model `fingerprint` under `spec` (LMDB: a sub-directory; Redis: a key prefix). */
export async function openModelStore(spec: StoreSpec, fingerprint: string, options: { commandTimeoutMs?: number } = {}): Promise<CacheStore> {
  const ns = modelNamespace(fingerprint);
  if (spec.kind === 'memory') return new MemoryCacheStore();
  if (spec.kind === 'lmdb') return new LmdbCacheStore({ path: join(spec.path, ns) });
  return RedisCacheStore.connect({ url: spec.url, keyPrefix: `vql:${ns}:`, ...(options.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: options.commandTimeoutMs }) });
}
