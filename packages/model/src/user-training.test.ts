import { generateSynthetic, userBatches } from '@vql/data';
import { tinySyntheticConfig } from '@vql/data/testing';
import { initBackend } from '@vql/runtime';
import { assertNoTensorLeak } from '@vql/runtime/testing';
import { CtrModel } from './ctr-model.js';
import type { CtrModelConfig } from './ctr-model.js';
import { Trainer, evaluateModel, predictSamples } from './trainer.js';

const ds = generateSynthetic(tinySyntheticConfig);
const vql = { kind: 'vql', heads: 2, groups: 2, headDim: 4, codebookSizes: [8, 16] };

function modelConfig(extra: Partial<CtrModelConfig> = {}): CtrModelConfig {
  return { numItems: ds.schema.numItems, embeddingDim: 8, contextFeatures: ds.schema.context, interest: vql, tower: [16], seed: 5, ...extra };
}

beforeAll(async () => {
  await initBackend();
});

describe("Trainer with layout 'user'", () => {
  it('trains whole-history VQL deterministically, every sample once per epoch, loss going down', () => {
    const run = (): { losses: number[]; aucs: number[]; fingerprint: string } => {
      const model = new CtrModel(modelConfig());
      const trainer = new Trainer(model, { maxLen: 1, layout: 'user', batchSize: 64, epochs: 3, learningRate: 5e-3, seed: 9, log: () => undefined, progress: false, restoreBest: false });
      const result = trainer.fit(ds.samples.train, ds.samples.valid);
      const steps = [...userBatches(ds.samples.train, { batchSize: 64 })].length;
      expect(result.epochs.map((e) => e.steps)).toEqual([steps, steps, steps]);
      for (const e of result.epochs) expect(e.samplesPerSecond * e.trainSeconds).toBeCloseTo(ds.samples.train.size, 3);
      // Validation scores the whole histories too (the served policy).
      expect(result.epochs[2]!.valid.logLoss).toBeCloseTo(evaluateModel(model, ds.samples.valid, { maxLen: 1, layout: 'user' }).logLoss, 6);
      const out = { losses: result.epochs.map((e) => e.loss), aucs: result.epochs.map((e) => e.valid.auc), fingerprint: model.fingerprint() };
      trainer.dispose();
      model.dispose();
      return out;
    };
    const a = run();
    const b = run();
    expect(b).toEqual(a);
    expect(a.losses[2]!).toBeLessThan(a.losses[0]!);
  });

  it('predicts in sample order, equal to per-sample scoring of the whole histories', () => {
    const model = new CtrModel(modelConfig());
    const longest = Math.max(...Array.from(ds.samples.valid.endOffset, (e, i) => e - ds.table.userOffsets[ds.samples.valid.user[i]!]!));
    const user = predictSamples(model, ds.samples.valid, { maxLen: 1, layout: 'user', batchSize: 50 });
    const sample = predictSamples(model, ds.samples.valid, { maxLen: longest, batchSize: 50 });
    expect(user.labels).toEqual(sample.labels);
    expect(user.users).toEqual(sample.users);
    let err = 0;
    for (let i = 0; i < user.probs.length; i++) err = Math.max(err, Math.abs(user.probs[i]! - sample.probs[i]!));
    expect(err).toBeLessThan(1e-5);
    model.dispose();
  });

  it('full attention takes user batches through the per-sample expansion; no tensor leak per step', async () => {
    const model = new CtrModel(modelConfig({ interest: { kind: 'full-attention', heads: 2, headDim: 4 }, historyPolicy: { kind: 'newest', length: 32 } }));
    const trainer = new Trainer(model, { maxLen: 1, layout: 'user', batchSize: 16, epochs: 1, seed: 1, log: () => undefined, progress: false });
    const batch = userBatches(ds.samples.train, { batchSize: 16, maxLen: 32 })[Symbol.iterator]().next().value!;
    expect(model.prepare(batch).maxLen).toBe(32);
    await assertNoTensorLeak(() => trainer.trainStep(batch), { label: 'trainStep (user batch)' });
    trainer.dispose();
    model.dispose();
    const vqlModel = new CtrModel(modelConfig());
    const vqlTrainer = new Trainer(vqlModel, { maxLen: 1, layout: 'user', batchSize: 16, epochs: 1, seed: 1, log: () => undefined, progress: false });
    const whole = userBatches(ds.samples.train, { batchSize: 16 })[Symbol.iterator]().next().value!;
    await assertNoTensorLeak(() => vqlTrainer.trainStep(whole), { label: 'trainStep (causal VQL)' });
    vqlTrainer.dispose();
    vqlModel.dispose();
  });

  it('rejects an unknown layout by name', () => {
    const model = new CtrModel(modelConfig());
    expect(() => new Trainer(model, { maxLen: 8, seed: 1, layout: 'users' as never })).toThrow(/layout must be 'sample' or 'user'/);
    model.dispose();
  });
});
