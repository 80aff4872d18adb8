// Test helper (not exported).
import { tf } from '@vql/runtime';
import { CtrModel, Trainer, createInterestModule, interestModuleKinds } from '@vql/model';
import type { InterestModuleConfig } from '@vql/model';
import { generateSynthetic } from '@vql/data';
import { tinySyntheticConfig } from '@vql/data/testing';

// Each baseline goes through the model's shared CtrModel + Trainer exactly like VQL: same config
// shape, no special case. Tiny data (32 users, L = 128) keeps the file well under a minute on wasm.


// 30 impressions per user so the validation split has ≥ 2 per user (GAUC needs both classes).
const ds = generateSynthetic({ ...tinySyntheticConfig, impressionsPerUser: 30 });
const MAX_LEN = 128;

/** One `it` per config: builds a CtrModel around it, fits two epochs, checks progress and round-trips. */
export function describeTraining(title: string, configs: Array<[string, InterestModuleConfig]>): void {
describe(title, () => {
  it('every kind is registered', () => {
    for (const [kind] of configs) expect(interestModuleKinds()).toContain(kind);
  });

  it.each(configs)('%s trains on synthetic long histories, and its config and weights round-trip', (_kind, interest) => {
    const model = new CtrModel({
      numItems: ds.schema.numItems,
      embeddingDim: 8,
      contextFeatures: ds.schema.context,
      interest,
      tower: [16],
      seed: 4,
    });
    const before = model.getWeights();
    const snapshot = Object.fromEntries(Object.entries(before).map(([k, t]) => [k, t.dataSync().slice()]));
    const trainer = new Trainer(model, { maxLen: MAX_LEN, batchSize: 64, epochs: 2, learningRate: 5e-3, seed: 9, log: () => {}, progress: false, restoreBest: false });
    const result = trainer.fit(ds.samples.train, ds.samples.valid);
    expect(result.epochs).toHaveLength(2);
    for (const e of result.epochs) {
      expect(Number.isFinite(e.loss)).toBe(true);
      expect(e.valid.auc).toBeGreaterThan(0);
    }
    // Training went somewhere: the loss fell and the interest module's weights moved.
    expect(result.epochs[1]!.loss).toBeLessThan(result.epochs[0]!.loss);
    const after = model.getWeights();
    const moved = Object.keys(after).filter((k) => k.includes('interest') && after[k]!.dataSync().some((x, i) => x !== snapshot[k]![i]));
    expect(moved.length).toBeGreaterThan(0);
    // The module rebuilds from its own config.
    const ctx = { itemDim: 8, fusedDim: 8, maxLen: MAX_LEN, contextFeatures: ds.schema.context as never, seed: 1 };
    const rebuilt = createInterestModule(structuredClone(interest), ctx);
    expect(createInterestModule(rebuilt.config, ctx).config).toEqual(rebuilt.config);
    rebuilt.dispose();
    trainer.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBeLessThan(10_000);
  });
});
}
