import { VqlBaselinesError } from '../errors.js';
import { topKIndices } from '../top-k.js';
import type { Twin } from '../topk/twin.js';
import { attendPicked, checkEmbeddings, checkProjections, matVec } from './host-attention.js';
import type { HostProjections } from './host-attention.js';

/** What TWIN keeps per user: every behaviour's key and value, pre-projected (as TWIN does offline). */
export interface TwinUserState {
  readonly length: number; // L
  readonly keys: Float32Array; // [L, H·dh]
  readonly values: Float32Array; // [L, H·dh]
  readonly bias: Float32Array | null; // [L] context logit bias
}

export interface TwinScorerOptions extends HostProjections {
  readonly k: number;
}

/**
 * TWIN's serving path on typed arrays. Per user: L·(2·H·dh + 1) floats. Per candidate:
 * O(D·H·dh) query + O(L·H·dh) scores over the whole history + O(L log k) selection + O(k·H·dh)
 * attention — linear in L, which is the cost VQL's cache removes.
 */
export class TwinScorer {
  readonly width: number;

  constructor(readonly options: TwinScorerOptions) {
    checkProjections('TwinScorer', options);
    if (!Number.isInteger(options.k) || options.k < 1) throw new VqlBaselinesError('OUT_OF_RANGE', `TwinScorer: k must be a positive integer, got ${options.k}.`);
    this.width = options.heads * options.headDim;
  }

  static fromModule(module: Twin): TwinScorer {
    return new TwinScorer({ ...module.projectionValues(), inputDim: module.shape.inputDim, heads: module.shape.heads, headDim: module.shape.headDim, k: module.k });
  }

  /** Bytes of `TwinUserState` for a history of L behaviours (bias included). */
  stateBytesPerUser(L: number): number {
    return L * (2 * this.width + 1) * 4;
  }

  /** Projects a history's fused embeddings [L, D] (and bias [L]) into the per-user state. */
  buildState(historyEmbeddings: Float32Array, bias: Float32Array | null = null): TwinUserState {
    const { inputDim: D } = this.options;
    const L = checkEmbeddings('TwinScorer.buildState', 'historyEmbeddings', historyEmbeddings, D);
    if (bias !== null && bias.length !== L) throw new VqlBaselinesError('SHAPE_MISMATCH', `TwinScorer.buildState: bias has ${bias.length} values, expected ${L}.`);
    const keys = new Float32Array(L * this.width);
    const values = new Float32Array(L * this.width);
    matVec(historyEmbeddings, 0, L, D, this.options.wk, this.width, keys);
    matVec(historyEmbeddings, 0, L, D, this.options.wv, this.width, values);
    return { length: L, keys, values, bias: bias === null ? null : Float32Array.from(bias) };
  }

  /** Interest vectors [C, H·dh] for C candidates' fused embeddings [C, D]. */
  score(state: TwinUserState, targetEmbeddings: Float32Array): Float32Array {
    const { inputDim: D, heads: H, headDim: dh, k } = this.options;
    const C = checkEmbeddings('TwinScorer.score', 'targetEmbeddings', targetEmbeddings, D);
    const W = this.width;
    const q = new Float32Array(C * W);
    matVec(targetEmbeddings, 0, C, D, this.options.wq, W, q);
    const out = new Float32Array(C * W);
    const kk = Math.min(k, state.length);
    const picked = new Int32Array(kk);
    const scratch = new Float64Array(kk);
    const scale = 1 / (H * Math.sqrt(dh));
    const { keys, values, bias } = state;
    for (let c = 0; c < C; c++) {
      const qo = c * W;
      const n = topKIndices(state.length, kk, (i) => {
        let s = 0;
        for (let j = 0; j < W; j++) s += q[qo + j]! * keys[i * W + j]!;
        return s * scale + (bias === null ? 0 : bias[i]!);
      }, picked);
      attendPicked(q, qo, keys, values, bias, picked, n, H, dh, out, qo, scratch);
    }
    return out;
  }
}
