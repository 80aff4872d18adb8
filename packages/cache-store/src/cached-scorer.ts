import { checkKnownKeys } from '@vql/runtime';
import type { CacheStore } from './cache-store.js';
import { cachedAttention } from './cached-attention.js';
import type { Candidates, CacheModel, UserHistory } from './cache-model.js';
import { VqlCacheStoreError } from './errors.js';
import { totalHeads } from './layout.js';
import { checkTimes, resolveTimeBounds } from './time-bounds.js';
import type { ResolvedTimeBounds } from './time-bounds.js';
import { UserCache, appendEncoded, buildFromEncoded, checkAppendOptions, checkCacheFor } from './user-cache.js';
import type { AppendOptions, AppendResult, BuildOptions } from './user-cache.js';

/** The model's time bounds unless the options name their own. */
function withModelBounds<T extends { timeBounds?: unknown }>(model: CacheModel, options: T): T {
  return options.timeBounds === undefined && model.timeBounds !== undefined ? { ...options, timeBounds: model.timeBounds } : options;
}

/** Builds a user's cache from raw behaviours (DESIGN §1): t0 defaults to the newest event. */
export function buildUserCache(model: CacheModel, history: UserHistory, options: BuildOptions = {}): UserCache {
  checkKnownKeys('buildUserCache: options', options, ['anchor', 'timeBounds', 'idWindow'], (m) => new VqlCacheStoreError('UNKNOWN_OPTION', m));
  return buildFromEncoded(model.fingerprint, model.layout, model.encodeEvents(history), model.kernel, withModelBounds(model, options));
}

/**
 * Adds new behaviours in place, O(F·d) per event and group; newer-than-anchor events re-anchor
 * unless refused; events whose id the cache has applied are skipped and reported.
 */
export function appendEvents(cache: UserCache, events: UserHistory, model: CacheModel, options: AppendOptions = {}): AppendResult {
  const opts = withModelBounds(model, options);
  checkAppendOptions('appendEvents', opts); // before the model runs: a misspelt option is an error
  checkCacheFor('appendEvents', cache, model.fingerprint, model.layout);
  return appendEncoded(cache, model.encodeEvents(events), model.kernel, opts);
}

/**
 * Scores candidates for one user from the cache alone: queries and tower on typed arrays,
 * attention over the occurring codes only — cost independent of the history length, no tfjs op.
 * A cache of another model (fingerprint, format version or layout) is refused; no cache
 * (`undefined`) scores as an empty history.
 */
export class CachedScorer {
  private readonly empty: UserCache;
  private readonly bounds: ResolvedTimeBounds;

  constructor(readonly model: CacheModel) {
    if (model == null || typeof model.encodeCandidates !== 'function') {
      throw new VqlCacheStoreError('INVALID_ARGUMENT', 'new CachedScorer: model must be a CacheModel (e.g. new CtrCacheModel(ctrModel)).');
    }
    this.empty = new UserCache(model.fingerprint, model.layout, 0);
    this.bounds = resolveTimeBounds('new CachedScorer', model.timeBounds);
  }

  /** Interest vectors [N*H*d_h] (the attention output the model feeds its tower). */
  interest(cache: UserCache | undefined, candidates: Candidates): Float32Array {
    return this.run(cache, candidates).interest;
  }

  /** Click probabilities [N]. */
  score(cache: UserCache | undefined, candidates: Candidates): Float32Array {
    const { interest, target, count } = this.run(cache, candidates);
    return this.model.head(interest, target, count);
  }

  /** Reads the user's cache from `store` (absent = empty history) and scores. */
  async scoreUser(store: CacheStore, user: string, candidates: Candidates): Promise<Float32Array> {
    return this.score(await store.get(user), candidates);
  }

  private run(cache: UserCache | undefined, candidates: Candidates): { interest: Float32Array; target: Float32Array; count: number } {
    const c = cache ?? this.empty;
    checkCacheFor('CachedScorer', c, this.model.fingerprint, this.model.layout);
    // A cache written before times were checked may hold an impossible newest event, which would
    // refuse every request as "before the history": say so, and how to get out.
    if (c.eventCount > 0) {
      checkTimes('CachedScorer', [c.lastEventTime], this.bounds, () => "the cache's newest event", 'nothing was scored; the cache was written before event times were checked: rebuild it (buildAllCaches does)');
    }
    const enc = this.model.encodeCandidates(candidates);
    const out = new Float32Array(enc.count * totalHeads(this.model.layout) * this.model.layout.headDim);
    cachedAttention(c, this.model.codebooks, this.model.kernel, { count: enc.count, queries: enc.queries, times: enc.times }, { logitScale: this.model.logitScale }, out);
    return { interest: out, target: enc.target, count: enc.count };
  }
}
