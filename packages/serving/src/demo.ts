import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateSynthetic, saveEventTable } from '@vql/data';
import { CtrModel, Trainer, exportModel } from '@vql/model';
import { initBackend } from '@vql/runtime';
import { buildModelCaches, tableUserKey } from './build.js';

export interface DemoOptions {
  /** Output directory: `model/`, `events/`, `caches/`. */
  out: string;
  /** Seed of the synthetic data, the model and the training. Default 1. */
  seed?: number;
  /** Training epochs. Default 2. */
  epochs?: number;
  log?: (line: string) => void;
}

export interface DemoResult {
  modelDir: string;
  eventsDir: string;
  /** The `--store` to serve it with. */
  store: string;
  fingerprint: string;
  users: number;
  events: number;
  /** A user with a cache and a few item ids, for the first request. */
  sampleUser: string;
  sampleItems: number[];
  validAuc: number;
}

/**
 * A demo model from the repository alone: synthetic ultra-long users (@vql/data, seeded), a
 * small VQL model with the production shape (H = 4 in 2 groups, d_h = 16, K = [64, 256]) trained
 * on whole histories, exported, its event table saved, and its caches built into LMDB.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const seed = options.seed ?? 1;
  const log = options.log ?? (() => {});
  const out = resolve(options.out);
  mkdirSync(out, { recursive: true });
  await initBackend();
  const ds = generateSynthetic({ seed, numUsers: 200, numItems: 500, numCategories: 10, historyLength: { min: 50, median: 300, max: 2000 }, impressionsPerUser: 24 });
  log(`synthetic data: ${ds.table.numEvents} events of ${ds.table.userOffsets.length - 2} users, ${ds.samples.train.size} training impressions (seed ${seed})`);
  const model = new CtrModel({
    numItems: ds.schema.numItems,
    embeddingDim: 32,
    interest: { kind: 'vql', heads: 4, groups: 2, headDim: 16, codebookSizes: [64, 256] },
    historyPolicy: { kind: 'whole' },
    tower: [64, 32],
    seed,
  });
  const modelDir = join(out, 'model');
  const eventsDir = join(out, 'events');
  const spec = { kind: 'lmdb' as const, path: join(out, 'caches') };
  let fingerprint: string;
  let validAuc: number;
  const trainer = new Trainer(model, { layout: 'user', maxLen: 1, batchSize: 256, epochs: options.epochs ?? 2, learningRate: 1e-2, seed, progress: false, log });
  try {
    validAuc = trainer.fit(ds.samples.train, ds.samples.valid).best.auc;
    ({ fingerprint } = await exportModel(model, modelDir, { demo: true, seed }));
  } finally {
    trainer.dispose();
    model.dispose();
  }
  saveEventTable(ds.table, eventsDir);
  const report = await buildModelCaches({ modelDir, table: ds.table, spec, fingerprint, workers: 2 });
  log(`caches: ${report.built} users, ${report.events} events in ${report.seconds.toFixed(1)} s`);
  const key = tableUserKey(ds.table);
  return {
    modelDir,
    eventsDir,
    store: `lmdb:${spec.path}`,
    fingerprint,
    users: report.built,
    events: report.events,
    sampleUser: key(1),
    sampleItems: [1, 2, 3],
    validAuc,
  };
}
