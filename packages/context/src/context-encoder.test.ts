import { initBackend, tf } from '@vql/runtime';
import { assertNoTensorLeak } from '@vql/runtime/testing';
import { ContextEncoder } from './context-encoder.js';
import type { ContextFeatureSpec } from './feature-spec.js';
import { VqlContextError } from './errors.js';

beforeAll(async () => {
  await initBackend();
});

const FEATURES: ContextFeatureSpec[] = [
  { name: 'category', kind: 'categorical', scope: 'item', vocabSize: 5 },
  { name: 'genres', kind: 'multi', scope: 'item', vocabSize: 7, width: 3 },
  { name: 'playRatio', kind: 'numeric', scope: 'event', boundaries: [0.25, 0.5, 0.75] },
];

// Three behaviours: category ids, genres (0 = padding), play ratios.
const HISTORY = {
  category: Int32Array.of(1, 5, 0),
  genres: Int32Array.of(2, 3, 0, 0, 0, 0, 7, 7, 1),
  playRatio: Float32Array.of(0.1, 0.5, Number.NaN),
};
const TARGET = { category: Int32Array.of(2, 3), genres: Int32Array.of(1, 0, 0, 4, 5, 6) };

function table(enc: ContextEncoder, name: string): number[][] {
  return enc.getWeights()[`embedding/${name}`]!.arraySync() as number[][];
}

function mean(rows: number[][]): number[] {
  return rows[0]!.map((_, c) => rows.reduce((s, r) => s + r[c]!, 0) / rows.length);
}

