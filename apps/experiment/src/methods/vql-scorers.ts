import { CachedScorer, CtrCacheModel, buildUserCache, decodeCache, encodeCache, exactAttention } from '@vql/cache-store';
import type { ExactAttentionState, UserHistory } from '@vql/cache-store';
import type { CtrModel, VqlAttention } from '@vql/model';
import { tf } from '@vql/runtime';
import { embedInChunks } from './embed-history.js';
import type { OnlineScorer } from './method-entry.js';

/**
 * VQL's online path (decode the user's cache blob, score from it) and full attention over the
 * same model's exact keys and values, for one user: both read one VQL model, so they are built
 * together and each table entry keeps its own.
 */
export function vqlScorers(model: CtrModel, h: UserHistory, now: number): { vql: OnlineScorer; full: OnlineScorer } {
  const attention = model.interest as VqlAttention;
  const { wk, inputDim } = attention.projectionsHost();
  const fused = embedInChunks(model, h.items);
  const L = h.items.length;
  const kw = wk.length / inputDim; // G·d_h
  const keys = new Float32Array(L * kw);
  for (let i = 0; i < L; i++) {
    for (let c = 0; c < kw; c++) {
      let s = 0;
      for (let k = 0; k < inputDim; k++) s += fused[i * inputDim + k]! * wk[k * kw + c]!;
      keys[i * kw + c] = s;
    }
  }
  // Seed the codebooks from these keys (k-means++, as training would on its first batch), so the
  // cache holds as many distinct codes as a trained model's — VQL's request cost grows with them.
  const groups = (attention.config['codebookSizes'] as number[]).length;
  const sample = Math.min(L, 20_000);
  tf.tidy(() => attention.quantizer.initialize(tf.tensor3d(keys.subarray(0, sample * kw), [sample, groups, kw / groups])));
  const cm = new CtrCacheModel(model);
  const cached = new CachedScorer(cm);
  const blob = encodeCache(buildUserCache(cm, h));
  const vql: OnlineScorer = {
    stateBytes: blob.byteLength,
    // A request decodes the user's blob (as fetched from a store) and scores from it.
    request: (items) => cached.interest(decodeCache(blob), { items, time: now }),
    dispose: () => cm.dispose(), // the cache model's weight snapshot (idempotent)
  };
  // Full attention over the same model's exact keys and values (projection not timed: its best case).
  const kernel = attention.temporalKernel();
  const values = cm.encodeEvents(h).values;
  const full: OnlineScorer = {
    stateBytes: keys.byteLength + values.byteLength + h.times.byteLength,
    request: (items) => {
      const enc = cm.encodeCandidates({ items, time: now });
      const logBias = Float64Array.from(h.times, (t) => (kernel === null ? 0 : Math.log(kernel.evaluate(now - t))));
      const state: ExactAttentionState = { count: L, keys, values, logBias };
      exactAttention(cm.layout, state, enc.queries, enc.count, cm.logitScale);
    },
    dispose: () => cm.dispose(), // the cache model's weight snapshot (idempotent)
  };
  return { vql, full };
}

/** The VQL entry's scorer. */
export function vqlScorer(model: CtrModel, h: UserHistory, now: number): OnlineScorer {
  return vqlScorers(model, h, now).vql;
}

/** The full-attention entry's scorer (over a VQL model: see `vqlScorers`). */
export function fullAttentionScorer(model: CtrModel, h: UserHistory, now: number): OnlineScorer {
  return vqlScorers(model, h, now).full;
}
