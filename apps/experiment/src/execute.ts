import { auc, gaucDetail, logLoss } from '@vql/metrics';
import { CtrModel, Trainer, evaluateModel } from '@vql/model';
import { initBackend } from '@vql/runtime';
import type { DatasetName, ExperimentConfig } from './config.js';
import { prepareDataset } from './datasets.js';
import type { PreparedDataset } from './datasets.js';
import { modelConfigFor } from './methods.js';
import type { RunSpec } from './plan.js';
import type { RunRecord } from './results.js';
import type { RunExecutor } from './runner.js';

export { availableDatasets } from './datasets.js';

/** Trains and evaluates real models; datasets are prepared once per (dataset, seed). */
export function createExecutor(dataDir: string, log: (line: string) => void = (l) => console.log(l)): RunExecutor {
  const cache = new Map<string, PreparedDataset>();

  async function dataset(config: ExperimentConfig, name: DatasetName, seed: number): Promise<PreparedDataset> {
    const key = `${name}/${seed}`;
    let ds = cache.get(key);
    if (ds === undefined) {
      const dsConfig = config.datasets.find((d) => d.name === name)!;
      const started = performance.now();
      ds = await prepareDataset(dsConfig, seed, dataDir);
      log(
        `dataset ${name} (seed ${seed}): ${ds.schema.numUsers} users, ${ds.schema.numItems} items, ` +
          `${ds.splits.train.size}/${ds.splits.valid.size}/${ds.splits.test.size} train/valid/test samples ` +
          `(using ${ds.train.size}/${ds.valid.size}/${ds.test.size}) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      cache.set(key, ds);
    }
    return ds;
  }

  return {
    async prepare(config) {
      await initBackend({ backend: config.backend });
    },
    async execute(spec: RunSpec, config: ExperimentConfig): Promise<Partial<RunRecord>> {
      if (spec.studies.includes('latency')) {
        const { measureLatency } = await import('./latency.js');
        return measureLatency(spec, config);
      }
      const data = await dataset(config, spec.dataset, spec.seed);
      if (spec.method === 'oracle') return oracleMetrics(data);
      return trainAndEvaluate(spec, config, data);
    },
    dispose() {
      cache.clear();
    },
  };
}

function oracleMetrics(data: PreparedDataset): Partial<RunRecord> {
  const probs = data.test.trueProb;
  if (probs === undefined) throw new Error(`dataset ${data.name} has no oracle probabilities`);
  return {
    auc: auc(data.test.label, probs),
    gauc: gaucDetail(data.test.user, data.test.label, probs).gauc,
    logloss: logLoss(data.test.label, probs),
    note: 'true click probability of the generator (ceiling)',
  };
}

function trainAndEvaluate(spec: RunSpec, config: ExperimentConfig, data: PreparedDataset): Partial<RunRecord> {
  const model = new CtrModel(modelConfigFor(spec, config, data));
  const trainer = new Trainer(model, {
    maxLen: spec.L,
    batchSize: config.train.batchSize,
    epochs: config.train.epochs,
    learningRate: config.train.learningRate,
    patience: config.train.patience,
    seed: spec.seed,
    log: () => {},
    progress: false,
  });
  try {
    const started = performance.now();
    const result = trainer.fit(data.train, data.valid);
    const trainSeconds = (performance.now() - started) / 1000;
    const test = evaluateModel(model, data.test, { maxLen: spec.L });
    return {
      auc: test.auc,
      gauc: test.gauc,
      logloss: test.logLoss,
      trainSeconds,
      // Training steps only (validation excluded), averaged over epochs.
      samplesPerSecond: result.epochs.reduce((a, e) => a + e.samplesPerSecond, 0) / result.epochs.length,
      epochs: result.epochs.length,
    };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}
