import { initBackend, tf } from '@vql/runtime';
import { buildContext, handBatch, inputsFor, randomTable } from '../testing/fixtures.js';
import { gradNorms } from '../testing/grad.js';
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

  it('each head retrieves its own top k from its own scores (per-head, as FuxiCTR), and attends over those', () => {
    // W_Q = W_K = W_V = I, 2 heads of width 2: head 0 reads dims 0–1, head 1 dims 2–3. Items 1–3 are
    // strong on head 0, items 4–6 (weaker) on head 1: head-averaged scores would pick 1–3 for both heads.
    const d = 4;
    const rows: number[][] = [[], [3, 0, 0, 0], [2.5, 0, 0, 0], [2, 0, 0, 0], [0, 0, 1.5, 0], [0, 0, 1.2, 0], [0, 0, 1, 0], [1, 0, 1, 0]];
    const tab = new Float32Array(rows.length * d);
    rows.forEach((r, i) => r.length > 0 && tab.set(r, i * d));
    const m = new Twin({ k: 3, heads: 2, headDim: 2 }, buildContext(d, 6, false));
    m.setWeights({ wq: eye, wk: eye, wv: eye });
    const t = tf.tensor2d(tab, [rows.length, d]);
    const b = handBatch({ histories: [[4, 1, 5, 2, 6, 3]], targets: [7] });
    expect(m.retrieveSets(inputsFor(b, t, 7))).toEqual([[[1, 3, 5], [0, 2, 4]]]); // head 0: items 1–3; head 1: items 4–6
    expect(m.retrieve(inputsFor(b, t, 7))).toEqual([[0, 1, 2, 3, 4, 5]]); // the union
    const out = tf.tidy(() => m.forward(inputsFor(b, t, 7)).interest.arraySync() as number[][])[0]!;
    const headOut = (items: number[], c0: number): number[] => {
      const z = items.map((i) => (rows[i]![c0]! * rows[7]![c0]! + rows[i]![c0 + 1]! * rows[7]![c0 + 1]!) / Math.SQRT2);
      const w = z.map(Math.exp);
      const sum = w.reduce((p, q) => p + q, 0);
      return [c0, c0 + 1].map((c) => items.reduce((s, i, j) => s + (w[j]! / sum) * rows[i]![c]!, 0));
    };
    const expected = [...headOut([1, 2, 3], 0), ...headOut([4, 5, 6], 2)];
    expected.forEach((x, c) => expect(out[c]).toBeCloseTo(x, 5));
    expect(out[2]).toBeGreaterThan(1); // head 1 saw items 4–6 (one top-k from averaged scores gives it 0)
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
