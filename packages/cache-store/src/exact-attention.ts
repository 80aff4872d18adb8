import { softmaxAttentionHead } from '@vql/runtime';
import { VqlCacheStoreError } from './errors.js';
import { headOffsets, totalHeads } from './layout.js';
import type { CacheLayout } from './layout.js';

/** One user's behaviours as exact (unquantized) attention needs them online. */
export interface ExactAttentionState {
  readonly count: number; // L
  /** Exact keys per group: `(i*G + g)*d_h + k`. */
  readonly keys: Float32Array; // [L*G*d_h]
  /** Values per head, group-by-group order: `(i*H + h)*d_h + k`. */
  readonly values: Float32Array; // [L*H*d_h]
  /** log κ(tq − t_i) + b_i per behaviour, for the request time (the part that depends on it). */
  readonly logBias: Float64Array; // [L]
}

/**
 * Exact target attention over all L behaviours on typed arrays: per candidate and head, the
 * shared serving head (`softmaxAttentionHead`: L dot products, a softmax with the per-behaviour
 * log-bias, an L·d_h weighted sum in float64). The online cost of full attention in its cheapest form — keys and values
 * already projected — and the reference the cached VQL path is measured against: it is O(L) per
 * candidate where `cachedAttention` is O(occurring codes).
 */
export function exactAttention(
  layout: CacheLayout,
  state: ExactAttentionState,
  queries: Float32Array,
  count: number,
  logitScale = 1 / Math.sqrt(layout.headDim),
): Float32Array {
  const G = layout.headsPerGroup.length;
  const H = totalHeads(layout);
  const dh = layout.headDim;
  const L = state.count;
  if (state.keys.length !== L * G * dh || state.values.length !== L * H * dh || state.logBias.length !== L) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `exactAttention: state arrays do not match L = ${L}, G = ${G}, H = ${H}, d_h = ${dh}.`);
  }
  if (queries.length !== count * H * dh) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `exactAttention: queries must have length count·H·d_h = ${count * H * dh}, got ${queries.length}.`);
  }
  const out = new Float32Array(count * H * dh);
  if (L === 0) return out;
  const offsets = headOffsets(layout);
  const scratch = new Float64Array(L + dh);
  for (let c = 0; c < count; c++) {
    for (let g = 0; g < G; g++) {
      for (let hg = 0; hg < layout.headsPerGroup[g]!; hg++) {
        const head = offsets[g]! + hg;
        const qOff = (c * H + head) * dh;
        softmaxAttentionHead(queries, qOff, state.keys, G * dh, g * dh, state.values, H * dh, head * dh, state.logBias, null, L, dh, logitScale, out, qOff, scratch);
      }
    }
  }
  return out;
}
