import { CachedScorer, CtrCacheModel } from '@vql/cache-store';
import type { CacheStore } from '@vql/cache-store';
import { importModel } from '@vql/model';
import { openModelStore } from './stores.js';
import type { StoreSpec } from './stores.js';

/**
 * One model version as served: the exported model's cache view, its scorer and the store of
 * its own caches (namespaced by its fingerprint, so no cache of another model is ever read
 * with these weights — and the scorer checks every blob's fingerprint besides).
 * Reference-counted: a flip closes the old version only after its last request released it.
 */
export class ServedModel {
  private refs = 0;
  private retired = false;
  private closed: Promise<void> | undefined;

  private constructor(
    readonly version: string,
    readonly dir: string,
    readonly cacheModel: CtrCacheModel,
    readonly scorer: CachedScorer,
    readonly store: CacheStore,
  ) {}

  /** Loads `dir` (written by `exportModel`) and opens its cache namespace under `spec`. */
  static async load(dir: string, spec: StoreSpec, options: { commandTimeoutMs?: number } = {}): Promise<ServedModel> {
    const { model, fingerprint } = await importModel(dir);
    let cacheModel: CtrCacheModel;
    try {
      cacheModel = new CtrCacheModel(model);
    } finally {
      model.dispose(); // CtrCacheModel holds its own snapshot
    }
    try {
      const store = await openModelStore(spec, fingerprint, options);
      return new ServedModel(fingerprint, dir, cacheModel, new CachedScorer(cacheModel), store);
    } catch (error) {
      cacheModel.dispose();
      throw error;
    }
  }

  acquire(): this {
    this.refs++;
    return this;
  }

  release(): void {
    this.refs--;
    if (this.retired && this.refs === 0) void this.close();
  }

  /** No new requests; closes once the in-flight ones released it. */
  retire(): Promise<void> {
    this.retired = true;
    return this.refs === 0 ? this.close() : Promise.resolve();
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      try {
        await this.store.close();
      } finally {
        this.cacheModel.dispose();
      }
    })();
    return this.closed;
  }
}
