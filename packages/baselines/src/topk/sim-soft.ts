import { tf, type Tensor, type Variable } from '@vql/runtime';
import { takeWeight, targetAttention } from '@vql/model/module-kit';
import type { InterestBuildContext, InterestInputs, InterestModuleConfig } from '@vql/model';
import { denseVariable, embeddingsOf, emptySelection, fillSelection, ownedVariable } from '../attention.js';
import type { AttentionOptions } from '../attention.js';
import { intOption, numberOption } from '../config.js';
import { VqlBaselinesError } from '../errors.js';
import { topKIndices } from '../top-k.js';
import { TopKModule, realPositions } from './topk-base.js';
import type { SelectResult } from './topk-base.js';

/** The search unit's logit, in parts (see `SimSoft.scoreParts`). */
interface ScoreParts {
  readonly query: Tensor; // [B, r]
  readonly keys: Tensor; // [U, r]
  readonly logKernel: Tensor | null; // [B, L]
}

export interface SimSoftOptions extends AttentionOptions {
  /** Behaviours retrieved per request. Default 50; k > L takes all. */
  k?: number;
  /** r: width of the retrieval projections W_a (target) and W_b (behaviours). Default 16. */
  retrievalDim?: number;
  /** Hidden width of the search unit's auxiliary CTR head. Default 16. */
  retrievalHidden?: number;
  /** Weight of the search unit's auxiliary CTR loss inside `auxLoss`. Default 1; 0 freezes the retriever. */
  retrievalLossWeight?: number;
}

/**
 * SIM (soft search): the general search unit scores every behaviour by an inner product in its
 * own space, s_i = (e_q W_a)·(e_i W_b) (+ log κ(dt_i) with a kernel), keeps the top k, and target
 * attention (separate W_Q, W_K, W_V) runs on them. As in the SIM paper, the search unit trains on
 * its own auxiliary CTR task over all L: U = Σ_i softmax_i(s_i) e_i (softmax rather than SIM's raw
 * r_i, so U does not grow with L), then an MLP on [U, e_q] and BCE against the batch's label.
 */
export class SimSoft extends TopKModule {
  static readonly kind = 'sim-soft';
  readonly kind = SimSoft.kind;
  readonly retrievalDim: number;
  readonly retrievalHidden: number;
  readonly retrievalLossWeight: number;
  private readonly wa: Variable; // [D, r]
  private readonly wb: Variable; // [D, r]
  private readonly aux: { w1: Variable; b1: Variable; w2: Variable; b2: Variable }; // [2D, h], [h], [h, 1], [1]

  constructor(options: SimSoftOptions, context: InterestBuildContext) {
    super('SimSoft', SimSoft.kind, options as Record<string, unknown>, context, ['retrievalDim', 'retrievalHidden', 'retrievalLossWeight']);
    this.retrievalDim = intOption('SimSoft', 'retrievalDim', options.retrievalDim, 16, 1, 4096);
    this.retrievalHidden = intOption('SimSoft', 'retrievalHidden', options.retrievalHidden, 16, 1, 4096);
    this.retrievalLossWeight = numberOption('SimSoft', 'retrievalLossWeight', options.retrievalLossWeight, 1, 0);
    const D = this.shape.inputDim;
    this.wa = denseVariable(this.rng, D, this.retrievalDim);
    this.wb = denseVariable(this.rng, D, this.retrievalDim);
    this.aux = {
      w1: denseVariable(this.rng, 2 * D, this.retrievalHidden),
      b1: ownedVariable(tf.zeros([this.retrievalHidden]), true),
      w2: denseVariable(this.rng, this.retrievalHidden, 1),
      b2: ownedVariable(tf.zeros([1]), true),
    };
    this.extendConfig({ retrievalDim: this.retrievalDim, retrievalHidden: this.retrievalHidden, retrievalLossWeight: this.retrievalLossWeight });
  }

  static fromConfig(config: InterestModuleConfig, context: InterestBuildContext): SimSoft {
    return new SimSoft(config as SimSoftOptions, context);
  }

  /** The search unit's logit parts: query e_q·W_a [B, r], keys e·W_b per unique row [U, r], log κ(dt) [B, L] or null. */
  private scoreParts(inputs: InterestInputs, target: Tensor, unique: Tensor): ScoreParts {
    return { query: tf.matMul(target, this.wa), keys: tf.matMul(unique, this.wb), logKernel: this.timeKernel === null ? null : this.timeKernel.logWeight(inputs.dt) };
  }

