import { VqlBaselinesError } from '../errors.js';
import { bucketOf, project } from '../simhash.js';
import type { Sdim, SdimNormalize } from '../topk/sdim.js';
import { checkEmbeddings, matVec } from './host-attention.js';

/**
 * SDIM's per-user cache: for every round r and bucket z, the sum of the values of the behaviours
 * hashed there and their count. Independent of the target, so it is built once and appended to.
 */
export interface SdimUserState {
  length: number; // behaviours folded in
  readonly sums: Float32Array; // [m, 2^τ, O]
  readonly counts: Float32Array; // [m, 2^τ]
}

export interface SdimScorerOptions {
  readonly inputDim: number; // D
  readonly outputDim: number; // O
  readonly rounds: number; // m
  readonly hashBits: number; // τ
  readonly normalize: SdimNormalize;
  readonly wv: Float32Array; // [D, O]
  readonly rotation: Float32Array; // [D, m·τ]
}

/**
 * SDIM's serving path on typed arrays, from cached bucket sums. Per user: m·2^τ·(O + 1) floats,
 * independent of L. Per candidate: O(D·m·τ) to hash the target + O(m·O) to read, normalise and
 * average its m buckets — independent of L too. A new behaviour costs O(D·(m·τ + O)).
 */
export class SdimScorer {
  readonly buckets: number;

  constructor(readonly options: SdimScorerOptions) {
    const { inputDim: D, outputDim: O, rounds: m, hashBits: tau } = options;
    if (!Number.isInteger(tau) || tau < 1 || tau > 16) throw new VqlBaselinesError('OUT_OF_RANGE', `SdimScorer: hashBits must be in 1..16, got ${tau}.`);
    if (!Number.isInteger(m) || m < 1) throw new VqlBaselinesError('OUT_OF_RANGE', `SdimScorer: rounds must be a positive integer, got ${m}.`);
    if (options.wv.length !== D * O) throw new VqlBaselinesError('SHAPE_MISMATCH', `SdimScorer: wv has ${options.wv.length} values, expected ${D}·${O}.`);
    if (options.rotation.length !== D * m * tau) {
      throw new VqlBaselinesError('SHAPE_MISMATCH', `SdimScorer: rotation has ${options.rotation.length} values, expected ${D}·${m * tau}.`);
    }
    this.buckets = 1 << tau;
  }

  static fromModule(module: Sdim): SdimScorer {
    const { wv, rotation } = module.weightValues();
    return new SdimScorer({
      inputDim: module.inputDim,
      outputDim: module.outputDim,
      rounds: module.rounds,
      hashBits: module.hashBits,
      normalize: module.normalize,
      wv,
      rotation,
    });
  }

  /** Bytes of `SdimUserState`: m·2^τ·(O + 1)·4 whatever L is (the cache has a fixed size). */
  stateBytesPerUser(_L: number): number {
    return this.options.rounds * this.buckets * (this.options.outputDim + 1) * 4;
  }

  emptyState(): SdimUserState {
    const { rounds: m, outputDim: O } = this.options;
    return { length: 0, sums: new Float32Array(m * this.buckets * O), counts: new Float32Array(m * this.buckets) };
  }

  /** Folds behaviours' fused embeddings [n, D] into `state` (in place); returns it. */
  append(state: SdimUserState, embeddings: Float32Array): SdimUserState {
    const { inputDim: D, outputDim: O, rounds: m, hashBits: tau, wv, rotation } = this.options;
    const n = checkEmbeddings('SdimScorer.append', 'embeddings', embeddings, D);
    const projected = project(embeddings, n, D, rotation, m * tau);
    const v = new Float32Array(n * O);
    matVec(embeddings, 0, n, D, wv, O, v);
    for (let i = 0; i < n; i++) {
      for (let r = 0; r < m; r++) {
        const cell = r * this.buckets + bucketOf(projected, i, r, tau, m);
        state.counts[cell] += 1;
        for (let o = 0; o < O; o++) state.sums[cell * O + o] += v[i * O + o]!;
      }
    }
    state.length += n;
    return state;
  }

  buildState(historyEmbeddings: Float32Array): SdimUserState {
    return this.append(this.emptyState(), historyEmbeddings);
  }

  /** Interest vectors [C, O] for C candidates' fused embeddings [C, D]. */
  score(state: SdimUserState, targetEmbeddings: Float32Array): Float32Array {
    const { inputDim: D, outputDim: O, rounds: m, hashBits: tau, rotation, normalize } = this.options;
    const C = checkEmbeddings('SdimScorer.score', 'targetEmbeddings', targetEmbeddings, D);
    const projected = project(targetEmbeddings, C, D, rotation, m * tau);
    const out = new Float32Array(C * O);
    for (let c = 0; c < C; c++) {
      for (let r = 0; r < m; r++) {
        const cell = r * this.buckets + bucketOf(projected, c, r, tau, m);
        const count = state.counts[cell]!;
        if (count === 0) continue;
        let scale = 1;
        if (normalize === 'l2') {
          let sq = 0;
          for (let o = 0; o < O; o++) sq += state.sums[cell * O + o]! ** 2;
          scale = 1 / Math.sqrt(sq + 1e-12);
        } else if (normalize === 'count') {
          scale = 1 / count;
        }
        for (let o = 0; o < O; o++) out[c * O + o] += (state.sums[cell * O + o]! * scale) / m;
      }
    }
    return out;
  }
}