describe('ContextEncoder', () => {
  it('sum fusion adds categorical, mean-pooled multi and bucketised numeric embeddings', () => {
    const enc = new ContextEncoder({ features: FEATURES, itemDim: 4, fusion: 'sum', seed: 1 });
    const item = tf.tensor2d([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]);
    const out = enc.fuseHistory(item, HISTORY);
    const got = out.arraySync() as number[][];
    const cat = table(enc, 'category');
    const gen = table(enc, 'genres');
    const num = table(enc, 'playRatio');
    const itemRows = item.arraySync() as number[][];
    const expected = [
      // 0.1 < 0.25 → bucket 1; 0.5 ≥ 0.5 → bucket 3; NaN → missing row 0.
      [itemRows[0]!, cat[1]!, mean([gen[2]!, gen[3]!]), num[1]!],
      [itemRows[1]!, cat[5]!, new Array(4).fill(0), num[3]!], // all-padding genres pool to 0
      [itemRows[2]!, cat[0]!, mean([gen[7]!, gen[7]!, gen[1]!]), num[0]!],
    ].map((parts) => parts.reduce((acc, p) => acc.map((x, c) => x + p[c]!)));
    got.forEach((row, i) => row.forEach((x, c) => expect(x).toBeCloseTo(expected[i]![c]!, 5)));
    expect(enc.outDim).toBe(4);
    tf.dispose([item, out]);
    enc.dispose();
  });

  it('concat fusion projects [item, context] to outDim; the target sees item-scope features only', () => {
    const enc = new ContextEncoder({ features: FEATURES, itemDim: 4, fusion: 'concat', embeddingDim: { category: 3, genres: 2, playRatio: 2 }, outDim: 6, seed: 2 });
    const w = enc.getWeights();
    expect(w['fusion/kernel']!.shape).toEqual([4 + 3 + 2 + 2, 6]);
    const item = tf.tensor2d([[0.5, -1, 0, 2], [1, 1, 1, 1]]);
    const out = enc.fuseTarget(item, TARGET);
    expect(out.shape).toEqual([2, 6]);
    const cat = table(enc, 'category');
    const gen = table(enc, 'genres');
    const W = w['fusion/kernel']!.arraySync() as number[][];
    const b = w['fusion/bias']!.arraySync() as number[];
    const itemRows = item.arraySync() as number[][];
    const x0 = [...itemRows[0]!, ...cat[2]!, ...gen[1]!, 0, 0]; // event-scope slot is zero for targets
    const expected0 = b.map((bc, c) => x0.reduce((s, x, r) => s + x * W[r]![c]!, bc));
    (out.arraySync() as number[][])[0]!.forEach((x, c) => expect(x).toBeCloseTo(expected0[c]!, 5));
    expect(() => enc.fuseTarget(item, { ...TARGET, playRatio: Float32Array.of(1, 2) })).toThrow(/"playRatio" is an event-scope feature/);
    tf.dispose([item, out]);
    enc.dispose();
  });

  it('the ReLU branch gives a (category, bucket) pair an identity a linear fusion cannot', () => {
    // Linear fusion is additive in the features: f(a,x) + f(b,y) = f(a,y) + f(b,x) for every pair.
    const features: ContextFeatureSpec[] = [
      { name: 'category', kind: 'categorical', scope: 'item', vocabSize: 2 },
      { name: 'modality', kind: 'numeric', scope: 'item', boundaries: [0.5] },
    ];
    const crossGap = (fusionHidden: number): number => {
      const enc = new ContextEncoder({ features, itemDim: 4, fusionHidden, initScale: 1, seed: 3 });
      const out = tf.tidy(() =>
        enc.fuseTarget(tf.zeros([4, 4]), { category: Int32Array.of(1, 2, 1, 2), modality: Float32Array.of(0.2, 0.8, 0.8, 0.2) }).dataSync(),
      );
      enc.dispose();
      let gap = 0;
      for (let c = 0; c < 4; c++) gap = Math.max(gap, Math.abs(out[c]! + out[4 + c]! - out[8 + c]! - out[12 + c]!));
      return gap;
    };
    expect(crossGap(0)).toBeLessThan(1e-5);
    expect(crossGap(16)).toBeGreaterThan(1e-2);
  });

  it('maps unknown ids to the OOV row and counts them instead of crashing', () => {
    const enc = new ContextEncoder({ features: FEATURES, itemDim: 4, fusion: 'sum', seed: 3 });
    const item = tf.zeros([2, 4]);
    const out = enc.fuseTarget(item, { category: Int32Array.of(99, -4), genres: Int32Array.of(8, 1, 0, 0, 0, 0) });
    const cat = table(enc, 'category');
    const gen = table(enc, 'genres');
    const got = out.arraySync() as number[][];
    const oovCat = cat[6]!; // vocabSize + 1
    const expected0 = oovCat.map((x, c) => x + (gen[8]![c]! + gen[1]![c]!) / 2);
    got[0]!.forEach((x, c) => expect(x).toBeCloseTo(expected0[c]!, 5));
    got[1]!.forEach((x, c) => expect(x).toBeCloseTo(oovCat[c]!, 5));
    expect(enc.oovCounts()).toEqual({ category: 2, genres: 1 });
    enc.resetOovCounts();
    expect(enc.oovCounts()).toEqual({ category: 0, genres: 0 });
    tf.dispose([item, out]);
    enc.dispose();
  });

  it('refuses pairwise features with an error about the cache', () => {
    const pair = { name: 'sameAuthorAsTarget', kind: 'categorical', scope: 'pair', vocabSize: 2 } as unknown as ContextFeatureSpec;
    expect(() => new ContextEncoder({ features: [pair], itemDim: 4, seed: 1 })).toThrow(/declared pairwise.*break the per-user cache/);
    try {
      new ContextEncoder({ features: [pair], itemDim: 4, seed: 1 });
    } catch (err) {
      expect(err).toBeInstanceOf(VqlContextError);
      expect((err as VqlContextError).code).toBe('PAIRWISE_FEATURE');
    }
    const flagged = { name: 'x', kind: 'numeric', scope: 'event', boundaries: [1], pairwise: true } as unknown as ContextFeatureSpec;
    expect(() => new ContextEncoder({ features: [flagged], itemDim: 4, seed: 1 })).toThrow(/"x" is declared pairwise/);
  });

  it('validates specs, options and columns with messages naming them', () => {
    const bad = (features: unknown[], extra: object = {}) => () => new ContextEncoder({ features: features as ContextFeatureSpec[], itemDim: 4, seed: 1, ...extra });
    expect(bad([{ name: 'c', kind: 'categorical', scope: 'item', vocabSize: 0 }])).toThrow(/features\[0\] \("c"\): vocabSize must be a positive integer/);
    expect(bad([{ name: 'n', kind: 'numeric', scope: 'item', boundaries: [1, 1] }])).toThrow(/boundaries\[1\] = 1: .*strictly increasing/);
    expect(bad([{ name: 'c', kind: 'categorical', scope: 'user', vocabSize: 3 }])).toThrow(/scope must be 'item' or 'event'/);
    expect(bad([{ name: 'c', kind: 'bag', scope: 'item' }])).toThrow(/kind must be 'categorical', 'multi' or 'numeric'/);
    expect(bad([FEATURES[0], FEATURES[0]])).toThrow(/"category" appears twice/);
    expect(bad(FEATURES, { fusion: 'sum', embeddingDim: 3 })).toThrow(/fusion 'sum' needs embeddingDim = itemDim/);
    expect(bad(FEATURES, { fusionHidden: -1 })).toThrow(/options.fusionHidden must be a non-negative integer, got -1/);
    expect(bad(FEATURES, { fusion: 'sum', embeddingDim: 4, fusionHidden: 8 })).toThrow(/options.fusionHidden needs fusion 'concat'/);
    expect(bad(FEATURES, { fusion: 'mul' })).toThrow(/options.fusion must be 'concat' or 'sum'/);
    expect(() => new ContextEncoder({ features: FEATURES, itemDim: 4 } as never)).toThrow(/options.seed/);
    expect(bad(FEATURES, { logitbias: true })).toThrow(/new ContextEncoder: options: unknown option "logitbias" \(did you mean "logitBias"\?\)/);
    expect(bad(FEATURES, { outdim: 8 })).toThrow(expect.objectContaining({ code: 'UNKNOWN_OPTION' }));

    const enc = new ContextEncoder({ features: FEATURES, itemDim: 4, seed: 1 });
    const item = tf.zeros([3, 4]);
    expect(() => enc.fuseHistory(item, { ...HISTORY, genres: Int32Array.of(1, 2) })).toThrow(/"genres" has length 2, expected 3 rows × width 3 = 9/);
    expect(() => enc.fuseHistory(item, { category: HISTORY.category, genres: HISTORY.genres })).toThrow(/"playRatio" .* is missing/);
    expect(() => enc.fuseHistory(item, { ...HISTORY, category: Float32Array.of(1, 2.5, 0) })).toThrow(/"category"\[1\] is 2.5/);
    expect(() => enc.fuseHistory(tf.zeros([3, 5]), HISTORY)).toThrow(/itemEmb must be a \[N, 4\] tensor, got \[3, 5\]/);
    expect(() => enc.logitBias(HISTORY)).toThrow(/without options.logitBias/);
    item.dispose();
    enc.dispose();
  });

  it('is deterministic given the seed and different across seeds', () => {
    const a = new ContextEncoder({ features: FEATURES, itemDim: 4, seed: 'ctx' });
    const b = new ContextEncoder({ features: FEATURES, itemDim: 4, seed: 'ctx' });
    const c = new ContextEncoder({ features: FEATURES, itemDim: 4, seed: 'other' });
    expect(a.fingerprint()).toBe(b.fingerprint());
    expect(a.fingerprint()).not.toBe(c.fingerprint());
    b.setWeights(c.getWeights());
    expect(b.fingerprint()).toBe(c.fingerprint());
    expect(() => a.setWeights({ ...c.getWeights(), 'fusion/bias': tf.zeros([5]) })).toThrow(/"fusion\/bias" has shape \[5\], expected \[4\]/);
    expect(a.toConfig().embeddingDim).toEqual({ category: 16, genres: 16, playRatio: 16 });
    [a, b, c].forEach((e) => e.dispose());
  });

  it('logit bias starts at 0 and gradients reach every table and the projection', () => {
    const enc = new ContextEncoder({ features: FEATURES, itemDim: 4, fusion: 'concat', logitBias: true, seed: 4 });
    const item = tf.tensor2d([[1, 2, 3, 4], [0, 1, 0, 1], [2, 0, 0, 1]]);
    const { fused, bias } = enc.encodeHistory(item, HISTORY);
    expect(Array.from(bias!.dataSync())).toEqual([0, 0, 0]);
    tf.dispose([fused, bias!]);
    const target = tf.tensor1d([0.3, -0.2, 0.9]);
    const { grads } = tf.variableGrads(() =>
      tf.tidy(() => {
        const { fused: f, bias: b } = enc.encodeHistory(item, HISTORY);
        const logits = tf.add(tf.sum(f, 1), b!);
        return tf.sum(tf.square(tf.sub(logits, target))) as tf.Scalar;
      }),
    );
    for (const v of enc.trainableVariables()) {
      const g = grads[v.name]!.dataSync();
      expect(Math.max(...Array.from(g, Math.abs))).toBeGreaterThan(0);
    }
    tf.dispose([item, target, ...Object.values(grads)]);
    enc.dispose();
  });

  it('does not leak tensors', async () => {
    const enc = new ContextEncoder({ features: FEATURES, itemDim: 4, logitBias: true, seed: 5 });
    const item = tf.ones([3, 4]);
    await assertNoTensorLeak(() => {
      enc.fuseHistory(item, HISTORY).dispose();
      enc.logitBias(HISTORY).dispose();
      const { fused, bias } = enc.encodeHistory(item, HISTORY);
      tf.dispose([fused, bias!]);
      const firstTwo = tf.slice(item, [0, 0], [2, 4]);
      enc.fuseTarget(firstTwo, TARGET).dispose();
      firstTwo.dispose();
    }, { label: 'encoder forward' });
    item.dispose();
    enc.dispose();
  });
});
