import { VqlBaselinesError } from '../errors.js';
import { hamming, packSigns, project, signatureWords } from '../simhash.js';
import { topKIndices } from '../top-k.js';
import type { Eta } from '../topk/eta.js';
import { attendPicked, checkEmbeddings, checkProjections, matVec } from './host-attention.js';
import type { HostProjections } from './host-attention.js';

/** What ETA keeps per user: m-bit signatures plus pre-projected keys / values of every behaviour. */
export interface EtaUserState {
  readonly length: number; // L
  readonly signatures: Uint32Array; // [L, ⌈m/32⌉]
  readonly keys: Float32Array; // [L, H·dh]
  readonly values: Float32Array; // [L, H·dh]
  readonly bias: Float32Array | null; // [L]
}

export interface EtaScorerOptions extends HostProjections {
  readonly k: number;
  readonly hashBits: number;
  readonly rotation: Float32Array; // [D, m]
}

/**
 * ETA's serving path on typed arrays. Per user: L·(4·⌈m/32⌉ + 4·(2·H·dh + 1)) bytes (keys and values
 * could come from a shared item table when no event-scope context is used; the signatures could
 * not be avoided). Per candidate: O(D·m) target hash + O(L·⌈m/32⌉) Hamming distances + O(L log k)
 * selection + O(k·H·dh) attention — linear in L with a small constant.
 */
export class EtaScorer {
  readonly width: number;
  readonly words: number;

  constructor(readonly options: EtaScorerOptions) {
    checkProjections('EtaScorer', options);
    if (!Number.isInteger(options.k) || options.k < 1) throw new VqlBaselinesError('OUT_OF_RANGE', `EtaScorer: k must be a positive integer, got ${options.k}.`);
    if (!Number.isInteger(options.hashBits) || options.hashBits < 1) throw new VqlBaselinesError('OUT_OF_RANGE', `EtaScorer: hashBits must be a positive integer, got ${options.hashBits}.`);
    if (options.rotation.length !== options.inputDim * options.hashBits) {
      throw new VqlBaselinesError('SHAPE_MISMATCH', `EtaScorer: rotation has ${options.rotation.length} values, expected ${options.inputDim}·${options.hashBits}.`);
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
      rotation: module.rotationValues(),
    });
  }

  stateBytesPerUser(L: number): number {
    return L * (4 * this.words + 4 * (2 * this.width + 1));
  }

  buildState(historyEmbeddings: Float32Array, bias: Float32Array | null = null): EtaUserState {
    const { inputDim: D, hashBits, rotation } = this.options;
    const L = checkEmbeddings('EtaScorer.buildState', 'historyEmbeddings', historyEmbeddings, D);
    if (bias !== null && bias.length !== L) throw new VqlBaselinesError('SHAPE_MISMATCH', `EtaScorer.buildState: bias has ${bias.length} values, expected ${L}.`);
    const keys = new Float32Array(L * this.width);
    const values = new Float32Array(L * this.width);
    matVec(historyEmbeddings, 0, L, D, this.options.wk, this.width, keys);
    matVec(historyEmbeddings, 0, L, D, this.options.wv, this.width, values);
    const signatures = packSigns(project(historyEmbeddings, L, D, rotation, hashBits), L, hashBits);
    return { length: L, signatures, keys, values, bias: bias === null ? null : Float32Array.from(bias) };
  }

  score(state: EtaUserState, targetEmbeddings: Float32Array): Float32Array {
    const { inputDim: D, heads: H, headDim: dh, k, hashBits, rotation } = this.options;
    const C = checkEmbeddings('EtaScorer.score', 'targetEmbeddings', targetEmbeddings, D);
    const W = this.width;
    const q = new Float32Array(C * W);
    matVec(targetEmbeddings, 0, C, D, this.options.wq, W, q);
    const tSig = packSigns(project(targetEmbeddings, C, D, rotation, hashBits), C, hashBits);
    const out = new Float32Array(C * W);
    const kk = Math.min(k, state.length);
    const picked = new Int32Array(kk);
    const scratch = new Float64Array(kk);
    for (let c = 0; c < C; c++) {
      const n = topKIndices(state.length, kk, (i) => -hamming(tSig, c, state.signatures, i, this.words), picked);
      attendPicked(q, c * W, state.keys, state.values, state.bias, picked, n, H, dh, out, c * W, scratch);
    }
    return out;
  }
}
