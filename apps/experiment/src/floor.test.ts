import { generateSynthetic } from '@vql/data';
import { auc } from '@vql/metrics';
import { fitCategoryMixFloor } from './floor.js';

describe('category-mix logistic floor', () => {
  // A world where the truth is category-level only, barely decays and attends uniformly (β = 0: the
  // truth is the behaviour-weighted category mix): the floor's own features.
  const ds = generateSynthetic({
    seed: 4,
    numUsers: 200,
    numItems: 400,
    numCategories: 10,
    historyLength: { min: 100, median: 200, max: 400 },
    impressionsPerUser: 40,
    matchWeights: { category: 1, topic: 0, item: 0 },
    decayHalfLivesSeconds: [1e9],
    decayWeights: [8],
    attentionSharpness: 0,
  });

  it('comes close to the true model when the truth is the category mix', () => {
    const floor = fitCategoryMixFloor(ds.samples.train, { categoryFeature: 'category', L: 400 });
    expect(floor.parameters).toBe(1 + 11 + 11 * 11);
    const test = ds.samples.test;
    const got = auc(test.label, floor.predict(test));
    const ceiling = auc(test.label, test.trueProb!);
    expect(got).toBeGreaterThan(0.75);
    expect(got).toBeGreaterThan(ceiling - 0.03);
  });

  it('is deterministic and names a missing feature', () => {
    const a = fitCategoryMixFloor(ds.samples.train, { categoryFeature: 'category', L: 50, iterations: 20 }).predict(ds.samples.valid);
    const b = fitCategoryMixFloor(ds.samples.train, { categoryFeature: 'category', L: 50, iterations: 20 }).predict(ds.samples.valid);
    expect(a).toEqual(b);
    expect(() => fitCategoryMixFloor(ds.samples.train, { categoryFeature: 'modality', L: 50 })).toThrow(/no item-scope categorical feature "modality"/);
  });
});
