import { createRng, hostF32, scratchF32, tensorFromHost, tf, type Tensor, type Variable } from '@vql/runtime';
import { takeWeight } from '@vql/model/module-kit';
import type { InterestBuildContext, InterestInputs, InterestModule, InterestModuleConfig, InterestOutput } from '@vql/model';
import type { KernelConfig } from '@vql/temporal-kernel';
import { assignAll, denseVariable, embeddingsOf, ownedVariable } from '../attention.js';
import { boolOption, checkKnown, enumOption, intOption } from '../config.js';
import { bucketOf, randomRotation } from '../simhash.js';
import { TimeKernel } from '../time-kernel.js';
import { realPositions } from './topk-base.js';

export const SDIM_MAX_BITS_PER_ROUND = 16;
export const SDIM_MAX_ROUNDS = 256;
export type SdimNormalize = 'l2' | 'count' | 'none';

export interface SdimOptions {
  /** m: independent hash rounds. Default 16, 1..256. */
  rounds?: number;
  /** τ: SimHash bits per round (2^τ buckets). Default 3, 1..16. */
  hashBits?: number;
  /** Width of the behaviour values v_i = e_i W_V (and of the interest). Default D. */
  outputDim?: number;
  /** How a round's bucket sum is scaled before averaging: SDIM's 'l2' (default), 'count' (mean), 'none'. */
  normalize?: SdimNormalize;
  /** Project the fused item ⊕ context embeddings into values (the hash always reads the item embedding). Default true. */
  useContext?: boolean;
  /**
   * Learned separable temporal kernel (`@vql/temporal-kernel` config, timeUnit 'seconds'): each
   * colliding behaviour counts with weight κ(dt) in its bucket's sum (SDIM has no softmax to add
   * log κ to; e^{log κ} is what that bias would do). Default null (off, as published).
   */
  kernel?: KernelConfig | null;
}

/** Per (sample b, round r), the flat positions b·L + l colliding with the target: hits[offsets[b·m + r] …). */
interface Collisions {
  offsets: Int32Array;
  positions: Int32Array;
  /** Position → row of the unique-row table. */
  inverse: Int32Array;
  rounds: number;
}

/**
 * out[b, r] = Σ_{p ∈ hits(b, r)} w[p] · rows[inverse[p]] ([B, m, O] from unique rows [U, O] and
 * weights [B, L] or null = 1), and its gradient to rows and weights, on the host in O(hits · O).
 */
function collisionSums(rows: Tensor, weights: Tensor | null, c: Collisions): Tensor {
  const [U, O] = rows.shape as [number, number];
  const m = c.rounds;
  const B = (c.offsets.length - 1) / m;
  const op = tf.customGrad((...args) => {
    const r = hostF32(args[0] as Tensor);
    const w = weights === null ? null : hostF32(args[1] as Tensor);
    const out = scratchF32(B * m * O);
    for (let br = 0; br < B * m; br++) {
      const o = br * O;
      for (let i = c.offsets[br]!; i < c.offsets[br + 1]!; i++) {
        const p = c.positions[i]!;
        const wt = w === null ? 1 : w[p]!;
        const ro = c.inverse[p]! * O;
        for (let k = 0; k < O; k++) out[o + k] += wt * r[ro + k]!;
      }
    }
    return {
      value: tensorFromHost(out, [B, m, O]),
      gradFunc: (dy: Tensor) => {
        const g = hostF32(dy);
        const dRows = scratchF32(U * O);
        const dw = w === null ? null : scratchF32(w.length);
        for (let br = 0; br < B * m; br++) {
          const o = br * O;
          for (let i = c.offsets[br]!; i < c.offsets[br + 1]!; i++) {
            const p = c.positions[i]!;
            const wt = w === null ? 1 : w[p]!;
            const ro = c.inverse[p]! * O;
            let dot = 0;
            for (let k = 0; k < O; k++) {
              dRows[ro + k] += wt * g[o + k]!;
              dot += g[o + k]! * r[ro + k]!;
            }
            if (dw !== null) dw[p] += dot;
          }
        }
        const grads = [tensorFromHost(dRows, [U, O])];
        if (dw !== null) grads.push(tensorFromHost(dw, weights!.shape));
        return grads;
      },
    };
  });
  return weights === null ? op(rows) : op(rows, weights);
}

