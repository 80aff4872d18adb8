import { initBackend, tf } from '@vql/runtime';
import { buildContext, handBatch, inputsFor, randomTable } from '../test-fixtures.js';
import { gradNorms } from '../test-grad.js';
import { Twin } from './twin.js';

const N = 8;
const D = 4;
let eye: tf.Tensor;

beforeAll(async () => {
  await initBackend();
  eye = tf.eye(D);
});
// e_i = [i/4 − 1, 0.1, 0, 0]: with W_Q = W_K = I and target e = [1, 0, 0, 0], the score grows with i.
const table = new Float32Array((N + 1) * D);
for (let i = 1; i <= N; i++) table.set([i / 4 - 1, 0.1, 0, 0], i * D);
table.set([1, 0, 0, 0], 8 * D); // item 8 is the target
const batch = handBatch({ histories: [[3, 7, 1, 6, 2, 5], [2]], targets: [8, 8] });

describe('Twin', () => {
  it('retrieves by the attention score itself and attends over the picks with the same weights', () => {
    const m = new Twin({ k: 3, heads: 1, headDim: D }, buildContext(D, 6, false));
    m.setWeights({ wq: eye, wk: eye, wv: eye });
    const t = tf.tensor2d(table, [N + 1, D]);
    // Scores: items 7 (pos 1), 6 (pos 3), 5 (pos 5) are the three largest.
    expect(m.retrieve(inputsFor(batch, t, N))).toEqual([[1, 3, 5], [0]]);
    const out = tf.tidy(() => m.forward(inputsFor(batch, t, N)).interest.arraySync() as number[][]);
    // Softmax over the three picks' logits (e_q·e_i / √D), values = e_i.
    const picks = [7, 6, 5].map((i) => Array.from(table.subarray(i * D, (i + 1) * D)));
    const z = picks.map((e) => e[0]! / Math.sqrt(D));
    const ex = z.map((x) => Math.exp(x));
    const w = ex.map((x) => x / ex.reduce((p, q) => p + q, 0));
    for (let c = 0; c < D; c++) expect(out[0]![c]).toBeCloseTo(picks.reduce((s, e, j) => s + w[j]! * e[c]!, 0), 5);
    // Changing the shared key projection changes what is retrieved (consistency of GSU and ESU).
    m.setWeights({ wq: eye, wk: tf.neg(eye), wv: eye });
    expect(m.retrieve(inputsFor(batch, t, N))[0]).toEqual([0, 2, 4]); // items 3, 1, 2: the smallest scores
    t.dispose();
    m.dispose();
  });

  it('k > L takes every behaviour; gradients reach the projections and the embeddings', () => {
    const m = new Twin({ k: 50 }, buildContext(D, 6, false));
    const t = tf.tensor2d(table, [N + 1, D]);
    expect(m.retrieve(inputsFor(batch, t, N))).toEqual([[0, 1, 2, 3, 4, 5], [0]]);
    t.dispose();
    const g = gradNorms(m, batch, randomTable(4, N, D), N, D);
    for (const n of g.module) expect(n).toBeGreaterThan(0);
    expect(g.table).toBeGreaterThan(0);
    m.dispose();
  });

  it('refuses k ≤ 0 and a bad head shape', () => {
    expect(() => new Twin({ k: 0 }, buildContext(D, 6, false))).toThrow(/Twin: k must be ≥ 1, got 0/);
    expect(() => new Twin({ k: -3 }, buildContext(D, 6, false))).toThrow(/k must be ≥ 1/);
    expect(() => new Twin({ heads: 0 }, buildContext(D, 6, false))).toThrow(/Twin: heads must be in 1\.\.256, got 0/);
  });
});
