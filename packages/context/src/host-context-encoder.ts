import { VqlContextError } from './errors.js';
import type { ContextColumns, ContextFeatureSpec } from './feature-spec.js';
import { featureWidth } from './feature-spec.js';
import type { OovCounter } from './lookup.js';
import { featureRows } from './lookup.js';

export interface HostEncoderLayout {
  features: readonly ContextFeatureSpec[];
  itemDim: number;
  outDim: number;
  fusion: 'concat' | 'sum';
  embeddingDims: Map<string, number>;
  fingerprint: string;
}

export interface HostEncoderWeights {
  tables: Map<string, Float32Array>; // [rows*e] row-major
  fusionKernel: Float32Array | null; // [(d+Σe)*outDim]
  fusionBias: Float32Array | null; // [outDim]
  /** ReLU branch of the concat fusion (`fusionHidden` > 0), else null. */
  hidden: { kernel: Float32Array; bias: Float32Array; out: Float32Array } | null; // [(d+Σe)*h], [h], [h*outDim]
  biasKernel: Float32Array | null; // [Σe]
}

/**
 * Typed-array forward of a `ContextEncoder` snapshot (from `encoder.toHost()`): the same fusion and
 * logit bias without tfjs, for building per-user caches behaviour by behaviour and for serving.
 * Accumulates in float64 and stores float32.
 */
export class HostContextEncoder {
  readonly itemDim: number;
  readonly outDim: number;
  /** `weightsFingerprint` of the encoder weights this snapshot was taken from. */
  readonly fingerprint: string;
  private readonly layout: HostEncoderLayout;
  private readonly weights: HostEncoderWeights;
  private readonly oov: OovCounter;
  private readonly contextDim: number;

  /** @internal Built by `ContextEncoder.toHost()`. */
  constructor(layout: HostEncoderLayout, weights: HostEncoderWeights, oov: OovCounter) {
    this.layout = layout;
    this.weights = weights;
    this.oov = oov;
    this.itemDim = layout.itemDim;
    this.outDim = layout.outDim;
    this.fingerprint = layout.fingerprint;
    let s = 0;
    for (const e of layout.embeddingDims.values()) s += e;
    this.contextDim = s;
  }

  get hasLogitBias(): boolean {
    return this.weights.biasKernel !== null;
  }

  private checkItemEmb(where: string, itemEmb: Float32Array, n: number): void {
    if (!(itemEmb instanceof Float32Array) || itemEmb.length !== n * this.itemDim) {
      throw new VqlContextError(
        'SHAPE_MISMATCH',
        `${where}: itemEmb must be a Float32Array of ${n} rows × itemDim ${this.itemDim} = ${n * this.itemDim} values, got ${itemEmb?.length}.`,
      );
    }
  }

  private checkCount(where: string, n: number): void {
    if (!Number.isInteger(n) || n <= 0) throw new VqlContextError('INVALID_ARGUMENT', `${where}: n must be a positive integer, got ${n}.`);
  }

  /** [n, Σe] pooled context embeddings in float64 (zeros for features not `present`). */
  private contextVectors(where: string, ctx: ContextColumns, n: number, present: (f: ContextFeatureSpec) => boolean): Float64Array {
    if (ctx == null || typeof ctx !== 'object') {
      throw new VqlContextError('MISSING_CONTEXT', `${where}: context columns must be a record of feature name → array.`);
    }
    const out = new Float64Array(n * this.contextDim);
    let offset = 0;
    for (const f of this.layout.features) {
      const e = this.layout.embeddingDims.get(f.name)!;
      if (present(f)) {
        const { rows, poolWeights } = featureRows(where, f, ctx, n, this.oov);
        const table = this.weights.tables.get(f.name)!;
        const w = featureWidth(f);
        for (let i = 0; i < n; i++) {
          const base = i * this.contextDim + offset;
          for (let j = 0; j < w; j++) {
            const weight = poolWeights === undefined ? 1 : poolWeights[i * w + j]!;
            if (weight === 0) continue;
            const row = rows[i * w + j]! * e;
            for (let c = 0; c < e; c++) out[base + c]! += weight * table[row + c]!;
          }
        }
      }
      offset += e;
    }
    return out;
  }

