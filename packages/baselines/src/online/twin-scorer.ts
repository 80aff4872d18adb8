import type { SeparableKernel } from '@vql/temporal-kernel';
import { softmaxAttentionHead } from '@vql/runtime';
import { VqlBaselinesError } from '../errors.js';
import { hostLogKernel } from '../time-kernel.js';
import { topKIndices } from '../top-k.js';
import type { Twin } from '../topk/twin.js';
import { checkEmbeddings, checkProjections, checkScorerKeys, historyBias, historyTimes, matVec, requestLogBias, requestTime } from './host-attention.js';
import type { HostProjections, ScorerHistory, ScorerRequest } from './host-attention.js';

/** What TWIN keeps per user: every behaviour's key and value, pre-projected (as TWIN does offline), and their times. */
export interface TwinUserState {
  readonly length: number; // L
  readonly keys: Float32Array; // [L, H·dh]
  readonly values: Float32Array; // [L, H·dh]
  readonly bias: Float32Array | null; // [L] context logit bias
  readonly times: Float64Array | null; // [L] seconds, with a kernel
}

export interface TwinScorerOptions extends HostProjections {
  readonly k: number;
  /** The module's temporal kernel (live object: log κ(dt) joins every logit), or null. */
  readonly kernel: SeparableKernel | null;
}

/**
 * TWIN's serving path on typed arrays, per head as in training: head h scores the whole history
 * with its own logit (q^h·k^h/√dh + bias + log κ(dt)), keeps its top k and attends over them.
 * Per user: L·(2·H·dh + 1) floats (+ L times with a kernel). Per request: O(L·F) kernel factors,
 * shared by the candidates; per candidate O(D·H·dh) query + O(L·H·dh) scores + O(H·L log k)
 * selection + O(k·H·dh) attention — linear in L, which is the cost VQL's cache removes.
 */
export class TwinScorer {
  readonly width: number;

  constructor(readonly options: TwinScorerOptions) {
    checkScorerKeys('TwinScorer', options, ['k', 'kernel', 'inputDim', 'heads', 'headDim', 'wq', 'wk', 'wv']);
    checkProjections('TwinScorer', options);
    if (!Number.isInteger(options.k) || options.k < 1) throw new VqlBaselinesError('OUT_OF_RANGE', `TwinScorer: k must be a positive integer, got ${options.k}.`);
    this.width = options.heads * options.headDim;
  }

  static fromModule(module: Twin): TwinScorer {
    return new TwinScorer({
      ...module.projectionValues(),
      inputDim: module.shape.inputDim,
      heads: module.shape.heads,
      headDim: module.shape.headDim,
      k: module.k,
      kernel: module.timeKernel?.kernel ?? null,
    });
  }

  /** Bytes of `TwinUserState` for a history of L behaviours (bias and, with a kernel, times included). */
  stateBytesPerUser(L: number): number {
    return L * ((2 * this.width + 1) * 4 + (this.options.kernel === null ? 0 : 8));
  }

  /** Projects a history's embeddings [L, D] (and bias, times) into the per-user state. */
  buildState(history: ScorerHistory): TwinUserState {
    const where = 'TwinScorer.buildState';
    const { inputDim: D } = this.options;
    const L = checkEmbeddings(where, 'embeddings', history.embeddings, D);
    const bias = historyBias(where, history.bias, L);
    const times = historyTimes(where, history.times, this.options.kernel !== null, L);
    const keys = new Float32Array(L * this.width);
    const values = new Float32Array(L * this.width);
    matVec(history.embeddings, 0, L, D, this.options.wk, this.width, keys);
    matVec(history.embeddings, 0, L, D, this.options.wv, this.width, values);
    return { length: L, keys, values, bias, times };
  }

  /** Interest vectors [C, H·dh] for C candidates' embeddings [C, D] at the request time. */
  score(state: TwinUserState, request: ScorerRequest): Float32Array {
    const where = 'TwinScorer.score';
    const { inputDim: D, heads: H, headDim: dh, k, kernel } = this.options;
    const C = checkEmbeddings(where, 'embeddings', request.embeddings, D);
    const tq = requestTime(where, request.time, kernel !== null);
    const W = this.width;
    const q = new Float32Array(C * W);
    matVec(request.embeddings, 0, C, D, this.options.wq, W, q);
    const logK = kernel === null || state.times === null ? null : hostLogKernel(where, kernel, state.times, tq);
    const logBias = requestLogBias(state.bias, logK, state.length);
    const out = new Float32Array(C * W);
    const kk = Math.min(k, state.length);
    const picked = new Int32Array(kk);
    const scratch = new Float64Array(kk + dh);
    const scale = 1 / Math.sqrt(dh);
    const { keys, values } = state;
    for (let c = 0; c < C; c++) {
      const qo = c * W;
      for (let h = 0; h < H; h++) {
        const c0 = h * dh;
        const n = topKIndices(state.length, kk, (i) => {
          let s = 0;
          for (let j = c0; j < c0 + dh; j++) s += q[qo + j]! * keys[i * W + j]!;
          return s * scale + (logBias === null ? 0 : logBias[i]!);
        }, picked);
        softmaxAttentionHead(q, qo + c0, keys, W, c0, values, W, c0, logBias, picked, n, dh, scale, out, qo + c0, scratch);
      }
    }
    return out;
  }
}
