import { tf, type Tensor, type Variable } from '@vql/runtime';
import { takeWeight } from '@vql/model';
import type { InterestBuildContext, InterestInputs, InterestModuleConfig } from '@vql/model';
import { denseVariable, embeddingsOf, emptySelection, fillSelection } from '../attention.js';
import type { AttentionOptions } from '../attention.js';
import { intOption, numberOption } from '../config.js';
import { topKIndices } from '../top-k.js';
import { TopKModule, realPositions } from './topk-base.js';
import type { SelectResult } from './topk-base.js';

export interface SimSoftOptions extends AttentionOptions {
  /** Behaviours retrieved per request. Default 50; k > L takes all. */
  k?: number;
  /** r: width of the retrieval projections W_a (target) and W_b (behaviours). Default 16. */
  retrievalDim?: number;
  /** Weight of the retriever's distillation loss inside `auxLoss`. Default 1; 0 freezes the retriever. */
  retrievalLossWeight?: number;
}

/**
 * SIM (soft search): the retriever scores every behaviour by an inner product in its own space,
 * s_i = (e_q W_a)·(e_i W_b), keeps the top k, and target attention (separate W_Q, W_K, W_V) runs on
 * them. The retriever trains on an auxiliary loss over all L: cross-entropy from the (stopped)
 * head-averaged attention distribution to softmax(s). SIM trains it with an auxiliary CTR tower
 * instead; labels are not part of `InterestInputs`, and distilling the attention asks the retriever
 * for exactly what top-k needs (the behaviours the attention would weight most).
 */
export class SimSoft extends TopKModule {
  static readonly kind = 'sim-soft';
  readonly kind = SimSoft.kind;
  readonly retrievalDim: number;
  readonly retrievalLossWeight: number;
  private readonly wa: Variable; // [D, r]
  private readonly wb: Variable; // [D, r]

  constructor(options: SimSoftOptions, context: InterestBuildContext) {
    super('SimSoft', SimSoft.kind, options as Record<string, unknown>, context, ['retrievalDim', 'retrievalLossWeight']);
    this.retrievalDim = intOption('SimSoft', 'retrievalDim', options.retrievalDim, 16, 1, 4096);
    this.retrievalLossWeight = numberOption('SimSoft', 'retrievalLossWeight', options.retrievalLossWeight, 1, 0);
    this.wa = denseVariable(this.rng, this.shape.inputDim, this.retrievalDim);
    this.wb = denseVariable(this.rng, this.shape.inputDim, this.retrievalDim);
    this.extendConfig({ retrievalDim: this.retrievalDim, retrievalLossWeight: this.retrievalLossWeight });
  }

  static fromConfig(config: InterestModuleConfig, context: InterestBuildContext): SimSoft {
    return new SimSoft(config as SimSoftOptions, context);
  }

  protected select(inputs: InterestInputs): SelectResult {
    const B = inputs.batchSize;
    const L = inputs.maxLen;
    const { heads: H, headDim: dh } = this.shape;
    const W = H * dh;
    const { target, unique, bias } = embeddingsOf(inputs, this.shape.useContext);
    const rq = tf.matMul(target, this.wa); // [B, r]
    const ru = inputs.gatherHistory(tf.matMul(unique, this.wb)); // [B, L, r]
    const scores = tf.reshape(tf.matMul(ru, tf.reshape(rq, [B, this.retrievalDim, 1])), [B, L]);
    const s = scores.dataSync() as Float32Array;
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
    const query = tf.matMul(target, this.proj.wq);
    const uniqueKeys = tf.matMul(unique, this.proj.wk);
    if (!inputs.training || this.retrievalLossWeight === 0) return { selection: sel, projected: { query, uniqueKeys } };
    // Teacher: head-averaged softmax of the attention logits over every real behaviour (host, no gradient).
    const q = query.dataSync() as Float32Array;
    const keys = uniqueKeys.dataSync() as Float32Array;
    const biasHost = bias === null ? null : (bias.dataSync() as Float32Array);
    const teacher = new Float32Array(B * L);
    const logits = new Float64Array(L);
    for (let b = 0; b < B; b++) {
      const n = realPositions(inputs, b, positions);
      if (n === 0) continue;
      for (let h = 0; h < H; h++) {
        let max = -Infinity;
        for (let i = 0; i < n; i++) {
          const u = inputs.inverseHost[b * L + positions[i]!]!;
          let dot = 0;
          for (let c = h * dh; c < (h + 1) * dh; c++) dot += q[b * W + c]! * keys[u * W + c]!;
          const z = dot / Math.sqrt(dh) + (biasHost === null ? 0 : biasHost[u]!);
          logits[i] = z;
          if (z > max) max = z;
        }
        let sum = 0;
        for (let i = 0; i < n; i++) sum += (logits[i] = Math.exp(logits[i]! - max));
        for (let i = 0; i < n; i++) teacher[b * L + positions[i]!] += logits[i]! / (sum * H);
      }
    }
    const masked = tf.add(scores, tf.mul(tf.sub(inputs.historyMask, 1), 1e9));
    const crossEntropy = tf.neg(tf.sum(tf.mul(tf.tensor2d(teacher, [B, L]), tf.logSoftmax(masked))));
    const auxLoss = tf.mul(crossEntropy, this.retrievalLossWeight / B);
    return { selection: sel, auxLoss, projected: { query, uniqueKeys } };
  }

  protected override extraVariables(): Variable[] {
    return [this.wa, this.wb];
  }

  protected override extraWeights(): Record<string, Tensor> {
    return { 'retrieval/wa': this.wa, 'retrieval/wb': this.wb };
  }

  protected override checkedExtraWeights(weights: Record<string, Tensor>): Array<[Variable, Tensor]> {
    return [
      [this.wa, takeWeight('SimSoft', weights, 'retrieval/wa', this.wa.shape)],
      [this.wb, takeWeight('SimSoft', weights, 'retrieval/wb', this.wb.shape)],
    ];
  }
}
