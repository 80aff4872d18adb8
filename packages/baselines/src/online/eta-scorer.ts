import type { SeparableKernel } from '@vql/temporal-kernel';
import { softmaxAttentionHead } from '@vql/runtime';
import { VqlBaselinesError } from '../errors.js';
import { hamming, packSigns, project, signatureWords } from '../simhash.js';
import { hostLogKernel } from '../time-kernel.js';
import { topKIndices } from '../top-k.js';
import type { Eta } from '../topk/eta.js';
import { checkEmbeddings, checkProjections, checkScorerKeys, hashInput, historyBias, historyTimes, matVec, requestLogBias, requestTime } from './host-attention.js';
import type { HostProjections, ScorerHistory, ScorerRequest } from './host-attention.js';

/** What ETA keeps per user: m-bit signatures plus pre-projected keys / values of every behaviour (and times). */
export interface EtaUserState {
  readonly length: number; // L
  readonly signatures: Uint32Array; // [L, ⌈m/32⌉]
  readonly keys: Float32Array; // [L, H·dh]
  readonly values: Float32Array; // [L, H·dh]
  readonly bias: Float32Array | null; // [L]
  readonly times: Float64Array | null; // [L] seconds, with a kernel
}

export interface EtaScorerOptions extends HostProjections {
  readonly k: number;
  readonly hashBits: number;
  /** d: width of the item embeddings the hash reads. */
  readonly hashDim: number;
  readonly rotation: Float32Array; // [d, m]
  /** The attention reads context-fused embeddings (then item embeddings must be given for the hash). */
  readonly useContext: boolean;
  /** The module's temporal kernel (live object: log κ(dt) joins the attention logits), or null. */
  readonly kernel: SeparableKernel | null;
}

/**
 * ETA's serving path on typed arrays. Per user: L·(4·⌈m/32⌉ + 4·(2·H·dh + 1)) bytes (+ 8·L for
 * times with a kernel; keys and values could come from a shared item table when no event-scope
 * context is used, the signatures could not be avoided). Per candidate: O(d·m) target hash +
 * O(L·⌈m/32⌉) Hamming distances + O(L log k) selection + O(k·H·dh) attention — linear in L with a
 * small constant. The hash reads item embeddings, the attention the embeddings it was trained on.
 */
export class EtaScorer {
  readonly width: number;
  readonly words: number;

  constructor(readonly options: EtaScorerOptions) {
    checkScorerKeys('EtaScorer', options, ['k', 'hashBits', 'hashDim', 'rotation', 'useContext', 'kernel', 'inputDim', 'heads', 'headDim', 'wq', 'wk', 'wv']);
    checkProjections('EtaScorer', options);
    if (!Number.isInteger(options.k) || options.k < 1) throw new VqlBaselinesError('OUT_OF_RANGE', `EtaScorer: k must be a positive integer, got ${options.k}.`);
    if (!Number.isInteger(options.hashBits) || options.hashBits < 1) throw new VqlBaselinesError('OUT_OF_RANGE', `EtaScorer: hashBits must be a positive integer, got ${options.hashBits}.`);
    if (options.rotation.length !== options.hashDim * options.hashBits) {
      throw new VqlBaselinesError('SHAPE_MISMATCH', `EtaScorer: rotation has ${options.rotation.length} values, expected ${options.hashDim}·${options.hashBits}.`);
    }
    this.width = options.heads * options.headDim;
    this.words = signatureWords(options.hashBits);
  }

  static fromModule(module: Eta): EtaScorer {
    return new EtaScorer({
      ...module.projectionValues(),
      inputDim: module.shape.inputDim,
      heads: module.shape.heads,
      headDim: module.shape.headDim,
      k: module.k,
      hashBits: module.hashBits,
      hashDim: module.hashDim,
      rotation: module.rotationValues(),
      useContext: module.shape.useContext,
      kernel: module.timeKernel?.kernel ?? null,
    });
  }

  stateBytesPerUser(L: number): number {
    return L * (4 * this.words + 4 * (2 * this.width + 1) + (this.options.kernel === null ? 0 : 8));
  }

  buildState(history: ScorerHistory): EtaUserState {
    const where = 'EtaScorer.buildState';
    const { inputDim: D, hashDim, hashBits, rotation, useContext } = this.options;
    const L = checkEmbeddings(where, 'embeddings', history.embeddings, D);
    const items = hashInput(where, 'itemEmbeddings', history.embeddings, history.itemEmbeddings, useContext, hashDim, L);
    const bias = historyBias(where, history.bias, L);
    const times = historyTimes(where, history.times, this.options.kernel !== null, L);
    const keys = new Float32Array(L * this.width);
    const values = new Float32Array(L * this.width);
    matVec(history.embeddings, 0, L, D, this.options.wk, this.width, keys);
    matVec(history.embeddings, 0, L, D, this.options.wv, this.width, values);
    const signatures = packSigns(project(items, L, hashDim, rotation, hashBits), L, hashBits);
    return { length: L, signatures, keys, values, bias, times };
  }

  score(state: EtaUserState, request: ScorerRequest): Float32Array {
    const where = 'EtaScorer.score';
    const { inputDim: D, heads: H, headDim: dh, k, hashBits, hashDim, rotation, useContext, kernel } = this.options;
    const C = checkEmbeddings(where, 'embeddings', request.embeddings, D);
    const items = hashInput(where, 'itemEmbeddings', request.embeddings, request.itemEmbeddings, useContext, hashDim, C);
    const tq = requestTime(where, request.time, kernel !== null);
    const W = this.width;
    const q = new Float32Array(C * W);
    matVec(request.embeddings, 0, C, D, this.options.wq, W, q);
    const tSig = packSigns(project(items, C, hashDim, rotation, hashBits), C, hashBits);
    const logK = kernel === null || state.times === null ? null : hostLogKernel(where, kernel, state.times, tq);
    const logBias = requestLogBias(state.bias, logK, state.length);
    const out = new Float32Array(C * W);
    const kk = Math.min(k, state.length);
    const picked = new Int32Array(kk);
    const scratch = new Float64Array(kk + dh);
    const scale = 1 / Math.sqrt(dh);
    for (let c = 0; c < C; c++) {
      const n = topKIndices(state.length, kk, (i) => -hamming(tSig, c, state.signatures, i, this.words), picked);
      for (let h = 0; h < H; h++) softmaxAttentionHead(q, c * W + h * dh, state.keys, W, h * dh, state.values, W, h * dh, logBias, picked, n, dh, scale, out, c * W + h * dh, scratch);
    }
    return out;
  }
}
