import type { SeparableKernel } from '@vql/temporal-kernel';
import { VqlBaselinesError } from '../errors.js';
import { bucketOf, project } from '../simhash.js';
import type { Sdim, SdimNormalize } from '../topk/sdim.js';
import { checkEmbeddings, checkScorerKeys, hashInput, historyTimes, matVec, requestTime } from './host-attention.js';
import type { ScorerHistory, ScorerRequest } from './host-attention.js';

/**
 * SDIM's per-user cache: for every round r and bucket z, the sum of the values of the behaviours
 * hashed there and their count; with a kernel, per factor f the sums of h_f(t_i, t0)·v_i and of
 * h_f(t_i, t0) around the anchor t0 (the newest behaviour), so that κ(tq − t_i) = Σ_f q_f(tq, t0)·h_f
 * weights each behaviour at any request time. Independent of the target: built once, appended to.
 */
export interface SdimUserState {
  length: number; // behaviours folded in
  /** Anchor t0 of the kernel factors (−∞ before the first behaviour; unused without a kernel). */
  anchor: number;
  readonly sums: Float32Array; // [m, 2^τ, F, O] (F = 1 without a kernel)
  readonly weights: Float32Array; // [m, 2^τ, F]: Σ h_f with a kernel; empty without (the counts serve)
  readonly counts: Float32Array; // [m, 2^τ]
}

export interface SdimScorerOptions {
  readonly inputDim: number; // D
  /** d: width of the item embeddings the hash reads. */
  readonly hashDim: number;
  readonly outputDim: number; // O
  readonly rounds: number; // m
  readonly hashBits: number; // τ
  readonly normalize: SdimNormalize;
  readonly wv: Float32Array; // [D, O]
  readonly rotation: Float32Array; // [d, m·τ]
  /** The values read context-fused embeddings (then item embeddings must be given for the hash). */
  readonly useContext: boolean;
  /** The module's temporal kernel (live object), or null. */
  readonly kernel: SeparableKernel | null;
}

/**
 * SDIM's serving path on typed arrays, from cached bucket sums. Per user: m·2^τ·(F·(O + 1) + 1)
 * floats (F = kernel rank, 1 without), independent of L. Per candidate: O(d·m·τ) to hash the target
 * + O(m·F·O) to read, normalise and average its m buckets — independent of L too. A new behaviour
 * costs O(D·O + d·m·τ + m·F·O) (plus O(m·2^τ·F·O) when it moves the anchor forward).
 */
export class SdimScorer {
  readonly buckets: number;
  readonly factors: number;

  constructor(readonly options: SdimScorerOptions) {
    checkScorerKeys('SdimScorer', options, ['inputDim', 'hashDim', 'outputDim', 'rounds', 'hashBits', 'normalize', 'wv', 'rotation', 'useContext', 'kernel']);
    const { inputDim: D, hashDim: d, outputDim: O, rounds: m, hashBits: tau } = options;
    if (!Number.isInteger(tau) || tau < 1 || tau > 16) throw new VqlBaselinesError('OUT_OF_RANGE', `SdimScorer: hashBits must be in 1..16, got ${tau}.`);
    if (!Number.isInteger(m) || m < 1) throw new VqlBaselinesError('OUT_OF_RANGE', `SdimScorer: rounds must be a positive integer, got ${m}.`);
    if (options.wv.length !== D * O) throw new VqlBaselinesError('SHAPE_MISMATCH', `SdimScorer: wv has ${options.wv.length} values, expected ${D}·${O}.`);
    if (options.rotation.length !== d * m * tau) {
      throw new VqlBaselinesError('SHAPE_MISMATCH', `SdimScorer: rotation has ${options.rotation.length} values, expected ${d}·${m * tau}.`);
    }
    this.buckets = 1 << tau;
    this.factors = options.kernel?.rank ?? 1;
  }

  static fromModule(module: Sdim): SdimScorer {
    const { wv, rotation } = module.weightValues();
    return new SdimScorer({
      inputDim: module.inputDim,
      hashDim: module.hashDim,
      outputDim: module.outputDim,
      rounds: module.rounds,
      hashBits: module.hashBits,
      normalize: module.normalize,
      wv,
      rotation,
      useContext: module.useContext,
      kernel: module.timeKernel?.kernel ?? null,
    });
  }

  /** Bytes of `SdimUserState`: m·2^τ·(F·(O + 1) + 1)·4 with a kernel, m·2^τ·(O + 1)·4 without, whatever L is. */
  stateBytesPerUser(_L: number): number {
    const { rounds: m, outputDim: O } = this.options;
    const perCell = this.options.kernel === null ? O + 1 : this.factors * (O + 1) + 1;
    return m * this.buckets * perCell * 4;
  }

  emptyState(): SdimUserState {
    const { rounds: m, outputDim: O } = this.options;
    const cells = m * this.buckets;
    const weights = new Float32Array(this.options.kernel === null ? 0 : cells * this.factors);
    return { length: 0, anchor: -Infinity, sums: new Float32Array(cells * this.factors * O), weights, counts: new Float32Array(cells) };
  }

