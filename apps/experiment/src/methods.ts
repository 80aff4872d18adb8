import '@vql/baselines';
import type { CtrModelConfig, InterestModuleConfig } from '@vql/model';
import type { ExperimentConfig } from './config.js';
import type { PreparedDataset } from './datasets.js';
import { ExperimentConfigError, ExperimentRunError } from './errors.js';
import type { RunSpec } from './plan.js';

const KERNEL = (rank: number) => ({ type: 'expDecayMixture', timeUnit: 'seconds', numRates: rank, minTimescale: 3600, maxTimescale: 365.25 * 86400 });

/**
 * The CtrModel config of a run: the same embeddings, context, tower and regularisation for every
 * method; only the interest module (and, for last-n, the history window) differs. The "no-context"
 * ablation removes the context features from the whole model (attention, target and tower).
 */
export function modelConfigFor(spec: RunSpec, config: ExperimentConfig, data: PreparedDataset): CtrModelConfig {
  const m = config.model;
  const G = spec.codebookSizes.length;
  const attention = { heads: spec.heads, kernel: KERNEL(m.kernelRank) };
  let interest: InterestModuleConfig;
  let historyWindow: number | null = null;
  switch (spec.method) {
    case 'vql':
      interest = {
        kind: 'vql',
        ...attention,
        groups: G,
        codebookSizes: spec.codebookSizes,
        ...(spec.variant === 'no-key-only' ? { quantizeValues: true } : {}),
        ...(spec.variant === 'no-multi-scale' ? { sharedCodebook: true } : {}),
        ...(spec.variant === 'no-temporal-kernel' ? { kernel: null } : {}),
      };
      break;
    case 'full-attention':
      interest = { kind: 'full-attention', ...attention };
      break;
    case 'last-n':
      interest = { kind: 'full-attention', ...attention };
      historyWindow = m.shortTermLength;
      break;
    case 'sim-hard':
      if (data.categoryFeature === null) throw new ExperimentRunError('NEEDS_CATEGORY_FEATURE', `sim-hard needs an item category feature; dataset ${data.name} has none`);
      // Every baseline gets time: the same learned kernel as VQL (log κ(dt) on its attention logits;
      // κ(dt) weights SDIM's bucket sums), or the compression methods' time-bucket embeddings.
      interest = { kind: 'sim-hard', ...attention, k: m.topK, categoryFeature: data.categoryFeature };
      break;
    case 'sim-soft':
    case 'twin':
      interest = { kind: spec.method, ...attention, k: m.topK };
      break;
    case 'eta':
      interest = { kind: 'eta', ...attention, k: m.topK, hashBits: 64 };
      break;
    case 'sdim':
      interest = { kind: 'sdim', rounds: 16, hashBits: 3, kernel: attention.kernel };
      break;
    case 'slot-compression':
      interest = { kind: 'slot-compression', heads: spec.heads, slots: m.slots, maxLen: spec.L, useTime: true };
      break;
    case 'multi-interest':
      // Pooling width d_a = d (ComiRec-SA uses 4d): 4× cheaper, it keeps `quick` within its budget.
      interest = { kind: 'multi-interest', heads: spec.heads, interests: m.slots, attentionDim: m.embeddingDim, useTime: true };
      break;
    case 'floor':
    case 'oracle':
      throw new ExperimentConfigError('NOT_A_MODEL', `${spec.method} is a reference score, not a trainable model`);
  }
  const contextFeatures = spec.variant === 'no-context' ? [] : data.schema.context;
  return {
    ...(spec.variant === 'whole-history' ? { historyPolicy: { kind: 'whole' } as const } : {}),
    numItems: data.schema.numItems,
    embeddingDim: m.embeddingDim,
    contextFeatures,
    context: { logitBias: m.logitBias },
    interest,
    historyWindow,
    dropout: config.train.dropout,
    // SIM soft's auxiliary loss is its search unit's own CTR loss: weighted as the main one (SIM paper).
    auxLossWeight: spec.method === 'sim-soft' ? 1 : m.vqWeight,
    seed: spec.seed,
  };
}
