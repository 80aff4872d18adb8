import { createRng, tf, type Tensor, type Variable } from '@vql/runtime';
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
    // Collision weights [B, m, L] (1 where behaviour l shares the target's round-r bucket), then one
    // batched matmul sums the colliding values: O(B·m·L·O), no per-bucket ops.
    const collide = new Float32Array(B * m * L);
    const counts = new Float32Array(B * m);
    const positions = new Int32Array(L);
    for (let b = 0; b < B; b++) {
      const n = realPositions(inputs, b, positions);
      for (let r = 0; r < m; r++) {
        const tb = bucketOf(tProj, b, r, tau, m);
        for (let i = 0; i < n; i++) {
          const l = positions[i]!;
          if (uBucket[inputs.inverseHost[b * L + l]! * m + r] === tb) {
            collide[(b * m + r) * L + l] = 1;
            counts[b * m + r]! += 1;
          }
        }
      }
    }
    const values = inputs.gatherHistory(tf.matMul(unique, this.wv)); // [B, L, O]
    let weights: Tensor = tf.tensor3d(collide, [B, m, L]);
    if (this.timeKernel !== null) weights = tf.mul(weights, tf.reshape(tf.exp(this.timeKernel.logWeight(inputs.dt)), [B, 1, L]));
    let sums = tf.matMul(weights, values); // [B, m, O]
    if (this.normalize === 'l2') {
      // eps only matters for empty buckets (exact zeros), whose gradient is zero anyway.
      sums = tf.div(sums, tf.sqrt(tf.add(tf.sum(tf.square(sums), -1, true), 1e-12)));
    } else if (this.normalize === 'count') {
      if (this.timeKernel === null) {
        const inv = counts.map((c) => (c > 0 ? 1 / c : 0));
        sums = tf.mul(sums, tf.tensor3d(inv, [B, m, 1]));
      } else {
        // The κ-weighted mean; empty buckets (total 0) stay exact zeros.
        const total = tf.sum(weights, -1, true); // [B, m, 1]
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
