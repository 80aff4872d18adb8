import { checkKnownKeys, expNonPositive, matMulT } from '@vql/runtime';
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
 * Per-request collapse of one group of the cache at one query time, laid out for two matmuls:
 * `codes` the occurring code rows pre-multiplied by the logit scale `[m, d_h]` (u = q·codesᵀ),
 * and per head `values[h]` `[(d_h+1), m]`: rows k < d_h hold A[j,h,k] = Σ_f φ_f S[j,h,f,k], row d_h
 * holds n[j] = Σ_f φ_f N[j,f], so one pass e·valuesᵀ yields numerator and denominator together.
 */
interface CollapsedGroup {
  m: number;
  codes: Float32Array; // [m*d_h]
  values: Float32Array[]; // per head [(d_h+1)*m]
}

function collapse(cache: UserCache, phi: Float64Array, codebooks: readonly Float32Array[], scale: number): CollapsedGroup[] {
  const F = cache.layout.kernelRank;
  const dh = cache.layout.headDim;
  return cache.groups.map((group, g) => {
    const m = group.size;
    const Hg = group.heads;
    const codes = new Float32Array(m * dh);
    const book = codebooks[g]!;
    for (let j = 0; j < m; j++) {
      const src = group.codes[j]! * dh;
      for (let k = 0; k < dh; k++) codes[j * dh + k] = book[src + k]! * scale;
    }
    const values: Float32Array[] = [];
    for (let h = 0; h < Hg; h++) {
      const v = new Float32Array((dh + 1) * m);
      for (let j = 0; j < m; j++) {
        let n = 0;
        for (let f = 0; f < F; f++) n += phi[f]! * group.n[j * F + f]!;
        v[dh * m + j] = n;
        const base = j * group.slotWidth + h * F * dh;
        for (let k = 0; k < dh; k++) {
          let a = 0;
          for (let f = 0; f < F; f++) a += phi[f]! * group.s[base + f * dh + k]!;
          v[k * m + j] = a;
        }
      }
      values.push(v);
    }
    return { m, codes, values };
  });
}

/** Scratch buffers reused across calls (the serving path allocates nothing per candidate). */
const scratch = { q: new Float32Array(0), e: new Float32Array(0), o: new Float32Array(0) };
function buffer(name: keyof typeof scratch, size: number): Float32Array {
  if (scratch[name].length < size) scratch[name] = new Float32Array(size);
  return scratch[name];
}

/**
 * Attention of `rows` candidates (all at one request time) for head `head` of group `g`:
 * U = Q·codesᵀ (one matmul), E = exp(U − row max), [numerator | denominator] = E·valuesᵀ (one matmul).
 */
function attendHead(part: CollapsedGroup, head: number, hInGroup: number, H: number, dh: number, queries: Float32Array, cands: readonly number[] | null, rows: number, result: Float32Array): void {
  const m = part.m;
  if (m === 0) return;
  const q = buffer('q', rows * dh);
  for (let r = 0; r < rows; r++) {
    const c = cands === null ? r : cands[r]!;
    q.set(queries.subarray((c * H + head) * dh, (c * H + head + 1) * dh), r * dh);
  }
  const e = matMulT(q, rows, dh, part.codes, m, null, false, buffer('e', rows * m));
  for (let r = 0; r < rows; r++) {
    const off = r * m;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < m; j++) if (e[off + j]! > max) max = e[off + j]!;
    for (let j = 0; j < m; j++) e[off + j] = expNonPositive(e[off + j]! - max);
  }
  const w = dh + 1;
  const o = matMulT(e, rows, m, part.values[hInGroup]!, w, null, false, buffer('o', rows * w));
  for (let r = 0; r < rows; r++) {
    const den = o[r * w + dh]!;
    if (!(den > 0) || !Number.isFinite(den)) continue;
    const c = cands === null ? r : cands[r]!;
    const outOff = (c * H + head) * dh;
    for (let k = 0; k < dh; k++) result[outOff + k] = o[r * w + k]! / den;
  }
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
  // Candidates usually share the request time: collapse once per distinct time, then attend
  // all candidates of that time together.
  const byTime = new Map<number, number[]>();
  if (typeof times !== 'number') {
    for (let c = 0; c < N; c++) {
      const list = byTime.get(times[c]!);
      if (list === undefined) byTime.set(times[c]!, [c]);
      else list.push(c);
    }
  }
  const groups: Array<[number, number[] | null]> = typeof times === 'number' ? [[times, null]] : [...byTime];
  for (const [tq, cands] of groups) {
    if (!Number.isFinite(tq)) throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: request time ${tq} is not finite.`);
    if (tq < cache.lastEventTime) {
      throw new VqlCacheStoreError(
        'QUERY_BEFORE_HISTORY',
        `${where}: request time ${tq} is before the newest cached event (${cache.lastEventTime}); a cache cannot drop later events.`,
      );
    }
    // Log-space factors with the common maximum taken out: the attention ratio is unchanged, and
    // a request decades after the anchor no longer underflows every factor to 0.
    const parts = collapse(cache, kernel.scaledQueryFactors(tq, cache.anchor).factors, codebooks, scale);
    const rows = cands === null ? N : cands.length;
    for (let g = 0; g < parts.length; g++) {
      for (let h = 0; h < layout.headsPerGroup[g]!; h++) attendHead(parts[g]!, offsets[g]! + h, h, H, dh, input.queries, cands, rows, result);
    }
  }
  return result;
}
