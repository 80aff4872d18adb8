import { createRng, tf, type Tensor, type Variable } from '@vql/runtime';
import { takeWeight } from '@vql/model';
import type { InterestBuildContext, InterestInputs, InterestModule, InterestModuleConfig, InterestOutput } from '@vql/model';
import { denseVariable, embeddingsOf } from '../attention.js';
import { boolOption, checkKnown, enumOption, intOption } from '../config.js';
import { bucketOf, randomRotation } from '../simhash.js';
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
  /** Hash and project the fused item ⊕ context embeddings. Default true. */
  useContext?: boolean;
}

/**
 * SDIM: hash target and behaviours with m rounds of τ-bit SimHash (fixed seeded rotation); in each
 * round the behaviours that land in the target's bucket are summed (no softmax), the sum is
 * L2-normalised, and the m round vectors are averaged. Collision probability (1 − θ/π)^τ stands in for
 * attention. Only W_V (and the embeddings) train: the hashes have no gradient. A user's bucket sums
 * are target-independent, so serving keeps m·2^τ sums per user (see `SdimScorer`).
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
  private readonly wv: Variable; // [D, O]
  private readonly rotation: Variable; // [D, m·τ], not trained

  constructor(options: SdimOptions, context: InterestBuildContext) {
    const where = 'Sdim';
    checkKnown(where, options as Record<string, unknown>, ['rounds', 'hashBits', 'outputDim', 'normalize', 'useContext']);
    this.rounds = intOption(where, 'rounds', options.rounds, 16, 1, SDIM_MAX_ROUNDS);
    this.hashBits = intOption(where, 'hashBits', options.hashBits, 3, 1, SDIM_MAX_BITS_PER_ROUND);
    this.useContext = boolOption(where, 'useContext', options.useContext, true);
    this.inputDim = this.useContext ? context.fusedDim : context.itemDim;
    this.outputDim = intOption(where, 'outputDim', options.outputDim, this.inputDim, 1, 65536);
    this.normalize = enumOption(where, 'normalize', options.normalize, 'l2', ['l2', 'count', 'none'] as const);
    const rng = createRng(context.seed);
    this.wv = denseVariable(rng, this.inputDim, this.outputDim);
    const bits = this.rounds * this.hashBits;
    this.rotation = tf.variable(tf.tensor2d(randomRotation(rng.fork(), this.inputDim, bits), [this.inputDim, bits]), false);
    this.config = {
      kind: this.kind,
      rounds: this.rounds,
      hashBits: this.hashBits,
      outputDim: this.outputDim,
      normalize: this.normalize,
      useContext: this.useContext,
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
    const { target, unique } = embeddingsOf(inputs, this.useContext);
    const tProj = tf.matMul(target, this.rotation).dataSync() as Float32Array; // [B, m·τ]
    const uProj = tf.matMul(unique, this.rotation).dataSync() as Float32Array; // [U, m·τ]
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
    let sums = tf.matMul(tf.tensor3d(collide, [B, m, L]), values); // [B, m, O]
    if (this.normalize === 'l2') {
      // eps only matters for empty buckets (exact zeros), whose gradient is zero anyway.
      sums = tf.div(sums, tf.sqrt(tf.add(tf.sum(tf.square(sums), -1, true), 1e-12)));
    } else if (this.normalize === 'count') {
      const inv = counts.map((c) => (c > 0 ? 1 / c : 0));
      sums = tf.mul(sums, tf.tensor3d(inv, [B, m, 1]));
    }
    return { interest: tf.mean(sums, 1) };
  }

  /** Host copies of W_V [D·O] and the rotation [D·m·τ] (for the online scorer). */
  weightValues(): { wv: Float32Array; rotation: Float32Array } {
    return { wv: this.wv.dataSync() as Float32Array, rotation: this.rotation.dataSync() as Float32Array };
  }

  trainableVariables(): Variable[] {
    return [this.wv];
  }

  getWeights(): Record<string, Tensor> {
    return { wv: this.wv, 'hash/rotation': this.rotation };
  }

  setWeights(weights: Record<string, Tensor>): void {
    const wv = takeWeight('Sdim', weights, 'wv', this.wv.shape);
    const rot = takeWeight('Sdim', weights, 'hash/rotation', this.rotation.shape);
    this.wv.assign(wv);
    this.rotation.assign(rot);
  }

  dispose(): void {
    tf.dispose([this.wv, this.rotation]);
  }
}
