import { buildCtrSamples, datasetDir, generateSynthetic, loadDataset } from '@vql/data';
import type { ContextFeatureSpec } from '@vql/context';
import type { CtrSampleSet, CtrSplits, DatasetSchema, SyntheticConfig, SyntheticOracle } from '@vql/data';
import { createRng } from '@vql/runtime';
import type { DatasetConfig, DatasetName, ExperimentConfig } from './config.js';
import { loadUserDataset, userDatasetAvailable } from './user-datasets.js';

export interface PreparedDataset {
  name: DatasetName;
  schema: DatasetSchema;
  /** Full splits; `train` / `valid` / `test` below may be seeded subsamples of them. */
  splits: CtrSplits;
  train: CtrSampleSet;
  valid: CtrSampleSet;
  test: CtrSampleSet;
  /** Item-scope categorical feature SIM hard searches on, if the dataset has one. */
  categoryFeature: string | null;
  hasOracle: boolean;
  /** The generator's true model (synthetic data only): scores the oracle and oracle@L. */
  oracle?: SyntheticOracle;
}

/** Drops keys whose value is undefined (zod's optional fields) so they fall back to the defaults. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Datasets of the config that can run here: synthetic always, real ones when their folder exists. */
export function availableDatasets(config: ExperimentConfig, dataDir: string): Set<DatasetName> {
  const out = new Set<DatasetName>();
  for (const ds of config.datasets) {
    if (ds.name === 'synthetic' || (ds.name === 'events' || ds.name === 'longctr' ? userDatasetAvailable(ds) : datasetDir(ds.name, dataDir) !== null)) out.add(ds.name);
  }
  return out;
}

/** A seeded subsample of at most `max` samples, in the original (time) order. */
export function subsample(set: CtrSampleSet, max: number | undefined, seed: string): CtrSampleSet {
  if (max === undefined || set.size <= max) return set;
  const picked = createRng(seed).permutation(set.size).subarray(0, max).sort();
  const take = <T extends Int32Array | Float32Array | Float64Array>(a: T): T => {
    const out = new (a.constructor as new (n: number) => T)(max);
    for (let i = 0; i < max; i++) out[i] = a[picked[i]!]!;
    return out;
  };
  const out: CtrSampleSet = {
    table: set.table,
    size: max,
    user: take(set.user),
    endOffset: take(set.endOffset),
    targetItem: take(set.targetItem),
    targetTime: take(set.targetTime),
    label: take(set.label),
  };
  if (set.trueProb !== undefined) out.trueProb = take(set.trueProb);
  return out;
}

function categoryFeatureOf(context: ContextFeatureSpec[]): string | null {
  const candidates = context.filter((f) => f.scope === 'item' && (f.kind === 'categorical' || f.kind === 'multi'));
  const named = candidates.find((f) => /categor|genre/i.test(f.name));
  return (named ?? candidates[0])?.name ?? null;
}

/** Loads (or generates) a dataset and builds its CTR samples; deterministic in (config, seed). */
export async function prepareDataset(ds: DatasetConfig, seed: number, dataDir: string): Promise<PreparedDataset> {
  let schema: DatasetSchema;
  let splits: CtrSplits;
  let hasOracle = false;
  let oracle: SyntheticOracle | undefined;
  if (ds.name === 'synthetic') {
    const { historyLength, ...rest } = ds.synthetic!;
    const generated = generateSynthetic({ ...defined(rest), historyLength: defined(historyLength), seed: `synthetic/${seed}` } as SyntheticConfig);
    schema = generated.schema;
    splits = generated.samples;
    hasOracle = true;
    oracle = generated.oracle;
  } else if (ds.name === 'events' || ds.name === 'longctr') {
    ({ schema, splits } = await loadUserDataset(ds, seed));
  } else {
    const table = await loadDataset(ds.name, { dataDir });
    schema = table.schema;
    splits = buildCtrSamples(table, { seed: `${ds.name}/samples/${seed}` });
  }
  return {
    name: ds.name,
    schema,
    splits,
    train: subsample(splits.train, ds.maxTrainSamples, `${ds.name}/train/${seed}`),
    valid: subsample(splits.valid, ds.maxEvalSamples, `${ds.name}/valid/${seed}`),
    test: subsample(splits.test, ds.maxEvalSamples, `${ds.name}/test/${seed}`),
    categoryFeature: categoryFeatureOf(schema.context),
    hasOracle,
    ...(oracle !== undefined ? { oracle } : {}),
  };
}