  /** Folds behaviours [n, D] (item embeddings [n, d] with useContext, times with a kernel) into `state` (in place); returns it. */
  append(state: SdimUserState, history: ScorerHistory): SdimUserState {
    const where = 'SdimScorer.append';
    const { inputDim: D, hashDim, outputDim: O, rounds: m, hashBits: tau, wv, rotation, useContext, kernel } = this.options;
    const n = checkEmbeddings(where, 'embeddings', history.embeddings, D);
    const items = hashInput(where, 'itemEmbeddings', history.embeddings, history.itemEmbeddings, useContext, hashDim, n);
    const times = historyTimes(where, history.times, kernel !== null, n);
    const F = this.factors;
    let h: Float64Array;
    if (kernel === null || times === null) {
      h = new Float64Array(n).fill(1);
    } else {
      const newest = times.reduce((a, t) => Math.max(a, t), -Infinity);
      if (newest > state.anchor) this.reanchor(state, kernel, newest);
      h = kernel.historyFactorsBatch(times, state.anchor);
    }
    const projected = project(items, n, hashDim, rotation, m * tau);
    const v = new Float32Array(n * O);
    matVec(history.embeddings, 0, n, D, wv, O, v);
    for (let i = 0; i < n; i++) {
      for (let r = 0; r < m; r++) {
        const cell = r * this.buckets + bucketOf(projected, i, r, tau, m);
        state.counts[cell] += 1;
        for (let f = 0; f < F; f++) {
          const w = h[i * F + f]!;
          if (kernel !== null) state.weights[cell * F + f] += w;
          const o0 = (cell * F + f) * O;
          for (let o = 0; o < O; o++) state.sums[o0 + o] += w * v[i * O + o]!;
        }
      }
    }
    state.length += n;
    return state;
  }

  /** Moves the anchor forward to t0New, rescaling every factor (h_f(t, t0New) = scale_f · h_f(t, t0)). */
  private reanchor(state: SdimUserState, kernel: SeparableKernel, t0New: number): void {
    if (state.length > 0) {
      const F = this.factors;
      const O = this.options.outputDim;
      const scale = kernel.reanchorScale(state.anchor, t0New);
      for (let cell = 0; cell < state.counts.length; cell++) {
        for (let f = 0; f < F; f++) {
          state.weights[cell * F + f] *= scale[f]!;
          const o0 = (cell * F + f) * O;
          for (let o = 0; o < O; o++) state.sums[o0 + o] *= scale[f]!;
        }
      }
    }
    state.anchor = t0New;
  }

  buildState(history: ScorerHistory): SdimUserState {
    return this.append(this.emptyState(), history);
  }

  /** Interest vectors [C, O] for C candidates [C, D] (item embeddings [C, d] with useContext) at the request time. */
  score(state: SdimUserState, request: ScorerRequest): Float32Array {
    const where = 'SdimScorer.score';
    const { inputDim: D, hashDim, outputDim: O, rounds: m, hashBits: tau, rotation, normalize, useContext, kernel } = this.options;
    const C = checkEmbeddings(where, 'embeddings', request.embeddings, D);
    const items = hashInput(where, 'itemEmbeddings', request.embeddings, request.itemEmbeddings, useContext, hashDim, C);
    const F = this.factors;
    let qf: Float64Array = Float64Array.of(1);
    if (kernel !== null) {
      const tq = requestTime(where, request.time, true);
      if (state.length > 0 && tq < state.anchor) {
        throw new VqlBaselinesError('INVALID_INPUT', `${where}: the request time ${tq} is before the user's newest behaviour (${state.anchor}).`);
      }
      qf = state.length > 0 ? kernel.queryFactors(tq, state.anchor) : new Float64Array(F);
    }
    const projected = project(items, C, hashDim, rotation, m * tau);
    const out = new Float32Array(C * O);
    const sum = new Float64Array(O);
    for (let c = 0; c < C; c++) {
      for (let r = 0; r < m; r++) {
        const cell = r * this.buckets + bucketOf(projected, c, r, tau, m);
        if (state.counts[cell] === 0) continue;
        sum.fill(0);
        let weight = kernel === null ? state.counts[cell]! : 0;
        for (let f = 0; f < F; f++) {
          if (kernel !== null) weight += qf[f]! * state.weights[cell * F + f]!;
          const o0 = (cell * F + f) * O;
          for (let o = 0; o < O; o++) sum[o] += qf[f]! * state.sums[o0 + o]!;
        }
        let scale = 1;
        if (normalize === 'l2') {
          let sq = 0;
          for (let o = 0; o < O; o++) sq += sum[o]! ** 2;
          scale = 1 / Math.sqrt(sq + 1e-12);
        } else if (normalize === 'count') {
          scale = 1 / weight;
        }
        for (let o = 0; o < O; o++) out[c * O + o] += (sum[o]! * scale) / m;
      }
    }
    return out;
  }
}
