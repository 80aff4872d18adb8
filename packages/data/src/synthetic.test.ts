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
    expect(schema.context.map((c) => `${c.name}:${c.kind}:${c.scope}`)).toEqual(['category:categorical:item', 'modality:numeric:item', 'behavior:categorical:event']);
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

  it('has dynamic range: full-history oracle ≥ 0.85, and truncation to the newest 50 / 300 behaviours loses AUC step by step', () => {
    const { samples, oracle } = generateSynthetic({ ...smallSyntheticConfig, numItems: 4000, impressionsPerUser: 60 });
    const s = samples.test;
    const full = auc(s.label, s.trueProb!);
    const at300 = auc(s.label, oracle.probabilities(s, 300));
    const at50 = auc(s.label, oracle.probabilities(s, 50));
    expect(full).toBeGreaterThan(0.85);
    expect(full - at300).toBeGreaterThan(0.02);
    expect(at300 - at50).toBeGreaterThan(0.01);
  });

  it('the truth is topic- and item-level: a same-category, other-topic candidate scores below an interest-topic one', () => {
    const ds = generateSynthetic({ ...tinySyntheticConfig, numInterests: { min: 1, max: 1 }, noise: 0, impressionsPerUser: 1 });
    const { table, oracle } = ds;
    const category = table.itemContext['category'] as Int32Array;
    const modality = table.itemContext['modality'] as Float32Array;
    const topics = 12 * 4; // tinySyntheticConfig: 12 categories × 4 topics
    const topicOf = (x: number) => Math.floor(modality[x]! * topics);
    // User 1 has one interest topic: its items are its history; pick another topic of that category.
    const lo = table.userOffsets[1]!;
    const end = table.userOffsets[2]!;
    const own = table.item[end - 1]!;
    let other = 0;
    for (let x = 1; x <= ds.schema.numItems && other === 0; x++) if (category[x] === category[own] && topicOf(x) !== topicOf(own)) other = x;
    expect(other).toBeGreaterThan(0);
    const t = table.time[end - 1]! + 60;
    const logit = (p: number) => Math.log(p / (1 - p));
    // Same topic: item vectors ~0.9 alike; same category, other topic: far less. Several logits apart.
    expect(logit(oracle.probability(1, end, own, t))).toBeGreaterThan(logit(oracle.probability(1, end, other, t)) + 3);
    expect(end - lo).toBeGreaterThan(10);
  });

  it('modality buckets identify the topic, topics of one category side by side (padding row is missing)', () => {
    const { table, schema } = generateSynthetic(tinySyntheticConfig);
    const modality = table.itemContext['modality'] as Float32Array;
    const category = table.itemContext['category'] as Int32Array;
    expect(Number.isNaN(modality[0]!)).toBe(true);
    const spec = schema.context.find((f) => f.name === 'modality')!;
    const G = 12 * 4;
    expect(spec).toMatchObject({ name: 'modality', kind: 'numeric', scope: 'item' });
    const boundaries = spec.kind === 'numeric' ? spec.boundaries : [];
    expect(boundaries).toHaveLength(G - 1);
    expect(boundaries[0]).toBeCloseTo(1 / G, 9);
    // The bucket's category is the item's category for all but a few noisy items.
    let same = 0;
    for (let x = 1; x <= schema.numItems; x++) if (Math.floor(Math.min(G - 1, Math.max(0, Math.floor(modality[x]! * G))) / 4) + 1 === category[x]) same++;
    expect(same / schema.numItems).toBeGreaterThan(0.97);
  });

  it('histories spanning far more half-lives than a float64 exponent holds: the truth equals a direct sum of decays', () => {
    // ~400 days of behaviours against a 10-minute head: e^{λ·span} would be e^{~57,000}, so the
    // generator re-anchors its growth factors; every probability must match the formula computed
    // with one exp per (target, behaviour, head).
    const ds = generateSynthetic({ ...tinySyntheticConfig, decayHalfLivesSeconds: [600, 30 * 86_400], decayWeights: [2, 3], meanGapSeconds: 86_400 });
    const { table, samples, oracle, config: cfg } = ds;
    const behavior = table.eventContext['behavior'] as Int32Array;
    const category = table.itemContext['category'] as Int32Array;
    const d = oracle.latentDim;
    const lambda = cfg.decayHalfLivesSeconds.map((h) => Math.LN2 / h);
    const direct = (u: number, end: number, x: number, t: number, lastN = Infinity): number => {
      let z = cfg.bias + oracle.itemBias[x]!;
      for (let r = 0; r < lambda.length; r++) {
        let num = 0;
        let den = 0;
        for (let i = Math.max(table.userOffsets[u]!, end - lastN); i < end; i++) {
          const y = table.item[i]!;
          let dot = 0;
          for (let k = 0; k < d; k++) dot += oracle.itemVectors[y * d + k]! * oracle.itemVectors[x * d + k]!;
          const m = cfg.matchWeights.item * dot + (category[y] === category[x] ? cfg.matchWeights.category : 0);
          const a = cfg.behaviorWeights[behavior[i]! - 1]! * Math.exp(cfg.attentionSharpness * m - lambda[r]! * (t - table.time[i]!));
          num += a * m;
          den += a;
        }
        z += (cfg.decayWeights[r]! * num) / (1 + den);
      }
      return 1 / (1 + Math.exp(-z));
    };
    expect(cfg.matchWeights.topic).toBe(0); // the direct sum below leaves the topic term out
    const s = samples.test;
    const span = table.time[table.userOffsets[2]! - 1]! - table.time[table.userOffsets[1]!]!;
    expect(span * lambda[0]!).toBeGreaterThan(1000);
    for (let i = 0; i < s.size; i++) {
      const p = direct(s.user[i]!, s.endOffset[i]!, s.targetItem[i]!, s.targetTime[i]!);
      expect(Number.isFinite(s.trueProb![i]!)).toBe(true);
      expect(Math.abs(oracle.probability(s.user[i]!, s.endOffset[i]!, s.targetItem[i]!, s.targetTime[i]!) - p)).toBeLessThan(1e-9);
      expect(Math.abs(s.trueProb![i]! - p)).toBeLessThan(1e-6 * p); // stored as float32
      // oracle@25 starts inside a segment: its first behaviours' anchor is an earlier one.
      expect(Math.abs(oracle.probability(s.user[i]!, s.endOffset[i]!, s.targetItem[i]!, s.targetTime[i]!, 25) - direct(s.user[i]!, s.endOffset[i]!, s.targetItem[i]!, s.targetTime[i]!, 25))).toBeLessThan(1e-9);
    }
  });

  it('content features carry the item latent vector (plus noise) and leave every other column as without them', () => {
    const plain = generateSynthetic(tinySyntheticConfig);
    const withContent = generateSynthetic({ ...tinySyntheticConfig, contentDims: 3, contentNoise: 0.05 });
    // Same items, times, labels and truth: the content noise has a stream of its own.
    expect(withContent.table.item).toEqual(plain.table.item);
    expect(withContent.samples.test.trueProb).toEqual(plain.samples.test.trueProb);
    expect(withContent.schema.context.map((f) => f.name)).toEqual(['category', 'modality', 'content1', 'content2', 'content3', 'behavior']);
    expect(plain.schema.context.map((f) => f.name)).toEqual(['category', 'modality', 'behavior']);
    const { itemVectors, latentDim } = withContent.oracle;
    for (let k = 0; k < 3; k++) {
      const col = withContent.table.itemContext[`content${k + 1}`] as Float32Array;
      expect(Number.isNaN(col[0]!)).toBe(true);
      let sq = 0;
      for (let x = 1; x <= withContent.schema.numItems; x++) sq += (col[x]! - itemVectors[x * latentDim + k]!) ** 2;
      // The residual is the noise: its std is 0.05.
      expect(Math.sqrt(sq / withContent.schema.numItems)).toBeGreaterThan(0.04);
      expect(Math.sqrt(sq / withContent.schema.numItems)).toBeLessThan(0.06);
    }
    expect(() => generateSynthetic({ ...tinySyntheticConfig, contentDims: 9 })).toThrow(/config\.contentDims must be an integer in 0\.\.latentDim \(8\), got 9/);
    expect(() => generateSynthetic({ ...tinySyntheticConfig, contentNoise: -1 })).toThrow(/config\.contentNoise/);
  });

  it('validates the config by field name', () => {
    expect(() => generateSynthetic({ ...tinySyntheticConfig, topicsPerCategory: 0 })).toThrow(/config\.topicsPerCategory/);
    expect(() => generateSynthetic({ ...tinySyntheticConfig, confuserProb: 0.7, targetInterestProb: 0.5 })).toThrow(/config\.confuserProb/);
    expect(() => generateSynthetic({ ...tinySyntheticConfig, behaviorWeights: [1, 2] as unknown as [number, number, number] })).toThrow(/config\.behaviorWeights/);
    expect(() => generateSynthetic({ ...tinySyntheticConfig, impresionsPerUser: 3 } as never)).toThrow(/config\.impresionsPerUser is not a known field/);
    expect(() => generateSynthetic({ ...tinySyntheticConfig, numUsers: 0 })).toThrow(/config\.numUsers/);
    expect(() => generateSynthetic({ ...tinySyntheticConfig, noise: 2 })).toThrow(/config\.noise/);
    expect(() => generateSynthetic({ ...tinySyntheticConfig, attentionSharpness: -1 })).toThrow(/config\.attentionSharpness/);
    expect(() => generateSynthetic({ ...tinySyntheticConfig, decayWeights: [1] })).toThrow(/decayWeights/);
    expect(() => generateSynthetic({ ...tinySyntheticConfig, historyLength: { min: 10, median: 5, max: 5 } })).toThrow(/historyLength/);
  });
});