/**
 * SDIM: hash target and behaviours with m rounds of τ-bit SimHash (fixed seeded rotation) of their
 * item embeddings; in each round the values of the behaviours that land in the target's bucket are
 * summed (no softmax; weighted by κ(dt) with a kernel), the sum is L2-normalised, and the m round
 * vectors are averaged. Collision probability (1 − θ/π)^τ stands in for attention. The hash reads
 * the item embedding only: fused rows of a target and its own past behaviours differ in the
 * behaviour-context slots. Only W_V, the kernel and the embeddings train: the hashes have no
 * gradient. A user's bucket sums are target-independent, so serving keeps m·2^τ (·F with a kernel)
 * sums per user (see `SdimScorer`).
 */
export class Sdim implements InterestModule {
  static readonly kind = 'sdim';
  readonly kind = Sdim.kind;
  readonly config: InterestModuleConfig;
  readonly outputDim: number;
  readonly rounds: number;
  readonly hashBits: number;
  readonly normalize: SdimNormalize;
  readonly useContext: boolean;
  readonly inputDim: number;
  /** d: width of the item embeddings the hash reads. */
  readonly hashDim: number;
  readonly timeKernel: TimeKernel | null;
  private readonly wv: Variable; // [D, O]
  private readonly rotation: Variable; // [d, m·τ], not trained

  constructor(options: SdimOptions, context: InterestBuildContext) {
    const where = 'Sdim';
    checkKnown(where, options as Record<string, unknown>, ['rounds', 'hashBits', 'outputDim', 'normalize', 'useContext', 'kernel']);
    this.rounds = intOption(where, 'rounds', options.rounds, 16, 1, SDIM_MAX_ROUNDS);
    this.hashBits = intOption(where, 'hashBits', options.hashBits, 3, 1, SDIM_MAX_BITS_PER_ROUND);
    this.useContext = boolOption(where, 'useContext', options.useContext, true);
    this.inputDim = this.useContext ? context.fusedDim : context.itemDim;
    this.outputDim = intOption(where, 'outputDim', options.outputDim, this.inputDim, 1, 65536);
    this.normalize = enumOption(where, 'normalize', options.normalize, 'l2', ['l2', 'count', 'none'] as const);
    const rng = createRng(context.seed);
    this.wv = denseVariable(rng, this.inputDim, this.outputDim);
    const bits = this.rounds * this.hashBits;
    this.hashDim = context.itemDim;
    this.rotation = ownedVariable(tf.tensor2d(randomRotation(rng.fork(), this.hashDim, bits), [this.hashDim, bits]), false);
    this.timeKernel = TimeKernel.fromOption(where, options.kernel);
    this.config = {
      kind: this.kind,
      rounds: this.rounds,
      hashBits: this.hashBits,
      outputDim: this.outputDim,
      normalize: this.normalize,
      useContext: this.useContext,
      kernel: this.timeKernel?.jsonConfig() ?? null,
    };
  }

  static fromConfig(config: InterestModuleConfig, context: InterestBuildContext): Sdim {
    return new Sdim(config as SdimOptions, context);
  }

