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
 * model (attention, target and tower). `wholeHistory`: a model of the whole history whatever the
 * variant (the latency study, whose histories hold exactly L behaviours, serves it from a cache).
 */
export function modelConfigFor(spec: RunSpec, config: ExperimentConfig, data: PreparedDataset, options: { wholeHistory?: boolean } = {}): CtrModelConfig {
  const entry = methodEntry(spec.method);
  if (entry.interest === undefined) throw new ExperimentConfigError('NOT_A_MODEL', `${spec.method} is a reference score, not a trainable model`);
  const plan = entry.interest({ spec, config, data });
  const m = config.model;
  const contextFeatures = spec.variant === 'no-context' ? [] : data.schema.context;
  const window = entry.window?.(config) ?? null;
  const whole = spec.variant === 'whole-history' || (options.wholeHistory === true && window === null);
  return {
    ...(whole ? { historyPolicy: { kind: 'whole' } as const } : {}),
    numItems: data.schema.numItems,
    embeddingDim: m.embeddingDim,
    contextFeatures,
    context: { logitBias: m.logitBias },
    interest: plan.interest,
    // Newest-L models record L (their history policy), so user-grouped batches and serving apply it too.
    historyWindow: window ?? (whole ? null : spec.L),
    dropout: config.train.dropout,
    auxLossWeight: plan.auxLossWeight ?? m.vqWeight,
    seed: spec.seed,
  };
}
