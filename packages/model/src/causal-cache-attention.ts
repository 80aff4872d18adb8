import { hostF32, scratchF32, tensorFromHost, tf } from '@vql/runtime';
import type { Tensor } from '@vql/runtime';
import { CausalScan } from './causal-scan.js';
import type { CausalCacheGrads, CausalCacheOptions, ScanGrads } from './causal-scan.js';
import { causalScanThreads, runScanJobs, sharedArray, splitUsers } from './causal-scan-pool.js';
import type { ScanInputs } from './causal-scan-pool.js';

export type { CausalCacheOptions, CausalCacheGrads } from './causal-scan.js';

/**
 * VQL attention of every target over all the behaviours before it, trained from causal caches
 * (DESIGN §2b), as one custom op whose forward and backward are typed-array scans.
 *
 * Per user, the state after the behaviours before target j is the cache of DESIGN §1, anchored
 * at the newest of them (τ_j):  N[g,c,r] = Σ_{i: z_i=c} w_i e^{−λ_r(τ_j−t_i)},
 * S[g,c,r] = Σ w_i e^{−λ_r(τ_j−t_i)} v_i (the heads of g), w_i = e^{b_i − max b}. Moving to the
 * next segment multiplies by e^{−λ_r(τ_{j+1}−τ_j)} ≤ 1 and adds the segment's behaviours, each
 * term ≤ 1: nothing overflows, and the newest behaviour contributes exactly w_i, so a basis never
 * underflows to an all-zero state. The readout is the cache scorer's:
 *   o^h = Σ_c e^{u_c} Σ_r φ_r S[c,r] / Σ_c e^{u_c} Σ_r φ_r N[c,r],  u_c = q^h·c_{g,c}·scale,
 *   φ_r = β_r e^{−λ_r(t_j−τ_j)} (normalised by its max over r; the ratio is invariant).
 * Equal to per-position VQL attention with log-kernel logits over the same whole histories.
 *
 * Backward: a forward re-scan (with time-weighted sums S' = Σ (τ−t_i)·terms for ∂/∂λ) gives
 * dq, dβ, dλ per target; a reverse scan of the adjoint state (decayed backwards, every factor
 * ≤ 1) gives dv, db and the straight-through key gradient dk per behaviour (summed per unique
 * row). Cost O(E·(G·R·(d_h+1)·H/G·d_h)) for the behaviours plus O(T·K·R·H·d_h²) for the targets:
 * independent of how long the histories are per target.
 *
 * Inputs: query [T, H·d_h], keys [U, G·d_h], values [U, H·d_h], bias [U] or null, logRate and
 * logBeta [R] or null (no temporal kernel: κ ≡ 1). Output [T, H·d_h]; gradients reach all inputs.
 */
export function causalCacheAttention(
  query: Tensor,
  keys: Tensor,
  values: Tensor,
  bias: Tensor | null,
  logRate: Tensor | null,
  logBeta: Tensor | null,
  options: CausalCacheOptions,
): Tensor {
  const hasKernel = logRate !== null && logBeta !== null;
  const inputs: Tensor[] = [query, keys, values];
  if (bias !== null) inputs.push(bias);
  if (hasKernel) inputs.push(logRate, logBeta);
  const T = query.shape[0]!;
  const U = keys.shape[0]!;
  const { heads: H, groups: G, headDim: dh } = options.shape;
  const op = tf.customGrad((...args) => {
    const t = args as Tensor[];
    let k = 3;
    // Host copies in this thread's reused buffers during a training step (host-scratch.ts).
    const b = bias !== null ? hostF32(t[k++]!) : null;
    const lr = hasKernel ? t[k++]!.dataSync() : null;
    const lb = hasKernel ? t[k++]!.dataSync() : null;
    const threads = causalScanThreads();
    const kernel = (threads > 1 && options.layout.numUsers > 1 ? pooledCausalCache : causalCacheHost)(
      hostF32(t[0]!),
      hostF32(t[1]!),
      hostF32(t[2]!),
      b,
      lr === null ? null : Float64Array.from(lr),
      lb === null ? null : Float64Array.from(lb),
      U,
      options,
    );
    return {
      value: tensorFromHost(kernel.out, [T, H * dh]),
      gradFunc: (dy: Tensor) => {
        const g = kernel.backward(hostF32(dy));
        const out: Tensor[] = [tensorFromHost(g.dq, [T, H * dh]), tensorFromHost(g.dk, [U, G * dh]), tensorFromHost(g.dv, [U, H * dh])];
        if (bias !== null) out.push(tensorFromHost(g.db, bias.shape));
        if (hasKernel) out.push(tf.tensor1d(g.dLogRate), tf.tensor1d(g.dLogBeta));
        return out;
      },
    };
  });
  return op(...inputs);
}