  forward(inputs: InterestInputs): InterestOutput {
    const B = inputs.batchSize;
    const L = inputs.maxLen;
    const m = this.rounds;
    const tau = this.hashBits;
    if (L === 0) return { interest: tf.zeros([B, this.outputDim]) };
    const { unique } = embeddingsOf(inputs, this.useContext);
    const tProj = tf.matMul(inputs.targetItemEmbedding, this.rotation).dataSync() as Float32Array; // [B, m·τ]
    const uProj = tf.matMul(inputs.uniqueItemEmbedding, this.rotation).dataSync() as Float32Array; // [U, m·τ]
    const U = inputs.uniqueCount;
    const uBucket = new Int32Array(U * m);
    for (let u = 0; u < U; u++) for (let r = 0; r < m; r++) uBucket[u * m + r] = bucketOf(uProj, u, r, tau, m);
    // The positions colliding with the target in each round (CSR over b·m + r): a round keeps ~1/2^τ
    // of them, so summing only those is ~2^τ× less work than a dense [B, m, L] × [B, L, O] matmul.
    const offsets = new Int32Array(B * m + 1);
    const hits: number[] = [];
    const positions = new Int32Array(L);
    for (let b = 0; b < B; b++) {
      const n = realPositions(inputs, b, positions);
      for (let r = 0; r < m; r++) {
        const tb = bucketOf(tProj, b, r, tau, m);
        for (let i = 0; i < n; i++) {
          const l = positions[i]!;
          if (uBucket[inputs.inverseHost[b * L + l]! * m + r] === tb) hits.push(b * L + l);
        }
        offsets[b * m + r + 1] = hits.length;
      }
    }
    const collisions: Collisions = { offsets, positions: Int32Array.from(hits), inverse: inputs.inverseHost, rounds: m };
    const weights = this.timeKernel === null ? null : tf.reshape(tf.exp(this.timeKernel.logWeight(inputs.dt)), [B, L]);
    let sums = collisionSums(tf.matMul(unique, this.wv), weights, collisions); // [B, m, O]
    if (this.normalize === 'l2') {
      // eps only matters for empty buckets (exact zeros), whose gradient is zero anyway.
      sums = tf.div(sums, tf.sqrt(tf.add(tf.sum(tf.square(sums), -1, true), 1e-12)));
    } else if (this.normalize === 'count') {
      const counts = new Float32Array(B * m);
      for (let i = 0; i < B * m; i++) counts[i] = offsets[i + 1]! - offsets[i]!;
      if (weights === null) {
        const inv = counts.map((c) => (c > 0 ? 1 / c : 0));
        sums = tf.mul(sums, tf.tensor3d(inv, [B, m, 1]));
      } else {
        // The κ-weighted mean; empty buckets (total 0) stay exact zeros.
        const total = collisionSums(tf.ones([inputs.uniqueCount, 1]), weights, collisions); // [B, m, 1]
        const empty = tf.tensor3d(counts.map((c) => (c > 0 ? 0 : 1)), [B, m, 1]);
        sums = tf.div(sums, tf.add(total, empty));
      }
    }
    return { interest: tf.mean(sums, 1) };
  }

  /** Host copies of W_V [D·O] and the rotation [d·m·τ] (for the online scorer). */
  weightValues(): { wv: Float32Array; rotation: Float32Array } {
    return { wv: this.wv.dataSync() as Float32Array, rotation: this.rotation.dataSync() as Float32Array };
  }

  trainableVariables(): Variable[] {
    return [this.wv, ...(this.timeKernel?.trainableVariables() ?? [])];
  }

  getWeights(): Record<string, Tensor> {
    return { wv: this.wv, 'hash/rotation': this.rotation, ...(this.timeKernel?.weights() ?? {}) };
  }

  setWeights(weights: Record<string, Tensor>): void {
    const wv = takeWeight('Sdim', weights, 'wv', this.wv.shape);
    const rot = takeWeight('Sdim', weights, 'hash/rotation', this.rotation.shape);
    const kernel = this.timeKernel?.checked('Sdim', weights);
    assignAll([[this.wv, wv], [this.rotation, rot]]);
    kernel?.();
  }

  dispose(): void {
    tf.dispose([this.wv, this.rotation]);
    this.timeKernel?.dispose();
  }
}
