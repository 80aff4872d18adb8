import { initBackend, tf } from '@vql/runtime';
import { assertNoTensorLeak } from '@vql/runtime/testing';
import { FullTargetAttention } from './full-target-attention.js';
import type { InterestInputs } from './interest-module.js';
import { randomCtrBatch, randomInterestInputs } from './testing/index.js';

beforeAll(async () => {
  await initBackend();
});

const ctx = { itemDim: 6, fusedDim: 8, maxLen: 12, contextFeatures: [], seed: 11 };

function matmul(x: Float32Array, rows: number, inner: number, w: Float32Array, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    let s = 0;
    for (let k = 0; k < inner; k++) s += x[r * inner + k]! * w[k * cols + c]!;
    out[r * cols + c] = s;
  }
  return out;
}

/** Per-row, per-head loop in float64: the definition, written the slow way. */
function reference(m: FullTargetAttention, inputs: InterestInputs, useContext: boolean): Float64Array {
  const { heads: H, groups: G, headDim: dh } = m.shape;
  const w = m.getWeights();
  const target = (useContext ? inputs.targetEmbedding : inputs.targetItemEmbedding).dataSync() as Float32Array;
  const unique = (useContext ? inputs.uniqueEmbedding : inputs.uniqueItemEmbedding).dataSync() as Float32Array;
  const D = useContext ? ctx.fusedDim : ctx.itemDim;
  const B = inputs.batchSize;
  const L = inputs.maxLen;
  const U = inputs.uniqueCount;
  const q = matmul(target, B, D, w['wq']!.dataSync() as Float32Array, H * dh);
  const k = matmul(unique, U, D, w['wk']!.dataSync() as Float32Array, G * dh);
  const v = matmul(unique, U, D, w['wv']!.dataSync() as Float32Array, H * dh);
  const bias = useContext && inputs.uniqueLogitBias !== null ? inputs.uniqueLogitBias.dataSync() : null;
  const kernel = m.temporalKernel();
  const out = new Float64Array(B * H * dh);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / G));
      const logits: Array<[number, number]> = [];
      for (let l = 0; l < L; l++) {
        if (inputs.host.historyMask[b * L + l] === 0) continue;
        const u = inputs.inverseHost[b * L + l]!;
        let s = 0;
        for (let c = 0; c < dh; c++) s += q[b * H * dh + h * dh + c]! * k[u * G * dh + g * dh + c]!;
        s /= Math.sqrt(dh);
        if (bias !== null) s += bias[u]!;
        if (kernel !== null) s += Math.log(kernel.evaluate(inputs.dtHost[b * L + l]!));
        logits.push([s, u]);
      }
      if (logits.length === 0) continue;
      const mx = Math.max(...logits.map(([s]) => s));
      let z = 0;
      for (const [s] of logits) z += Math.exp(s - mx);
      for (const [s, u] of logits) {
        const a = Math.exp(s - mx) / z;
        for (let c = 0; c < dh; c++) out[b * H * dh + h * dh + c]! += a * v[u * H * dh + h * dh + c]!;
      }
    }
  }
  return out;
}

describe('FullTargetAttention', () => {
  it.each([
    ['context + kernel, grouped keys', { heads: 4, groups: 2, headDim: 3 }, true],
    ['no context, no kernel, per-head keys', { heads: 2, headDim: 4, useContext: false, kernel: null }, false],
  ])('matches the per-row definition (%s)', (_name, options, useContext) => {
    const m = new FullTargetAttention(options, ctx);
    tf.tidy(() => {
      const batch = randomCtrBatch({ size: 7, maxLen: 12, emptyRows: [2], seed: 5 });
      const { inputs } = randomInterestInputs(batch, { itemDim: 6, fusedDim: 8, withBias: true });
      const got = m.forward(inputs).interest;
      expect(got.shape).toEqual([7, m.outputDim]);
      const want = reference(m, inputs, useContext);
      const g = got.dataSync();
      for (let i = 0; i < want.length; i++) expect(g[i]).toBeCloseTo(want[i]!, 4);
      // The empty user scores zeros, not the mean of padding.
      expect(Array.from(g.slice(2 * m.outputDim, 3 * m.outputDim)).every((x) => x === 0)).toBe(true);
    });
    m.dispose();
  });

  it('is finite with L = 0 and gives gradients to every variable', () => {
    const m = new FullTargetAttention({ heads: 2, groups: 1, headDim: 4 }, ctx);
    tf.tidy(() => {
      const { inputs } = randomInterestInputs(randomCtrBatch({ size: 3, maxLen: 0 }), { itemDim: 6, fusedDim: 8 });
      const out = m.forward(inputs).interest;
      expect(out.shape).toEqual([3, 8]);
      expect(Array.from(out.dataSync())).toEqual(new Array(24).fill(0));
    });
    tf.tidy(() => {
      const { inputs } = randomInterestInputs(randomCtrBatch({ size: 6, maxLen: 10 }), { itemDim: 6, fusedDim: 8, withBias: true });
      const { grads } = tf.variableGrads(() => tf.sum(tf.square(m.forward(inputs).interest)) as tf.Scalar, m.trainableVariables());
      expect(Object.keys(grads)).toHaveLength(m.trainableVariables().length);
      for (const g of Object.values(grads)) {
        const v = g.dataSync();
        expect(v.every(Number.isFinite)).toBe(true);
        expect(v.some((x) => x !== 0)).toBe(true);
      }
    });
    m.dispose();
  });

  it('round-trips weights, refuses mis-shaped ones, does not leak', async () => {
    const a = new FullTargetAttention({ heads: 2, headDim: 4 }, ctx);
    const b = new FullTargetAttention({ heads: 2, headDim: 4 }, { ...ctx, seed: 99 });
    b.setWeights(a.getWeights());
    for (const [k, t] of Object.entries(a.getWeights())) expect(Array.from(b.getWeights()[k]!.dataSync())).toEqual(Array.from(t.dataSync()));
    expect(() => b.setWeights({ ...a.getWeights(), wq: tf.zeros([3, 3]) })).toThrow(/weight "wq" has shape \[3, 3\], expected \[8, 8\]/);
    expect(() => new FullTargetAttention({ heads: 3, groups: 2 }, ctx)).toThrow(/groups \(2\) must divide heads \(3\)/);
    expect(() => new FullTargetAttention({ heads: 2, bogus: 1 } as never, ctx)).toThrow(/unknown option "bogus"/);
    const batch = randomCtrBatch({ size: 4, maxLen: 6 });
    await assertNoTensorLeak(() => tf.tidy(() => {
      const { inputs } = randomInterestInputs(batch, { itemDim: 6, fusedDim: 8 });
      tf.variableGrads(() => tf.sum(a.forward(inputs).interest) as tf.Scalar, a.trainableVariables());
    }), { label: 'forward+backward' });
    a.dispose();
    b.dispose();
  });
});
