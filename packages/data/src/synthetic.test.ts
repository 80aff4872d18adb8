import { auc } from '@vql/metrics';
import { generateSynthetic } from './synthetic.js';
import { smallSyntheticConfig, tinySyntheticConfig } from './testing/presets.js';

describe('generateSynthetic', () => {
  it('is deterministic given the seed', () => {
    const a = generateSynthetic(tinySyntheticConfig);
    const b = generateSynthetic(tinySyntheticConfig);
    const c = generateSynthetic({ ...tinySyntheticConfig, seed: 8 });
    expect(a.table.item).toEqual(b.table.item);
    expect(a.samples.test.trueProb).toEqual(b.samples.test.trueProb);
    expect(a.table.item).not.toEqual(c.table.item);
  });

  it('returns time-sorted users, samples whose history precedes them, and the oracle probability', () => {
    const { table, samples, oracle, schema } = generateSynthetic(tinySyntheticConfig);
    expect(schema.context.map((c) => `${c.name}:${c.scope}`)).toEqual(['category:item', 'behavior:event']);
    for (let u = 1; u <= schema.numUsers; u++) {
      for (let i = table.userOffsets[u]! + 1; i < table.userOffsets[u + 1]!; i++) expect(table.time[i]!).toBeGreaterThan(table.time[i - 1]!);
    }
    const s = samples.valid;
    for (let i = 0; i < s.size; i++) {
      expect(table.time[s.endOffset[i]! - 1]!).toBeLessThan(s.targetTime[i]!);
      expect(oracle.probability(s.user[i]!, s.endOffset[i]!, s.targetItem[i]!, s.targetTime[i]!)).toBeCloseTo(s.trueProb![i]!, 5);
    }
    expect(samples.train.size).toBe(8 * schema.numUsers);
  });

  it('long history carries signal: the true probability beats the same model on the last 50 behaviours', () => {
    const { samples, oracle } = generateSynthetic(smallSyntheticConfig);
    const s = samples.train;
    const oracleAuc = auc(s.label, s.trueProb!);
    const last50Auc = auc(s.label, oracle.probabilities(s, 50));
    expect(oracleAuc).toBeGreaterThan(0.75);
    expect(oracleAuc - last50Auc).toBeGreaterThan(0.04);
  });

  it('validates the config by field name', () => {
    expect(() => generateSynthetic({ ...tinySyntheticConfig, numUsers: 0 })).toThrow(/config\.numUsers/);
    expect(() => generateSynthetic({ ...tinySyntheticConfig, noise: 2 })).toThrow(/config\.noise/);
    expect(() => generateSynthetic({ ...tinySyntheticConfig, decayWeights: [1] })).toThrow(/decayWeights/);
    expect(() => generateSynthetic({ ...tinySyntheticConfig, historyLength: { min: 10, median: 5, max: 5 } })).toThrow(/historyLength/);
  });
});