  /** Search-unit scores [B, L] (padding included: callers mask it). */
  private scores(inputs: InterestInputs, parts: ScoreParts): Tensor {
    const B = inputs.batchSize;
    const L = inputs.maxLen;
    const s = tf.reshape(tf.matMul(inputs.gatherHistory(parts.keys), tf.reshape(parts.query, [B, this.retrievalDim, 1])), [B, L]);
    return parts.logKernel === null ? s : tf.add(s, parts.logKernel);
  }

  protected select(inputs: InterestInputs): SelectResult {
    const B = inputs.batchSize;
    const L = inputs.maxLen;
    const { target, unique } = embeddingsOf(inputs, this.shape.useContext);
    const parts = this.scoreParts(inputs, target, unique);
    const s = this.scores(inputs, parts).dataSync() as Float32Array;
    const k = Math.min(this.k, L);
    const sel = emptySelection(B, k);
    const positions = new Int32Array(L);
    const picked = new Int32Array(k);
    const chosen = new Int32Array(k);
    for (let b = 0; b < B; b++) {
      const n = realPositions(inputs, b, positions);
      const count = topKIndices(n, k, (i) => s[b * L + positions[i]!]!, picked);
      for (let j = 0; j < count; j++) chosen[j] = positions[picked[j]!]!;
      fillSelection(sel, inputs, b, chosen, count);
    }
    if (!inputs.training || this.retrievalLossWeight === 0) return { selection: sel };
    return { selection: sel, auxLoss: tf.mul(this.auxCtrLoss(inputs, parts, target, unique), this.retrievalLossWeight) };
  }

  /** BCE of the search unit's own CTR head (softmax-pooled history ⊕ target → MLP) against the labels. */
  private auxCtrLoss(inputs: InterestInputs, parts: ScoreParts, target: Tensor, unique: Tensor): Tensor {
    const B = inputs.batchSize;
    const L = inputs.maxLen;
    const label = inputs.host.label;
    if (label === undefined || label.length !== B) {
      throw new VqlBaselinesError(
        'INVALID_BATCH',
        `SimSoft: training needs the batch's labels (host.label [${B}]) for the search unit's auxiliary CTR loss; got ${label === undefined ? 'none' : label.length}.`,
      );
    }
    const D = this.shape.inputDim;
    // Σ_l softmax_l(score_l) e_l as the one fused target attention (one head, keys of width r,
    // values the D-wide rows, no 1/√r); users without behaviours pool exact zeros.
    const has = Float32Array.from(inputs.host.historyLength, (n) => (n > 0 ? 1 : 0));
    const pooled =
      L === 0
        ? tf.zeros([B, D])
        : targetAttention(parts.query, parts.keys, unique, parts.logKernel, {
            inverse: inputs.inverseHost,
            hasHistory: has,
            mask: inputs.host.historyMask,
            codes: null,
            shape: { batchSize: B, maxLen: L, heads: 1, groups: 1, headDim: this.retrievalDim, valueDim: D },
            scale: 1,
          });
    const hidden = tf.relu(tf.add(tf.matMul(tf.concat([pooled, target], 1), this.aux.w1), this.aux.b1));
    const logit = tf.reshape(tf.add(tf.matMul(hidden, this.aux.w2), this.aux.b2), [B]);
    return tf.losses.sigmoidCrossEntropy(tf.tensor1d(label), logit);
  }

  private own(): Array<[string, Variable]> {
    return [
      ['retrieval/wa', this.wa],
      ['retrieval/wb', this.wb],
      ['retrieval/aux/w1', this.aux.w1],
      ['retrieval/aux/b1', this.aux.b1],
      ['retrieval/aux/w2', this.aux.w2],
      ['retrieval/aux/b2', this.aux.b2],
    ];
  }

  protected override extraVariables(): Variable[] {
    return this.own().map(([, v]) => v);
  }

  protected override extraWeights(): Record<string, Tensor> {
    return Object.fromEntries(this.own());
  }

  protected override checkedExtraWeights(weights: Record<string, Tensor>): Array<[Variable, Tensor]> {
    return this.own().map(([name, v]) => [v, takeWeight('SimSoft', weights, name, v.shape)]);
  }
}
