import { createRng, tf, type Tensor, type Variable } from '@vql/runtime';
import { gatherRows, takeWeight } from '@vql/model/module-kit';
import type { InterestBuildContext, InterestInputs, InterestModule, InterestModuleConfig, InterestOutput } from '@vql/model';
import { ATTENTION_OPTIONS, Projections, assignAll, denseVariable, embeddingsOf, multiHeadAttend, resolveHeads } from '../attention.js';
import type { AttentionOptions, HeadShape } from '../attention.js';
import { boolOption, checkKnown, intOption } from '../config.js';
import { TIME_BUCKETS, timeBucket } from './time-buckets.js';

export interface MultiInterestOptions extends AttentionOptions {
  /** M: interest vectors per user. Default 4. */
  interests?: number;
  /** d_a: hidden width of the self-attentive pooling. Default 4·D (as in ComiRec-SA). */
  attentionDim?: number;
  /** Add a learned log-time-bucket embedding inside the pooling's tanh. Default false (as in ComiRec). */
  useTime?: boolean;
}

/**
 * ComiRec-SA-style multi-interest extraction: A = softmax_L(tanh(H W_1) W_2) pools the L behaviour
 * embeddings into M interest vectors (AᵀH, [M, D]); multi-head target attention then runs over the M
 * interests. The pooling sees neither the target nor time — what the VQL paper criticises in
 * compression encoders — unless `useTime` adds T[bucket(dt_l)] inside the tanh.
 */
export class MultiInterest implements InterestModule {
  static readonly kind = 'multi-interest';
  readonly kind = MultiInterest.kind;
  readonly config: InterestModuleConfig;
  readonly outputDim: number;
  readonly shape: HeadShape;
  readonly interests: number;
  readonly attentionDim: number;
  readonly useTime: boolean;
  private readonly proj: Projections;
  private readonly w1: Variable; // [D, d_a]
  private readonly w2: Variable; // [d_a, M]
  private readonly time: Variable | null; // [TIME_BUCKETS, d_a]

  constructor(options: MultiInterestOptions, context: InterestBuildContext) {
    const where = 'MultiInterest';
    checkKnown(where, options as Record<string, unknown>, [...ATTENTION_OPTIONS, 'interests', 'attentionDim', 'useTime']);
    this.shape = resolveHeads(where, options as Record<string, unknown>, context);
    this.interests = intOption(where, 'interests', options.interests, 4, 1, 1024);
    this.attentionDim = intOption(where, 'attentionDim', options.attentionDim, 4 * this.shape.inputDim, 1, 65536);
    this.useTime = boolOption(where, 'useTime', options.useTime, false);
    this.outputDim = this.shape.heads * this.shape.headDim;
    const rng = createRng(context.seed);
    this.proj = new Projections(rng, this.shape);
    this.w1 = denseVariable(rng, this.shape.inputDim, this.attentionDim);
    this.w2 = denseVariable(rng, this.attentionDim, this.interests);
    this.time = this.useTime ? denseVariable(rng, TIME_BUCKETS, this.attentionDim, 0.1) : null;
    this.config = {
      kind: this.kind,
      interests: this.interests,
      attentionDim: this.attentionDim,
      useTime: this.useTime,
      heads: this.shape.heads,
      headDim: this.shape.headDim,
      useContext: this.shape.useContext,
    };
  }

  static fromConfig(config: InterestModuleConfig, context: InterestBuildContext): MultiInterest {
    return new MultiInterest(config as MultiInterestOptions, context);
  }

  forward(inputs: InterestInputs): InterestOutput {
    const B = inputs.batchSize;
    const L = inputs.maxLen;
    const M = this.interests;
    const D = this.shape.inputDim;
    const { heads: H, headDim: dh, useContext } = this.shape;
    if (L === 0) return { interest: tf.zeros([B, this.outputDim]) };
    const { target, unique } = embeddingsOf(inputs, useContext);
    const history = useContext ? inputs.historyEmbedding() : inputs.gatherHistory(unique); // [B, L, D]
    // Without time the pooling logits depend on the behaviour only: project the U unique rows once.
    let hidden = inputs.gatherHistory(tf.matMul(unique, this.w1)); // [B, L, d_a]
    if (this.time !== null) {
      const bucket = new Int32Array(B * L);
      for (let i = 0; i < B * L; i++) bucket[i] = timeBucket(inputs.dtHost[i]!);
      hidden = tf.add(hidden, tf.reshape(gatherRows(this.time, bucket), [B, L, this.attentionDim]));
    }
    const logits = tf.reshape(tf.matMul(tf.reshape(tf.tanh(hidden), [B * L, this.attentionDim]), this.w2), [B, L, M]);
    const masked = tf.add(tf.transpose(logits, [0, 2, 1]), tf.reshape(tf.mul(tf.sub(inputs.historyMask, 1), 1e9), [B, 1, L]));
    const interestVectors = tf.matMul(tf.softmax(masked), history); // [B, M, D]
    const flat = tf.reshape(interestVectors, [B * M, D]);
    const keys = tf.reshape(tf.matMul(flat, this.proj.wk), [B, M, H * dh]);
    const values = tf.reshape(tf.matMul(flat, this.proj.wv), [B, M, H * dh]);
    const has = new Float32Array(B * M);
    for (let b = 0; b < B; b++) if (inputs.host.historyLength[b]! > 0) has.fill(1, b * M, (b + 1) * M);
    return { interest: multiHeadAttend(tf.matMul(target, this.proj.wq), keys, values, null, has, H, dh) };
  }

  private own(): Array<[string, Variable]> {
    const out: Array<[string, Variable]> = [
      ['wq', this.proj.wq],
      ['wk', this.proj.wk],
      ['wv', this.proj.wv],
      ['pooling/w1', this.w1],
      ['pooling/w2', this.w2],
    ];
    if (this.time !== null) out.push(['pooling/time', this.time]);
    return out;
  }

  trainableVariables(): Variable[] {
    return this.own().map(([, v]) => v);
  }

  getWeights(): Record<string, Tensor> {
    return Object.fromEntries(this.own());
  }

  setWeights(weights: Record<string, Tensor>): void {
    const checked = this.own().map(([name, v]) => [v, takeWeight('MultiInterest', weights, name, v.shape)] as const);
    assignAll(checked);
  }

  dispose(): void {
    tf.dispose(this.trainableVariables());
  }
}
