// Test-only helpers (excluded from the build): a host exponential-mixture kernel, random
// encoded histories and the brute-force attention the cache must reproduce.
import { createRng } from '@vql/runtime';
import type { Rng } from '@vql/runtime';
import { headOffsets, totalHeads } from '../layout.js';
import type { CacheLayout } from '../layout.js';
import type { CacheKernel, EncodedEvents } from '../user-cache.js';

/** κ(Δ) = Σ_r β_r e^{−λ_r Δ} on plain numbers (the same factorisation as ExpDecayMixtureKernel). */
export function hostExpKernel(rates: number[], betas: number[]): CacheKernel & { evaluate(dt: number): number; logEvaluate(dt: number): number } {
  return {
    rank: rates.length,
    queryFactors: (tq, t0) => Float64Array.from(rates, (l, r) => betas[r]! * Math.exp(-l * (tq - t0))),
    scaledQueryFactors: (tq, t0) => {
      const logs = rates.map((l, r) => Math.log(betas[r]!) - l * (tq - t0));
      const logScale = Math.max(...logs);
      return { factors: Float64Array.from(logs, (x) => Math.exp(x - logScale)), logScale };
    },
    historyFactorsBatch: (times, t0) => {
      const out = new Float64Array(times.length * rates.length);
      times.forEach((t, i) => {
        if (t > t0) throw new Error(`time ${t} after anchor ${t0}`);
        rates.forEach((l, r) => (out[i * rates.length + r] = Math.exp(-l * (t0 - t))));
      });
      return out;
    },
    reanchorScale: (t0, t1) => Float64Array.from(rates, (l) => Math.exp(-l * (t1 - t0))),
    evaluate: (dt) => rates.reduce((s, l, r) => s + betas[r]! * Math.exp(-l * dt), 0),
    // log κ by log-sum-exp: finite for gaps where κ itself underflows.
    logEvaluate: (dt) => {
      const logs = rates.map((l, r) => Math.log(betas[r]!) - l * dt);
      const m = Math.max(...logs);
      return m + Math.log(logs.reduce((s, x) => s + Math.exp(x - m), 0));
    },
  };
}

export const LAYOUT: CacheLayout = { headsPerGroup: [2, 1, 1], codebookSizes: [4, 16, 64], headDim: 8, kernelRank: 3 };
export const KERNEL = hostExpKernel([1 / 3600, 1 / 86400, 1 / (30 * 86400)], [0.5, 0.3, 0.2]);

export function randomCodebooks(layout: CacheLayout, rng: Rng): Float32Array[] {
  return layout.codebookSizes.map((K) => Float32Array.from({ length: K * layout.headDim }, () => rng.normal()));
}

/** n random events between `start` and `start + span` seconds (unsorted). */
export function randomEvents(layout: CacheLayout, n: number, seed: number, start = 1.7e9, span = 90 * 86400): EncodedEvents {
  const rng = createRng(seed);
  const G = layout.headsPerGroup.length;
  const H = totalHeads(layout);
  return {
    count: n,
    times: Float64Array.from({ length: n }, () => start + Math.floor(rng.next() * span)),
    codes: Int32Array.from({ length: n * G }, (_, i) => Math.floor(rng.next() * layout.codebookSizes[i % G]!)),
    weights: Float64Array.from({ length: n }, () => Math.exp(0.5 * rng.normal())),
    values: Float32Array.from({ length: n * H * layout.headDim }, () => rng.normal()),
  };
}

export function sliceEvents(layout: CacheLayout, e: EncodedEvents, from: number, to: number): EncodedEvents {
  const G = layout.headsPerGroup.length;
  const w = totalHeads(layout) * layout.headDim;
  return {
    count: to - from,
    times: e.times.slice(from, to),
    codes: e.codes.slice(from * G, to * G),
    weights: e.weights === null ? null : e.weights.slice(from, to),
    values: e.values.slice(from * w, to * w),
  };
}

/** Softmax over all events of q·c_{z_i}/√d_h + b_i + log κ(tq − t_i), in float64: the reference. */
export function bruteForceAttention(
  layout: CacheLayout,
  events: EncodedEvents,
  codebooks: Float32Array[],
  kernel: { evaluate(dt: number): number; logEvaluate?(dt: number): number },
  queries: Float32Array,
  tq: number,
): Float64Array {
  const H = totalHeads(layout);
  const dh = layout.headDim;
  const G = layout.headsPerGroup.length;
  const N = queries.length / (H * dh);
  const offsets = headOffsets(layout);
  const out = new Float64Array(N * H * dh);
  if (events.count === 0) return out;
  for (let c = 0; c < N; c++) {
    for (let g = 0; g < G; g++) {
      for (let hh = 0; hh < layout.headsPerGroup[g]!; hh++) {
        const h = offsets[g]! + hh;
        const logits = new Float64Array(events.count);
        let max = -Infinity;
        for (let i = 0; i < events.count; i++) {
          const z = events.codes[i * G + g]!;
          let dot = 0;
          for (let k = 0; k < dh; k++) dot += queries[(c * H + h) * dh + k]! * codebooks[g]![z * dh + k]!;
          const b = events.weights === null ? 0 : Math.log(events.weights[i]!);
          logits[i] = dot / Math.sqrt(dh) + b + (kernel.logEvaluate?.(tq - events.times[i]!) ?? Math.log(kernel.evaluate(tq - events.times[i]!)));
          max = Math.max(max, logits[i]!);
        }
        let den = 0;
        for (let i = 0; i < events.count; i++) {
          const e = Math.exp(logits[i]! - max);
          den += e;
          for (let k = 0; k < dh; k++) out[(c * H + h) * dh + k]! += e * events.values[(i * H + h) * dh + k]!;
        }
        for (let k = 0; k < dh; k++) out[(c * H + h) * dh + k]! /= den;
      }
    }
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
