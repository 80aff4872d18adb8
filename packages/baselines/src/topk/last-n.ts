import type { InterestBuildContext, InterestInputs, InterestModuleConfig } from '@vql/model';
import { emptySelection, fillSelection } from '../attention.js';
import type { AttentionOptions, Selection } from '../attention.js';
import { TopKModule, rowLength } from './topk-base.js';

export interface LastNOptions extends AttentionOptions {
  /** Newest behaviours attended to. Default 50; n > L takes all. */
  n?: number;
}

/**
 * DIN-style target attention over only the newest n behaviours: the short-history model that
 * long-sequence methods must beat. Registered as 'last-n' unless @vql/model already has one.
 */
export class LastN extends TopKModule {
  static readonly kind = 'last-n';
  readonly kind = LastN.kind;

  constructor(options: LastNOptions, context: InterestBuildContext) {
    super('LastN', LastN.kind, options as Record<string, unknown>, context, [], 'n');
  }

  static fromConfig(config: InterestModuleConfig, context: InterestBuildContext): LastN {
    return new LastN(config as LastNOptions, context);
  }

  protected select(inputs: InterestInputs): { selection: Selection } {
    const B = inputs.batchSize;
    const L = inputs.maxLen;
    const k = Math.min(this.k, L);
    const sel = emptySelection(B, k);
    const picked = new Int32Array(k);
    for (let b = 0; b < B; b++) {
      let count = 0;
      for (let l = rowLength(inputs, b) - 1; l >= 0 && count < k; l--) {
        if (inputs.host.historyMask[b * L + l] !== 0) picked[count++] = l;
      }
      fillSelection(sel, inputs, b, picked, count);
    }
    return { selection: sel };
  }
}
