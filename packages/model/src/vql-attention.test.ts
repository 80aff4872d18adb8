import { initBackend, tf } from '@vql/runtime';
import { attend } from './attention-core.js';
import { createInterestModule } from './interest-registry.js';
import { randomCtrBatch, randomInterestInputs } from './testing/index.js';
import { VqlAttention } from './vql-attention.js';

beforeAll(async () => {
  await initBackend();
});

const ctx = { itemDim: 6, fusedDim: 8, maxLen: 12, contextFeatures: [], seed: 7 };
const base = { heads: 4, groups: 2, headDim: 4, codebookSizes: [4, 8], quantizer: { init: 'random' as const, deadCodeSteps: 0 } };

describe('VqlAttention', () => {
  it.each([
    ['default (key-only, multi-scale, context, kernel)', {}],
    ['no key-only (values quantized too)', { quantizeValues: true }],
    ['no multi-scale (one shared codebook)', { sharedCodebook: true }],
    ['no context', { useContext: false }],
    ['no kernel', { kernel: null }],
  ])('%s: finite interest, positive VQ loss, gradients to projections and codebooks', (_name, extra) => {
    const m = new VqlAttention({ ...base, ...extra }, ctx);
    tf.tidy(() => {
      const { inputs } = randomInterestInputs(randomCtrBatch({ size: 6, maxLen: 12, emptyRows: [3], seed: 2 }), { itemDim: 6, fusedDim: 8, withBias: true });
      const { value, grads } = tf.variableGrads(() => {
        const out = m.forward({ ...inputs, training: true });
        expect(out.interest.shape).toEqual([6, 16]);
        expect(out.interest.dataSync().every(Number.isFinite)).toBe(true);
        expect(out.auxLoss!.dataSync()[0]).toBeGreaterThan(0);
        return tf.add(tf.sum(tf.square(out.interest)), out.auxLoss!) as tf.Scalar;
      }, m.trainableVariables());
      expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
      // wk only learns through the straight-through keys and the commitment loss.
      const names = Object.keys(grads);
      expect(names.length).toBe(m.trainableVariables().length);
      for (const g of Object.values(grads)) expect(g.dataSync().some((x) => x !== 0)).toBe(true);
    });
    m.afterStep();
    expect(m.stats()['perplexity']).toBeGreaterThan(0);
    m.dispose();
  });

  it('attends with the assigned codes as keys (forward), not with the exact keys', () => {
    const m = new VqlAttention({ ...base, kernel: null }, ctx);
    tf.tidy(() => {
      const { inputs } = randomInterestInputs(randomCtrBatch({ size: 5, maxLen: 9, seed: 4 }), { itemDim: 6, fusedDim: 8 });
      const got = m.forward(inputs).interest.dataSync();
      const w = m.getWeights();
      const U = inputs.uniqueCount;
      const keys = tf.matMul(inputs.uniqueEmbedding, w['wk']!).dataSync() as Float32Array; // [U, 2·4]
      const quantized = new Float32Array(U * 8);
      for (let g = 0; g < 2; g++) {
        const kg = new Float32Array(U * 4);
        for (let u = 0; u < U; u++) kg.set(keys.subarray(u * 8 + g * 4, u * 8 + g * 4 + 4), u * 4);
        const z = m.quantizer.assign(kg, g);
        const book = m.quantizer.codebookValues(g);
        for (let u = 0; u < U; u++) quantized.set(book.subarray(z[u]! * 4, z[u]! * 4 + 4), u * 8 + g * 4);
      }
      const args = { inputs, shape: m.shape, query: tf.matMul(inputs.targetEmbedding, w['wq']!), uniqueValues: tf.matMul(inputs.uniqueEmbedding, w['wv']!), uniqueBias: null, kernel: null };
      const withCodes = attend({ ...args, uniqueKeys: tf.tensor2d(quantized, [U, 8]) }).dataSync();
      const withKeys = attend({ ...args, uniqueKeys: tf.tensor2d(keys, [U, 8]) }).dataSync();
      for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(withCodes[i]!, 5);
      expect(Array.from(withKeys).some((x, i) => Math.abs(x - got[i]!) > 1e-4)).toBe(true);
    });
    m.dispose();
  });

  it('is built by the registry and validates its config', () => {
    const m = createInterestModule({ kind: 'vql', heads: 2, groups: 2, headDim: 4, codebookSizes: [4, 4] }, ctx);
    expect(m.kind).toBe('vql');
    expect(m.config).toMatchObject({ kind: 'vql', heads: 2, groups: 2, codebookSizes: [4, 4], quantizeValues: false, sharedCodebook: false });
    m.dispose();
    expect(() => new VqlAttention({ heads: 4, groups: 2, codebookSizes: [8] }, ctx)).toThrow(/codebookSizes must list one size per head group \(2\)/);
    expect(() => new VqlAttention({ heads: 4, groups: 2, kernel: { type: 'expDecayMixture', timeUnit: 'milliseconds', numRates: 2, minTimescale: 1, maxTimescale: 10 } }, ctx)).toThrow(
      /kernel\.timeUnit must be "seconds"/,
    );
  });
});
