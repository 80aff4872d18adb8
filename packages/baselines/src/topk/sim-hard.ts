import { featureWidth } from '@vql/context';
import type { InterestBuildContext, InterestInputs, InterestModuleConfig } from '@vql/model';
import { emptySelection, fillSelection } from '../attention.js';
import type { AttentionOptions, Selection } from '../attention.js';
import { stringOption } from '../config.js';
import { VqlBaselinesError } from '../errors.js';
import { TopKModule, rowLength } from './topk-base.js';

export interface SimHardOptions extends AttentionOptions {
  /** Behaviours retrieved per request (newest first). Default 50; k > L takes all. */
  k?: number;
  /**
   * Item-scope context feature holding the category: categorical, or multi-valued (genres, tags)
   * where a behaviour matches when it shares any category with the target. Default 'category'.
   */
  categoryFeature?: string;
}

/**
 * SIM (hard search): keep the newest k behaviours whose category equals the target's (for a
 * multi-valued feature: shares one of the target's categories), then multi-head target attention
 * over them. Category 0 (missing) matches nothing. The search has no parameters; only the
 * attention trains.
 */
export class SimHard extends TopKModule {
  static readonly kind = 'sim-hard';
  readonly kind = SimHard.kind;
  readonly categoryFeature: string;
  /** Values per row of the category feature: 1 for categorical, `width` for multi-valued. */
  readonly categoryWidth: number;

  constructor(options: SimHardOptions, context: InterestBuildContext) {
    super('SimHard', SimHard.kind, options as Record<string, unknown>, context, ['categoryFeature']);
    this.categoryFeature = stringOption('SimHard', 'categoryFeature', options.categoryFeature, 'category');
    const spec = context.contextFeatures.find((f) => f.name === this.categoryFeature);
    const known = context.contextFeatures.map((f) => f.name).join(', ') || 'none';
    if (spec === undefined) {
      throw new VqlBaselinesError('INVALID_CONFIG', `SimHard: categoryFeature "${this.categoryFeature}" is not a context feature of the dataset (features: ${known}).`);
    }
    if ((spec.kind !== 'categorical' && spec.kind !== 'multi') || spec.scope !== 'item') {
      throw new VqlBaselinesError(
        'INVALID_CONFIG',
        `SimHard: categoryFeature "${this.categoryFeature}" must be an item-scope categorical or multi-valued feature, got kind "${String(spec.kind)}", scope "${String(spec.scope)}".`,
      );
    }
    this.categoryWidth = featureWidth(spec);
    this.extendConfig({ categoryFeature: this.categoryFeature });
  }

  static fromConfig(config: InterestModuleConfig, context: InterestBuildContext): SimHard {
    return new SimHard(config as SimHardOptions, context);
  }

  protected select(inputs: InterestInputs): { selection: Selection } {
    const B = inputs.batchSize;
    const L = inputs.maxLen;
    const k = Math.min(this.k, L);
    const sel = emptySelection(B, k);
    const name = this.categoryFeature;
    const tc = inputs.host.targetContext[name];
    const hc = inputs.host.historyContext[name];
    const w = this.categoryWidth;
    if (tc === undefined || hc === undefined || tc.length !== B * w || hc.length !== B * L * w) {
      throw new VqlBaselinesError(
        'INVALID_BATCH',
        `SimHard: the batch needs targetContext.${name} [${B * w}] and historyContext.${name} [${B * L * w}]; got ${tc?.length ?? 'none'} and ${hc?.length ?? 'none'}.`,
      );
    }
    const picked = new Int32Array(k);
    const matches = (b: number, p: number): boolean => {
      for (let i = 0; i < w; i++) {
        const cat = tc[b * w + i]!;
        if (cat === 0) continue;
        for (let j = 0; j < w; j++) if (hc[p * w + j] === cat) return true;
      }
      return false;
    };
    for (let b = 0; b < B; b++) {
      let count = 0;
      for (let l = rowLength(inputs, b) - 1; l >= 0 && count < k; l--) {
        if (inputs.host.historyMask[b * L + l] !== 0 && matches(b, b * L + l)) picked[count++] = l;
      }
      fillSelection(sel, inputs, b, picked, count);
    }
    return { selection: sel };
  }
}
