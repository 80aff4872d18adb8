import { tf } from '@vql/runtime';
import type { InterestBuildContext, InterestInputs, InterestModuleConfig } from '@vql/model';
import { embeddingsOf, emptySelection, fillSelection } from '../attention.js';
import type { AttentionOptions } from '../attention.js';
import { topKIndices } from '../top-k.js';
import { TopKModule, realPositions } from './topk-base.js';
import type { SelectResult } from './topk-base.js';

export interface TwinOptions extends AttentionOptions {
  /** Behaviours retrieved per request. Default 50; k > L takes all. */
  k?: number;
}

/**
 * TWIN: the search unit scores every behaviour with the exact search unit's own attention logits
 * (mean over heads of q^h·k^h/√dh, plus the context bias) and keeps the top k; the same weights then
 * attend over those k. Retrieval and attention stay consistent because they share parameters, and
 * the retrieval improves as the attention trains (selection itself has no gradient).
 */
export class Twin extends TopKModule {
  static readonly kind = 'twin';
  readonly kind = Twin.kind;

  constructor(options: TwinOptions, context: InterestBuildContext) {
    super('Twin', Twin.kind, options as Record<string, unknown>, context, []);
  }

  static fromConfig(config: InterestModuleConfig, context: InterestBuildContext): Twin {
    return new Twin(config as TwinOptions, context);
  }

  protected select(inputs: InterestInputs): SelectResult {
    const B = inputs.batchSize;
    const L = inputs.maxLen;
    const { heads: H, headDim: dh } = this.shape;
    const W = H * dh;
    const { target, unique, bias } = embeddingsOf(inputs, this.shape.useContext);
    const query = tf.matMul(target, this.proj.wq);
    const uniqueKeys = tf.matMul(unique, this.proj.wk);
    // Scores are only ranked, never differentiated: compute them on the host from the same weights.
    const q = query.dataSync() as Float32Array;
    const keys = uniqueKeys.dataSync() as Float32Array;
    const biasHost = bias === null ? null : (bias.dataSync() as Float32Array);
    const scale = 1 / (H * Math.sqrt(dh));
    const k = Math.min(this.k, L);
    const sel = emptySelection(B, k);
    const positions = new Int32Array(L);
    const picked = new Int32Array(k);
    const chosen = new Int32Array(k);
    for (let b = 0; b < B; b++) {
      const n = realPositions(inputs, b, positions);
      const qo = b * W;
      const count = topKIndices(n, k, (i) => {
        const u = inputs.inverseHost[b * L + positions[i]!]!;
        let s = 0;
        for (let c = 0; c < W; c++) s += q[qo + c]! * keys[u * W + c]!;
        return s * scale + (biasHost === null ? 0 : biasHost[u]!);
      }, picked);
      for (let j = 0; j < count; j++) chosen[j] = positions[picked[j]!]!;
      fillSelection(sel, inputs, b, chosen, count);
    }
    return { selection: sel, projected: { query, uniqueKeys } };
  }
}