/** The host math of `causalCacheAttention`: forward now, backward on demand (one thread). */
export function causalCacheHost(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  bias: Float32Array | null,
  logRate: Float64Array | null,
  logBeta: Float64Array | null,
  U: number,
  o: CausalCacheOptions,
): { out: Float32Array; backward(g: Float32Array): CausalCacheGrads } {
  const scan = new CausalScan(q, k, v, bias, logRate, logBeta, U, o);
  const out64 = scan.forward();
  const out = scratchF32(out64.length);
  out.set(out64);
  return {
    out,
    backward: (g) => {
      const grads = scan.newGrads();
      scan.backward(g, grads);
      return scan.finish(grads);
    },
  };
}

let nextToken = 0;

/** `causalCacheHost` with the users split over the scan pool's threads (`setCausalScanThreads`). */
export function pooledCausalCache(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  bias: Float32Array | null,
  logRate: Float64Array | null,
  logBeta: Float64Array | null,
  U: number,
  o: CausalCacheOptions,
): { out: Float32Array; backward(g: Float32Array): CausalCacheGrads } {
  const threads = causalScanThreads();
  const probe = new CausalScan(q, k, v, bias, logRate, logBeta, U, o); // costs, λ and buffer sizes
  const ranges = splitUsers(probe.userCosts(), threads);
  const inputs: ScanInputs = {
    q: sharedArray(Float32Array, q.length, q),
    k: sharedArray(Float32Array, k.length, k),
    v: sharedArray(Float32Array, v.length, v),
    bias: bias === null ? null : sharedArray(Float32Array, bias.length, bias),
    logRate,
    logBeta,
    U,
    options: { ...o, codes: sharedArray(Int32Array, o.codes.length, o.codes) },
  };
  const token = nextToken++;
  const T = o.layout.targetTime.length;
  const width = o.shape.heads * o.shape.headDim;
  const outs = ranges.map(() => sharedArray(Float64Array, T * width));
  runScanJobs(ranges.map(([u0, u1], i) => ({ kind: 'forward', token, inputs, u0, u1, out: outs[i]! })), threads);
  const out = new Float32Array(T * width);
  for (const part of outs) for (let x = 0; x < out.length; x++) out[x] += part[x]!; // disjoint rows
  return {
    out,
    backward: (g) => {
      const gr = sharedArray(Float32Array, g.length, g);
      const template = probe.newGrads();
      const parts = ranges.map(() => {
        const p = {} as ScanGrads;
        for (const key of Object.keys(template) as Array<keyof ScanGrads>) p[key] = sharedArray(Float64Array, template[key].length);
        return p;
      });
      runScanJobs(ranges.map(([u0, u1], i) => ({ kind: 'backward', token, gr, u0, u1, grads: parts[i]! })), threads);
      // Summed in thread order: the same thread count gives the same numbers.
      for (const p of parts) for (const key of Object.keys(template) as Array<keyof ScanGrads>) for (let x = 0; x < template[key].length; x++) template[key][x] += p[key][x]!;
      return probe.finish(template);
    },
  };
}
