import { checkKnownKeys } from '@vql/runtime';
import { VqlCacheStoreError } from './errors.js';
import { headOffsets, totalHeads } from './layout.js';
import type { CacheLayout } from './layout.js';
import type { CacheKernel, UserCache } from './user-cache.js';

/** Queries of N candidates, already projected by the model (q^h = W_Q^h e_q). */
export interface CachedQueries {
  readonly count: number; // N
  /** q^h per candidate, heads in group-by-group order: `(c*H + h)*d_h + k`. */
  readonly queries: Float32Array; // [N*H*d_h]
  /** Request time per candidate (one number = the same for all), in the kernel's time unit. */
  readonly times: Float64Array | number;
}

export interface CachedAttentionOptions {
  /** Multiplies q·c; default 1/√d_h (the model's logit scale). */
  logitScale?: number;
}

/**
 * Per-request collapse of the cache at one query time: n[j] = Σ_f φ_f N[j,f] and
 * A[j,h,·] = Σ_f φ_f S[j,h,f,·], plus the codebook rows of the occurring codes.
 */
interface Collapsed {
  n: Float64Array; // [m]
  a: Float64Array; // [m*H_g*d_h]
  c: Float32Array; // [m*d_h]
}

function collapse(cache: UserCache, phi: Float64Array, codebooks: readonly Float32Array[]): Collapsed[] {
  const F = cache.layout.kernelRank;
  const dh = cache.layout.headDim;
  return cache.groups.map((group, g) => {
    const m = group.size;
    const Hg = group.heads;
    const n = new Float64Array(m);
    const a = new Float64Array(m * Hg * dh);
    const c = new Float32Array(m * dh);
    const book = codebooks[g]!;
    for (let j = 0; j < m; j++) {
      let acc = 0;
      for (let f = 0; f < F; f++) acc += phi[f]! * group.n[j * F + f]!;
      n[j] = acc;
      for (let h = 0; h < Hg; h++) {
        const aOff = (j * Hg + h) * dh;
        for (let f = 0; f < F; f++) {
          const p = phi[f]!;
          const sOff = j * group.slotWidth + (h * F + f) * dh;
          for (let k = 0; k < dh; k++) a[aOff + k]! += p * group.s[sOff + k]!;
        }
      }
      c.set(book.subarray(group.codes[j]! * dh, (group.codes[j]! + 1) * dh), j * dh);
    }
    return { n, a, c };
  });
}

/**
 * VQL attention from the cache alone (DESIGN §1): per candidate and head
 * o^h = Σ_j e^{u_j} A[j,h] / Σ_j e^{u_j} n[j], u_j = scale·q^h·c_{g,j} − max. Plain typed-array
 * loops, O(N·H·m·d_h + H·m·F·d_h) for m occurring codes: no tfjs op, nothing grows with L.
 * A user with an empty cache (or one whose weights underflowed to 0) gets zeros, like the model.
 * Writes [N*H*d_h] into `out` (allocated when omitted) and returns it.
 */
export function cachedAttention(
  cache: UserCache,
  codebooks: readonly Float32Array[],
  kernel: CacheKernel,
  input: CachedQueries,
  options: CachedAttentionOptions = {},
  out?: Float32Array,
): Float32Array {
  const where = 'cachedAttention';
  checkKnownKeys(`${where}: options`, options, ['logitScale'], (m) => new VqlCacheStoreError('UNKNOWN_OPTION', m));
  const layout: CacheLayout = cache.layout;
  const H = totalHeads(layout);
  const dh = layout.headDim;
  const N = input.count;
  if (!Number.isInteger(N) || N < 0) throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: count must be a non-negative integer, got ${N}.`);
  if (input.queries.length !== N * H * dh) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: queries must have length count·H·d_h = ${N * H * dh}, got ${input.queries.length}.`);
  }
  if (codebooks.length !== layout.headsPerGroup.length) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: expected ${layout.headsPerGroup.length} codebooks, got ${codebooks.length}.`);
  }
  codebooks.forEach((b, g) => {
    if (b.length !== layout.codebookSizes[g]! * dh) {
      throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: codebooks[${g}] must have K_g·d_h = ${layout.codebookSizes[g]! * dh} values, got ${b.length}.`);
    }
  });
  for (let i = 0; i < input.queries.length; i++) {
    if (!Number.isFinite(input.queries[i]!)) {
      throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: queries[${i}] (candidate ${Math.floor(i / (H * dh))}) is not finite.`);
    }
  }
  const times = input.times;
  if (typeof times !== 'number' && times.length !== N) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: times must be one number or have length ${N}, got ${times.length}.`);
  }
  const result = out ?? new Float32Array(N * H * dh);
  if (result.length !== N * H * dh) throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: out must have length ${N * H * dh}.`);
  result.fill(0);
  if (N === 0 || cache.eventCount === 0) return result;
  const scale = options.logitScale ?? 1 / Math.sqrt(dh);
  const offsets = headOffsets(layout);
  // Candidates usually share the request time: collapse once per distinct time.
  const collapsedAt = new Map<number, Collapsed[]>();
  const collapsedFor = (tq: number): Collapsed[] => {
    let c = collapsedAt.get(tq);
    if (c === undefined) {
      if (!Number.isFinite(tq)) throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: request time ${tq} is not finite.`);
      if (tq < cache.lastEventTime) {
        throw new VqlCacheStoreError(
          'QUERY_BEFORE_HISTORY',
          `${where}: request time ${tq} is before the newest cached event (${cache.lastEventTime}); a cache cannot drop later events.`,
        );
      }
      // Log-space factors with the common maximum taken out: the attention ratio is unchanged, and
      // a request decades after the anchor no longer underflows every factor to 0.
      c = collapse(cache, kernel.scaledQueryFactors(tq, cache.anchor).factors, codebooks);
      collapsedAt.set(tq, c);
    }
    return c;
  };
  const maxM = Math.max(...cache.groups.map((g) => g.size));
  const u = new Float64Array(maxM);
  const acc = new Float64Array(dh);
  for (let cand = 0; cand < N; cand++) {
    const parts = collapsedFor(typeof times === 'number' ? times : times[cand]!);
    for (let g = 0; g < parts.length; g++) {
      const { n, a, c } = parts[g]!;
      const m = n.length;
      const Hg = layout.headsPerGroup[g]!;
      for (let h = 0; h < Hg; h++) {
        const head = offsets[g]! + h;
        const qOff = (cand * H + head) * dh;
        let max = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < m; j++) {
          let dot = 0;
          for (let k = 0; k < dh; k++) dot += input.queries[qOff + k]! * c[j * dh + k]!;
          u[j] = dot * scale;
          if (u[j]! > max) max = u[j]!;
        }
        let den = 0;
        acc.fill(0);
        for (let j = 0; j < m; j++) {
          const e = Math.exp(u[j]! - max);
          den += e * n[j]!;
          const aOff = (j * Hg + h) * dh;
          for (let k = 0; k < dh; k++) acc[k]! += e * a[aOff + k]!;
        }
        if (den > 0 && Number.isFinite(den)) {
          for (let k = 0; k < dh; k++) result[qOff + k] = acc[k]! / den;
        }
      }
    }
  }
  return result;
}
