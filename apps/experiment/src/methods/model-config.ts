import type { CtrModelConfig } from '@vql/model';
import type { ExperimentConfig } from '../config.js';
import type { PreparedDataset } from '../datasets.js';
import { ExperimentConfigError } from '../errors.js';
import type { RunSpec } from '../run-spec.js';
import { methodEntry } from './table.js';

/**
 * The CtrModel config of a run: the same embeddings, context, tower and regularisation for every
 * method; only what the method's table entry plans differs (interest module, history window,
 * auxiliary-loss weight). The "no-context" ablation removes the context features from the whole
 * model (attention, target and tower).
 */
export function modelConfigFor(spec: RunSpec, config: ExperimentConfig, data: PreparedDataset): CtrModelConfig {
  const entry = methodEntry(spec.method);
  if (entry.interest === undefined) throw new ExperimentConfigError('NOT_A_MODEL', `${spec.method} is a reference score, not a trainable model`);
  const plan = entry.interest({ spec, config, data });
  const m = config.model;
  const contextFeatures = spec.variant === 'no-context' ? [] : data.schema.context;
  return {
    ...(spec.variant === 'whole-history' ? { historyPolicy: { kind: 'whole' } as const } : {}),
    numItems: data.schema.numItems,
    embeddingDim: m.embeddingDim,
    contextFeatures,
    context: { logitBias: m.logitBias },
    interest: plan.interest,
    historyWindow: plan.historyWindow ?? null,
    dropout: config.train.dropout,
    auxLossWeight: plan.auxLossWeight ?? m.vqWeight,
    seed: spec.seed,
  };
}
