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
 * TWIN: each head's search unit scores every behaviour with that head's own attention logit
 * (q^h·k^h/√dh, plus the context bias and, with a kernel, log κ(dt)) and keeps its own top k, as
 * FuxiCTR's TWIN does; head h then attends over its k picks with the same weights. Retrieval and
 * attention stay consistent because they share parameters, and the retrieval improves as the
 * attention trains (selection itself has no gradient).
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
    const logK = this.timeKernel === null ? null : this.timeKernel.logWeightHost(Float32Array.from(inputs.dtHost));
    const scale = 1 / Math.sqrt(dh);
    const k = Math.min(this.k, L);
    const sel = emptySelection(B, k, H);
    const positions = new Int32Array(L);
    const picked = new Int32Array(k);
    const chosen = new Int32Array(k);
    for (let b = 0; b < B; b++) {
      const n = realPositions(inputs, b, positions);
      for (let h = 0; h < H; h++) {
        const qo = b * W + h * dh;
        const count = topKIndices(n, k, (i) => {
          const p = b * L + positions[i]!;
          const u = inputs.inverseHost[p]!;
          let s = 0;
          for (let c = 0; c < dh; c++) s += q[qo + c]! * keys[u * W + h * dh + c]!;
          return s * scale + (biasHost === null ? 0 : biasHost[u]!) + (logK === null ? 0 : logK[p]!);
        }, picked);
        for (let j = 0; j < count; j++) chosen[j] = positions[picked[j]!]!;
        fillSelection(sel, inputs, b, chosen, count, h);
      }
    }
    return { selection: sel, projected: { query, uniqueKeys } };
  }
}