  private fuse(itemEmb: Float32Array, ctxVec: Float64Array, n: number): Float32Array {
    const d = this.itemDim;
    const D = this.outDim;
    const out = new Float32Array(n * D);
    if (this.layout.fusion === 'sum') {
      // Σe is a multiple of d here: every feature embedding has width d.
      const k = this.contextDim / d;
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < d; c++) {
          let s = itemEmb[i * d + c]!;
          for (let f = 0; f < k; f++) s += ctxVec[i * this.contextDim + f * d + c]!;
          out[i * D + c] = s;
        }
      }
      return out;
    }
    const hidden = this.weights.hidden;
    const acc = new Float64Array(D);
    const h = hidden === null ? null : new Float64Array(hidden.bias.length);
    for (let i = 0; i < n; i++) {
      this.affine(itemEmb, ctxVec, i, this.weights.fusionKernel!, this.weights.fusionBias!, acc);
      if (hidden !== null) {
        this.affine(itemEmb, ctxVec, i, hidden.kernel, hidden.bias, h!);
        for (let j = 0; j < h!.length; j++) {
          const a = h![j]!;
          if (a <= 0) continue; // ReLU
          const row = j * D;
          for (let c = 0; c < D; c++) acc[c]! += a * hidden.out[row + c]!;
        }
      }
      for (let c = 0; c < D; c++) out[i * D + c] = acc[c]!;
    }
    return out;
  }

  /** acc = [itemEmb_i, ctxVec_i]·W + b for row i (W is [(d+Σe), acc.length]). */
  private affine(itemEmb: Float32Array, ctxVec: Float64Array, i: number, W: Float32Array, b: Float32Array, acc: Float64Array): void {
    const d = this.itemDim;
    const D = acc.length;
    for (let c = 0; c < D; c++) acc[c] = b[c]!;
    for (let r = 0; r < d; r++) {
      const x = itemEmb[i * d + r]!;
      if (x === 0) continue;
      const row = r * D;
      for (let c = 0; c < D; c++) acc[c]! += x * W[row + c]!;
    }
    for (let r = 0; r < this.contextDim; r++) {
      const x = ctxVec[i * this.contextDim + r]!;
      if (x === 0) continue;
      const row = (d + r) * D;
      for (let c = 0; c < D; c++) acc[c]! += x * W[row + c]!;
    }
  }

  /** [n*d] item embeddings + behaviour context columns ([n*width] each) → [n*outDim]. n defaults to 1. */
  fuseHistory(itemEmb: Float32Array, ctx: ContextColumns, n = 1): Float32Array {
    const where = 'HostContextEncoder.fuseHistory';
    this.checkCount(where, n);
    this.checkItemEmb(where, itemEmb, n);
    return this.fuse(itemEmb, this.contextVectors(where, ctx, n, () => true), n);
  }

  /** [n*d] target embeddings + item-scope context → [n*outDim]. */
  fuseTarget(itemEmb: Float32Array, targetCtx: ContextColumns, n = 1): Float32Array {
    const where = 'HostContextEncoder.fuseTarget';
    this.checkCount(where, n);
    this.checkItemEmb(where, itemEmb, n);
    for (const f of this.layout.features) {
      if (f.scope === 'event' && targetCtx?.[f.name] !== undefined) {
        throw new VqlContextError('EVENT_FEATURE_ON_TARGET', `${where}: "${f.name}" is an event-scope feature and exists for behaviours only.`);
      }
    }
    return this.fuse(itemEmb, this.contextVectors(where, targetCtx, n, (f) => f.scope === 'item'), n);
  }

  /** [n] logit bias of each behaviour (float64 accumulation). */
  logitBias(ctx: ContextColumns, n = 1): Float32Array {
    const where = 'HostContextEncoder.logitBias';
    const w = this.weights.biasKernel;
    if (w === null) throw new VqlContextError('NO_LOGIT_BIAS', `${where}: the encoder was built without options.logitBias.`);
    this.checkCount(where, n);
    const v = this.contextVectors(where, ctx, n, () => true);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let r = 0; r < this.contextDim; r++) s += v[i * this.contextDim + r]! * w[r]!;
      out[i] = s;
    }
    return out;
  }
}
