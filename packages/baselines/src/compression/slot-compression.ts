import { createRng, tf, type Tensor, type Variable } from '@vql/runtime';
import { gatherRows, takeWeight } from '@vql/model/module-kit';
import type { InterestBuildContext, InterestInputs, InterestModule, InterestModuleConfig, InterestOutput } from '@vql/model';
import { ATTENTION_OPTIONS, Projections, assignAll, denseVariable, embeddingsOf, multiHeadAttend, resolveHeads } from '../attention.js';
import type { AttentionOptions, HeadShape } from '../attention.js';
import { boolOption, checkKnown, intOption } from '../config.js';
import { realPositions } from '../topk/topk-base.js';
import { TIME_BUCKETS, timeBucket } from './time-buckets.js';

export interface SlotCompressionOptions extends AttentionOptions {
  /** M: slots the history is compressed onto. Default 16. */
  slots?: number;
  /** Positions the learned projection covers (newest first); older behaviours are dropped. Default the model's L. */
  maxLen?: number;
  /** Add a learned log-time-bucket term to the compression weights. Default false (as in Linformer). */
  useTime?: boolean;
}

/**
 * Linformer-style compression: keys and values of the L behaviours are projected along the
 * sequence onto M slots by learned matrices E, F indexed by recency rank (0 = newest):
 * K̃_m = Σ_l E[rank_l, m] k_l, Ṽ_m = Σ_l F[rank_l, m] v_l; target attention then runs over the M
 * slots. The compression sees neither the target nor time — the property the VQL paper
 * criticises — unless `useTime` adds T_E[bucket(dt_l), m] (and T_F) to the weights.
 */
export class SlotCompression implements InterestModule {
  static readonly kind = 'slot-compression';
  readonly kind = SlotCompression.kind;
  readonly config: InterestModuleConfig;
  readonly outputDim: number;
  readonly shape: HeadShape;
  readonly slots: number;
  readonly maxLen: number;
  readonly useTime: boolean;
  private readonly proj: Projections;
  private readonly e: Variable; // [maxLen, M]
  private readonly f: Variable; // [maxLen, M]
  private readonly te: Variable | null; // [TIME_BUCKETS, M]
  private readonly tfv: Variable | null; // [TIME_BUCKETS, M]

  constructor(options: SlotCompressionOptions, context: InterestBuildContext) {
    const where = 'SlotCompression';
    checkKnown(where, options as Record<string, unknown>, [...ATTENTION_OPTIONS, 'slots', 'maxLen', 'useTime']);
    this.slots = intOption(where, 'slots', options.slots, 16, 1, 4096);
    this.maxLen = intOption(where, 'maxLen', options.maxLen, Math.max(1, context.maxLen), 1);
    this.useTime = boolOption(where, 'useTime', options.useTime, false);
    this.shape = resolveHeads(where, options as Record<string, unknown>, context);
    this.outputDim = this.shape.heads * this.shape.headDim;
    const rng = createRng(context.seed);
    this.proj = new Projections(rng, this.shape);
    // N(0, 1/maxLen): a slot starts as a random mix of roughly unit scale whatever L is.
    this.e = denseVariable(rng, this.maxLen, this.slots);
    this.f = denseVariable(rng, this.maxLen, this.slots);
    this.te = this.useTime ? denseVariable(rng, TIME_BUCKETS, this.slots, 0.01) : null;
    this.tfv = this.useTime ? denseVariable(rng, TIME_BUCKETS, this.slots, 0.01) : null;
    this.config = {
      kind: this.kind,
      slots: this.slots,
      maxLen: this.maxLen,
      useTime: this.useTime,
      heads: this.shape.heads,
      headDim: this.shape.headDim,
      useContext: this.shape.useContext,
    };
  }

  static fromConfig(config: InterestModuleConfig, context: InterestBuildContext): SlotCompression {
    return new SlotCompression(config as SlotCompressionOptions, context);
  }

  forward(inputs: InterestInputs): InterestOutput {
    const B = inputs.batchSize;
    const L = inputs.maxLen;
    const { heads: H, headDim: dh, useContext } = this.shape;
    const M = this.slots;
    if (L === 0) return { interest: tf.zeros([B, this.outputDim]) };
    // Recency rank per position; padding and behaviours beyond maxLen point at an extra zero row.
    const rank = new Int32Array(B * L).fill(this.maxLen);
    const bucket = new Int32Array(B * L).fill(TIME_BUCKETS);
    const positions = new Int32Array(L);
    const hasHistory = new Float32Array(B * M);
    for (let b = 0; b < B; b++) {
      const n = realPositions(inputs, b, positions);
      if (n > 0) hasHistory.fill(1, b * M, (b + 1) * M);
      for (let i = 0; i < n; i++) {
        const r = n - 1 - i;
        if (r >= this.maxLen) continue;
        const p = b * L + positions[i]!;
        rank[p] = r;
        bucket[p] = timeBucket(inputs.dtHost[p]!);
      }
    }
    const zeroRow = tf.zeros([1, M]);
    const weightsOf = (pos: Variable, time: Variable | null): Tensor => {
      let w = gatherRows(tf.concat([pos, zeroRow], 0), rank);
      if (time !== null) w = tf.add(w, gatherRows(tf.concat([time, zeroRow], 0), bucket));
      return tf.reshape(w, [B, L, M]);
    };
    const { target, unique } = embeddingsOf(inputs, useContext);
    const keysPos = inputs.gatherHistory(tf.matMul(unique, this.proj.wk)); // [B, L, H·dh]
    const valuesPos = inputs.gatherHistory(tf.matMul(unique, this.proj.wv));
    const slotKeys = tf.matMul(weightsOf(this.e, this.te), keysPos, true, false); // [B, M, H·dh]
    const slotValues = tf.matMul(weightsOf(this.f, this.tfv), valuesPos, true, false);
    const interest = multiHeadAttend(tf.matMul(target, this.proj.wq), slotKeys, slotValues, null, hasHistory, H, dh);
    return { interest };
  }

  private own(): Array<[string, Variable]> {
    const out: Array<[string, Variable]> = [
      ['wq', this.proj.wq],
      ['wk', this.proj.wk],
      ['wv', this.proj.wv],
      ['compression/e', this.e],
      ['compression/f', this.f],
    ];
    if (this.te !== null && this.tfv !== null) out.push(['compression/timeE', this.te], ['compression/timeF', this.tfv]);
    return out;
  }

  trainableVariables(): Variable[] {
    return this.own().map(([, v]) => v);
  }

  getWeights(): Record<string, Tensor> {
    return Object.fromEntries(this.own());
  }

  setWeights(weights: Record<string, Tensor>): void {
    const checked = this.own().map(([name, v]) => [v, takeWeight('SlotCompression', weights, name, v.shape)] as const);
    assignAll(checked);
  }

  dispose(): void {
    tf.dispose(this.trainableVariables());
  }
}
