import { initBackend, tf } from '@vql/runtime';
import { CtrModel } from './ctr-model.js';
import type { CtrModelConfig } from './ctr-model.js';
import { randomCtrBatch } from './testing/index.js';

beforeAll(async () => {
  await initBackend();
});

const features = [
  { name: 'category', kind: 'categorical' as const, scope: 'item' as const, vocabSize: 6 },
  { name: 'action', kind: 'categorical' as const, scope: 'event' as const, vocabSize: 3 },
];

function config(interest: CtrModelConfig['interest'], extra: Partial<CtrModelConfig> = {}): CtrModelConfig {
  return { numItems: 30, embeddingDim: 8, interest, tower: [16], seed: 3, ...extra };
}

const vql = { kind: 'vql', heads: 2, groups: 2, headDim: 4, codebookSizes: [4, 8], quantizer: { init: 'random', deadCodeSteps: 0 } };

describe('CtrModel', () => {
  it.each([
    ['vql', vql],
    ['full attention', { kind: 'full-attention', heads: 2, headDim: 4 }],
  ])('%s: finite logits for ragged, empty and context-carrying histories; gradients reach every part', (_name, interest) => {
    const model = new CtrModel(config(interest, { contextFeatures: features, context: { logitBias: true }, shortTerm: 3 }));
    const batch = randomCtrBatch({ size: 9, maxLen: 10, numItems: 30, features, emptyRows: [1, 4], seed: 8 });
    tf.tidy(() => {
      const prepared = model.prepare(batch);
      const { logits } = model.forward(prepared, false);
      expect(logits.shape).toEqual([9]);
      expect(Array.from(logits.dataSync()).every(Number.isFinite)).toBe(true);
      const vars = model.trainableVariables();
      const { grads } = tf.variableGrads(() => model.loss(prepared, true).total as tf.Scalar, vars);
      const names = Object.keys(grads);
      // Item table, context tables/fusion, projections, kernel, tower (and codebooks for VQL) all learn.
      expect(names.length).toBe(vars.length);
      for (const g of Object.values(grads)) expect(g.dataSync().every(Number.isFinite)).toBe(true);
    });
    model.dispose();
  });

  it('scores a batch where every user is empty and a batch with L = 0', () => {
    const model = new CtrModel(config(vql, { shortTerm: 2 }));
    for (const maxLen of [0, 5]) {
      const batch = randomCtrBatch({ size: 4, maxLen, numItems: 30, emptyRows: [0, 1, 2, 3] });
      const p = model.predict(batch);
      expect(p).toHaveLength(4);
      expect(Array.from(p).every((x) => x > 0 && x < 1)).toBe(true);
    }
    model.dispose();
  });

  it('refuses items outside the vocabulary, naming field and index', () => {
    const model = new CtrModel(config({ kind: 'full-attention' }, { numItems: 10 }));
    const batch = randomCtrBatch({ size: 4, maxLen: 5, numItems: 30, seed: 2 });
    expect(() => model.predict(batch)).toThrow(/batch\.(targetItem|historyItem)\[\d+\].*outside the model's item vocabulary/);
    model.dispose();
  });

  it('refuses weights trained on another vocabulary and unknown options', () => {
    const a = new CtrModel(config({ kind: 'full-attention' }, { numItems: 10 }));
    const b = new CtrModel(config({ kind: 'full-attention' }, { numItems: 12 }));
    expect(() => b.setWeights(a.getWeights())).toThrow(/"items\/embedding" has shape \[11, 8\], expected \[13, 8\].*vocabulary of 10 items, this model has 12/);
    expect(() => new CtrModel({ ...config({ kind: 'nope' }) })).toThrow(/unknown interest module kind "nope"; registered: full-attention, vql/);
    expect(() => new CtrModel({ ...config({ kind: 'vql' }), towr: [1] } as never)).toThrow(/unknown config field "towr"/);
    expect(() => new CtrModel({ ...config({ kind: 'vql' }), context: { logitbias: true } } as never)).toThrow(/config\.context: unknown option "logitbias" \(did you mean "logitBias"\?\)/);
    a.dispose();
    b.dispose();
  });

  it('history window keeps the newest behaviours only', () => {
    const model = new CtrModel(config({ kind: 'full-attention' }, { historyWindow: 3 }));
    const batch = randomCtrBatch({ size: 6, maxLen: 8, numItems: 30, seed: 4 });
    const p = model.prepare(batch);
    expect(p.maxLen).toBe(3);
    for (let b = 0; b < 6; b++) {
      const len = batch.historyLength[b]!;
      const keep = Math.min(len, 3);
      for (let j = 0; j < keep; j++) expect(p.host.historyItem[b * 3 + j]).toBe(batch.historyItem[b * 8 + len - keep + j]);
    }
    model.dispose();
  });

  it('same seed, same weights; other seed, other weights', () => {
    const [a, b, c] = [3, 3, 4].map((seed) => new CtrModel(config(vql, { seed })));
    expect(a!.fingerprint()).toBe(b!.fingerprint());
    expect(a!.fingerprint()).not.toBe(c!.fingerprint());
    [a, b, c].forEach((m) => m!.dispose());
  });
});
