import type { SeparableKernel } from '@vql/temporal-kernel';
import type { CtrModel } from './ctr-model.js';
import { VqlModelError } from './errors.js';
import { VqlAttention } from './vql-attention.js';

/** x [n, inDim] · w [inDim, outDim] in float64 accumulation, float32 result. */
function matmulHost(x: Float32Array, n: number, inDim: number, w: Float32Array, outDim: number): Float32Array {
  const out = new Float32Array(n * outDim);
  const acc = new Float64Array(outDim);
  for (let r = 0; r < n; r++) {
    acc.fill(0);
    for (let k = 0; k < inDim; k++) {
      const xv = x[r * inDim + k]!;
      if (xv === 0) continue;
      for (let c = 0; c < outDim; c++) acc[c]! += xv * w[k * outDim + c]!;
    }
    out.set(acc, r * outDim);
  }
  return out;
}

/**
 * Host-side pieces of a trained VQL `CtrModel` that a per-user cache needs (DESIGN §1 "Cache"):
 * per behaviour its code per group, value per head and logit bias; per target its query per
 * head and fused embedding; the codebooks; the temporal kernel; and the tower that turns the
 * interest vector into a probability. A snapshot of the weights at construction (`fingerprint`);
 * the kernel object is the model's live one.
 */
export class VqlServingParts {
  readonly fingerprint: string;
  readonly heads: number;
  readonly groups: number;
  readonly headDim: number;
  /** Codes per group (K_g, or Σ K_g for each group when the codebook is shared). */
  readonly codebookSizes: readonly number[];
  readonly kernel: SeparableKernel | null;
  readonly useContext: boolean;
  private readonly attention: VqlAttention;
  private readonly proj: { wq: Float32Array; wk: Float32Array; wv: Float32Array; inputDim: number };
  private readonly codebooks: Float32Array[];
  private readonly tower: ReturnType<CtrModel['towerHost']>;

  constructor(private readonly model: CtrModel) {
    if (!(model.interest instanceof VqlAttention)) {
      throw new VqlModelError('NOT_VQL', `VqlServingParts: the model's interest module is "${model.interest.kind}", not "vql".`);
    }
    this.attention = model.interest;
    this.fingerprint = model.fingerprint();
    const { heads, groups, headDim } = this.attention.shape;
    this.heads = heads;
    this.groups = groups;
    this.headDim = headDim;
    this.useContext = this.attention.useContext;
    this.kernel = this.attention.temporalKernel();
    this.proj = this.attention.projectionsHost();
    this.codebooks = Array.from({ length: groups }, (_, g) => this.attention.quantizer.codebookValues(g));
    this.codebookSizes = this.codebooks.map((c) => c.length / headDim);
    this.tower = model.towerHost();
  }

  /** Effective codes of group g, [K_g·d_h]. */
  codebook(g: number): Float32Array {
    const c = this.codebooks[g];
    if (c === undefined) throw new VqlModelError('INVALID_ARGUMENT', `VqlServingParts.codebook: group ${g} is outside 0..${this.groups - 1}.`);
    return c;
  }

  /**
   * Behaviours (item ids, [n·width] context per history feature) → code per group [n·G],
   * value per head [n·H·d_h] and logit bias [n] (zeros without a context bias).
   */
  encodeBehaviours(items: Int32Array, context: Readonly<Record<string, Int32Array | Float32Array>> = {}): { codes: Int32Array; values: Float32Array; logitBias: Float32Array } {
    const n = items.length;
    const { item, fused, bias } = this.model.embedBehaviours(items, context);
    const x = this.useContext ? fused : item;
    const { heads: H, groups: G, headDim: dh } = this;
    const keys = matmulHost(x, n, this.proj.inputDim, this.proj.wk, G * dh);
    const codes = new Int32Array(n * G);
    for (let g = 0; g < G; g++) {
      const kg = new Float32Array(n * dh);
      for (let i = 0; i < n; i++) kg.set(keys.subarray(i * G * dh + g * dh, i * G * dh + g * dh + dh), i * dh);
      const z = this.attention.quantizer.assign(kg, g);
      for (let i = 0; i < n; i++) codes[i * G + g] = z[i]!;
    }
    const values = matmulHost(x, n, this.proj.inputDim, this.proj.wv, H * dh);
    const logitBias = this.useContext && bias !== null ? bias : new Float32Array(n);
    return { codes, values, logitBias };
  }

  /**
   * Targets (item ids, item-scope context) → query per head [n·H·d_h] (logits are
   * q·c/√d_h, the scale is NOT applied) and fused embedding [n·D] for the tower.
   */
  encodeTargets(items: Int32Array, context: Readonly<Record<string, Int32Array | Float32Array>> = {}): { queries: Float32Array; embeddings: Float32Array } {
    const { item, fused } = this.model.embedTargets(items, context);
    const x = this.useContext ? fused : item;
    return { queries: matmulHost(x, items.length, this.proj.inputDim, this.proj.wq, this.heads * this.headDim), embeddings: fused };
  }

  /**
   * Click probability from the interest vector [H·d_h] (head outputs, zeros for an empty
   * history), the target's fused embedding [D] and, when the model has a short-term branch,
   * the mean fused embedding of the newest `shortTerm` behaviours [D].
   */
  score(interest: Float32Array, targetEmbedding: Float32Array, shortTerm?: Float32Array): number {
    const I = this.heads * this.headDim;
    const D = targetEmbedding.length;
    if (interest.length !== I) throw new VqlModelError('SHAPE_MISMATCH', `VqlServingParts.score: interest has ${interest.length} values, expected ${I}.`);
    const parts: Float32Array[] = [interest, targetEmbedding];
    if (this.tower.interaction !== null) {
      const p = matmulHost(targetEmbedding, 1, D, this.tower.interaction, I);
      for (let k = 0; k < I; k++) p[k] = p[k]! * interest[k]!;
      parts.push(p);
    }
    if (this.model.config.shortTerm > 0) {
      if (shortTerm === undefined || shortTerm.length !== D) {
        throw new VqlModelError('SHAPE_MISMATCH', `VqlServingParts.score: this model has a short-term branch; shortTerm must hold ${D} values.`);
      }
      parts.push(shortTerm);
    }
    let x: Float32Array = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      x.set(p, o);
      o += p.length;
    }
    this.tower.layers.forEach((layer, i) => {
      if (x.length !== layer.inDim) throw new VqlModelError('SHAPE_MISMATCH', `VqlServingParts.score: tower layer ${i} expects ${layer.inDim} inputs, got ${x.length}.`);
      const y = matmulHost(x, 1, layer.inDim, layer.kernel, layer.outDim);
      for (let k = 0; k < y.length; k++) {
        y[k] = y[k]! + layer.bias[k]!;
        if (i < this.tower.layers.length - 1 && y[k]! < 0) y[k] = 0;
      }
      x = y;
    });
    return 1 / (1 + Math.exp(-x[0]!));
  }
}
