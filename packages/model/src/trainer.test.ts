import { batches, generateSynthetic } from '@vql/data';
import type { CtrBatch } from '@vql/data';
import { tinySyntheticConfig } from '@vql/data/testing';
import { initBackend, tf } from '@vql/runtime';
import { assertNoTensorLeak } from '@vql/runtime/testing';
import { CtrModel } from './ctr-model.js';
import type { CtrModelConfig } from './ctr-model.js';
import { Trainer, evaluateModel } from './trainer.js';

const ds = generateSynthetic(tinySyntheticConfig);
const vql = { kind: 'vql', heads: 2, groups: 2, headDim: 4, codebookSizes: [8, 16] };

function modelConfig(extra: Partial<CtrModelConfig> = {}): CtrModelConfig {
  return { numItems: ds.schema.numItems, embeddingDim: 8, contextFeatures: ds.schema.context, interest: vql, tower: [16], seed: 5, ...extra };
}

function firstBatch(size = 32, maxLen = 48): CtrBatch {
  return batches(ds.samples.train, { batchSize: size, maxLen })[Symbol.iterator]().next().value!;
}

beforeAll(async () => {
  await initBackend();
});

describe('Trainer', () => {
  it('logs one line per epoch with loss, AUC, GAUC, LogLoss, samples/s and perplexity; same seed ⇒ same metrics', () => {
    const run = (): { lines: string[]; aucs: number[]; fingerprint: string } => {
      const model = new CtrModel(modelConfig());
      const lines: string[] = [];
      const trainer = new Trainer(model, { maxLen: 48, batchSize: 64, epochs: 2, learningRate: 5e-3, seed: 9, log: (l) => lines.push(l), progress: false, restoreBest: false });
      const result = trainer.fit(ds.samples.train, ds.samples.valid);
      const out = { lines, aucs: result.epochs.map((e) => e.valid.auc), fingerprint: model.fingerprint() };
      expect(result.epochs.map((e) => e.steps)).toEqual([4, 4]);
      trainer.dispose();
      model.dispose();
      return out;
    };
    const a = run();
    const b = run();
    expect(a.lines).toHaveLength(2);
    expect(a.lines[0]).toMatch(/^epoch 1\/2 \| loss \d\.\d{4} \(bce \d\.\d{4} aux \d\.\d{4}\) \| valid AUC 0\.\d{4} GAUC (\d\.\d{4}|n\/a) LogLoss \d\.\d{4} \| \d+ samples\/s \| perplexity \d+\.\d$/);
    expect(b.aucs).toEqual(a.aucs);
    expect(b.fingerprint).toBe(a.fingerprint);
  });

  it('does not leak tensors per step or per epoch', async () => {
    const model = new CtrModel(modelConfig({ shortTerm: 5 }));
    const trainer = new Trainer(model, { maxLen: 32, batchSize: 64, epochs: 1, seed: 1, log: () => undefined, progress: false });
    const batch = firstBatch(16, 32);
    await assertNoTensorLeak(() => trainer.trainStep(batch), { label: 'trainStep' });
    trainer.fit(ds.samples.train, ds.samples.valid);
    const afterOne = tf.memory().numTensors;
    trainer.fit(ds.samples.train, ds.samples.valid);
    trainer.fit(ds.samples.train, ds.samples.valid);
    expect(tf.memory().numTensors).toBe(afterOne);
    trainer.dispose();
    model.dispose();
  });

  it('stops on a NaN loss with the step number and leaves the weights untouched', () => {
    const model = new CtrModel(modelConfig({ interest: { kind: 'full-attention', heads: 2, headDim: 4 } }));
    const trainer = new Trainer(model, { maxLen: 32, batchSize: 64, epochs: 1, seed: 1, log: () => undefined, progress: false });
    trainer.trainStep(firstBatch(16, 32));
    const bias = model.getWeights()['tower/1/bias'] as tf.Variable;
    bias.assign(tf.tensor1d([Number.NaN]));
    const before = Array.from(model.getWeights()['items/embedding']!.dataSync());
    expect(() => trainer.fit(ds.samples.train, ds.samples.valid)).toThrow(/Training loss is NaN at epoch 1, step 1 \(global step 2\).*stopped before the update/);
    expect(Array.from(model.getWeights()['items/embedding']!.dataSync())).toEqual(before);
    trainer.dispose();
    model.dispose();
  });

  it('stops early when validation AUC stops improving and restores the best epoch', () => {
    const model = new CtrModel(modelConfig({ interest: { kind: 'full-attention', heads: 2, headDim: 4 } }));
    const lines: string[] = [];
    // A large learning rate overfits the 256 training samples within a few epochs.
    const trainer = new Trainer(model, { maxLen: 32, batchSize: 32, epochs: 12, learningRate: 0.05, patience: 1, monitor: 'auc', seed: 2, log: (l) => lines.push(l), progress: false });
    const r = trainer.fit(ds.samples.train, ds.samples.valid);
    expect(r.stoppedEarly).toBe(true);
    expect(r.epochs.length).toBe(r.bestEpoch + 1);
    expect(lines.at(-1)).toMatch(new RegExp(`restored the weights of epoch ${r.bestEpoch}`));
    // The restored weights score the validation set exactly as the best epoch did.
    expect(evaluateModel(model, ds.samples.valid, { maxLen: 32 }).auc).toBeCloseTo(r.best.auc, 10);
    trainer.dispose();
    model.dispose();
  });

  it('by default stops on validation LogLoss (patience 2) and restores the epoch with the lowest LogLoss', () => {
    const model = new CtrModel(modelConfig({ interest: { kind: 'full-attention', heads: 2, headDim: 4 } }));
    const trainer = new Trainer(model, { maxLen: 32, batchSize: 32, epochs: 12, learningRate: 0.05, seed: 2, log: () => undefined, progress: false });
    const r = trainer.fit(ds.samples.train, ds.samples.valid);
    expect(r.stoppedEarly).toBe(true);
    expect(r.epochs.length).toBe(r.bestEpoch + 2);
    const lowest = Math.min(...r.epochs.map((e) => e.valid.logLoss));
    expect(r.best.logLoss).toBe(lowest);
    expect(evaluateModel(model, ds.samples.valid, { maxLen: 32 }).logLoss).toBeCloseTo(lowest, 10);
    trainer.dispose();
    model.dispose();
  });

  it('weight decay shrinks the embedding table and tower kernels, not the biases', () => {
    const norms = (weightDecay: number): { items: number } => {
      const model = new CtrModel(modelConfig());
      const trainer = new Trainer(model, { maxLen: 32, batchSize: 64, epochs: 1, learningRate: 0.01, weightDecay, seed: 3, log: () => undefined, progress: false });
      trainer.fit(ds.samples.train, ds.samples.valid);
      const w = model.getWeights();
      const out = tf.tidy(() => ({ items: tf.norm(w['items/embedding']!).dataSync()[0]! }));
      trainer.dispose();
      model.dispose();
      return out;
    };
    const plain = norms(0);
    const decayed = norms(20);
    // 4 steps at lr·wd = 0.2 shrink untouched rows by 0.8^4 ≈ 0.41.
    expect(decayed.items).toBeLessThan(0.6 * plain.items);
    const model = new CtrModel(modelConfig());
    const w = model.getWeights();
    const decays = new Set(model.decayVariables().map((v) => v.name));
    expect(decays.has((w['items/embedding'] as tf.Variable).name)).toBe(true);
    expect(decays.has((w['tower/0/kernel'] as tf.Variable).name)).toBe(true);
    expect(decays.has((w['tower/0/bias'] as tf.Variable).name)).toBe(false);
    model.dispose();
  });

  it("itemOptimizer 'adagrad' moves only the rows of items in the batch; dense Adam keeps moving the others", () => {
    const moved = (itemOptimizer: 'adam' | 'adagrad'): { inBatch: number; outside: number } => {
      const model = new CtrModel(modelConfig());
      const trainer = new Trainer(model, { maxLen: 32, batchSize: 16, learningRate: 0.01, itemOptimizer, itemLearningRate: 0.05, seed: 3, log: () => undefined, progress: false });
      const first = firstBatch(16, 32);
      const used = new Set<number>([...first.targetItem, ...first.historyItem]);
      trainer.trainStep(first);
      const table = () => model.getWeights()['items/embedding']!.dataSync() as Float32Array;
      const before = Float32Array.from(table());
      // A second step on a batch of one sample: rows of the first batch's items not in it are
      // untouched by the gradient; only optimizer state (momentum) can move them.
      const second = firstBatch(1, 1);
      trainer.trainStep(second);
      const after = table();
      const d = 8;
      let inBatch = 0;
      let outside = 0;
      const now = new Set<number>([...second.targetItem, ...second.historyItem]);
      for (const x of used) {
        if (now.has(x) || x === 0) continue;
        let delta = 0;
        for (let k = 0; k < d; k++) delta += Math.abs(after[x * d + k]! - before[x * d + k]!);
        outside += delta;
      }
      for (const x of now) for (let k = 0; k < d; k++) inBatch += Math.abs(after[x * d + k]! - before[x * d + k]!);
      trainer.dispose();
      model.dispose();
      return { inBatch, outside };
    };
    expect(moved('adam').outside).toBeGreaterThan(0.01);
    const adagrad = moved('adagrad');
    expect(adagrad.outside).toBe(0);
    expect(adagrad.inBatch).toBeGreaterThan(0);
    const model = new CtrModel(modelConfig());
    expect(() => new Trainer(model, { maxLen: 8, seed: 1, itemOptimizer: 'sgd' as 'adam' })).toThrow(/options\.itemOptimizer must be 'adam' or 'adagrad', got "sgd"/);
    model.dispose();
  });

  it('dropout is seeded: same config ⇒ same weights, and it changes training', () => {
    const fingerprint = (dropout: number): string => {
      const model = new CtrModel(modelConfig({ dropout }));
      const trainer = new Trainer(model, { maxLen: 32, batchSize: 64, epochs: 1, learningRate: 0.01, seed: 3, log: () => undefined, progress: false });
      trainer.fit(ds.samples.train, ds.samples.valid);
      const f = model.fingerprint();
      trainer.dispose();
      model.dispose();
      return f;
    };
    expect(fingerprint(0.3)).toBe(fingerprint(0.3));
    expect(fingerprint(0.3)).not.toBe(fingerprint(0));
    expect(() => new CtrModel(modelConfig({ dropout: 1 }))).toThrow(/config\.dropout must be a number in \[0, 1\), got 1/);
  });

  it('validates its options', () => {
    const model = new CtrModel(modelConfig());
    expect(() => new Trainer(model, { maxLen: 0, seed: 1 })).toThrow(/options\.maxLen must be a positive integer, got 0/);
    expect(() => new Trainer(model, { maxLen: 8, seed: Number.NaN })).toThrow(/options\.seed must be a finite number/);
    expect(() => new Trainer(model, { maxLen: 8, seed: 1, learningRate: -1 })).toThrow(/options\.learningRate must be a finite number > 0/);
    expect(() => new Trainer(model, { maxLen: 8, seed: 1, learningRate: Number.NaN })).toThrow(/options\.learningRate must be a finite number > 0, got NaN\./);
    expect(() => new Trainer(model, { maxLen: 8, seed: 1, weightDecay: -1 })).toThrow(/options\.weightDecay must be a finite number ≥ 0, got -1/);
    expect(() => new Trainer(model, { maxLen: 8, seed: 1, monitor: 'gauc' as 'auc' })).toThrow(/options\.monitor must be 'logloss' or 'auc', got "gauc"/);
    expect(() => new Trainer(model, { maxLen: 8, seed: 1, learnignRate: 0.1 } as unknown as { maxLen: number; seed: number })).toThrow(/unknown option "learnignRate"/);
    model.dispose();
  });
});
