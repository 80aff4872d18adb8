import { initBackend, tf } from '@vql/runtime';
import { buildContext, handBatch, inputsFor, randomBatch, randomTable } from '../testing/fixtures.js';
import { gradNorms } from '../testing/grad.js';
import { SimSoft } from './sim-soft.js';

beforeAll(async () => {
  await initBackend();
});

const D = 4;

describe('SimSoft', () => {
  it('retrieves by the inner product of its own projections, not the attention weights', () => {
    const N = 8;
    const table = new Float32Array((N + 1) * D);
    for (let i = 1; i <= N; i++) table.set([i / 4 - 1, 0, 0.3, 0], i * D);
    table.set([1, 0, 0, 0], 8 * D);
    const batch = handBatch({ histories: [[3, 7, 1, 6, 2, 5]], targets: [8] });
    const m = new SimSoft({ k: 2, retrievalDim: D }, buildContext(D, 6, false));
    const eye = tf.eye(D);
    const w = m.getWeights();
    m.setWeights({ ...w, 'retrieval/wa': eye, 'retrieval/wb': eye });
    const t = tf.tensor2d(table, [N + 1, D]);
    expect(m.retrieve(inputsFor(batch, t, N))).toEqual([[1, 3]]); // items 7 and 6
    m.setWeights({ ...m.getWeights(), 'retrieval/wb': tf.neg(eye) });
    expect(m.retrieve(inputsFor(batch, t, N))).toEqual([[2, 4]]); // items 1 and 2
    tf.dispose([eye, t]);
    m.dispose();
  });

  it("trains the search unit through its own auxiliary CTR loss on the labels (SIM's soft search)", () => {
    const N = 30;
    const batch = randomBatch(3, 6, 20, N);
    const m = new SimSoft({ k: 4, retrievalDim: 8 }, buildContext(D, 20, false));
    const g = gradNorms(m, batch, randomTable(6, N, D), N, D);
    expect(g.module).toHaveLength(9); // wq, wk, wv, retrieval/wa, wb, aux/w1, b1, w2, b2
    for (const n of g.module) expect(n).toBeGreaterThan(0);
    const t = tf.tensor2d(randomTable(6, N, D), [N + 1, D]);
    // The GSU's gradient comes from the aux loss alone (top-k has none): ∂auxLoss/∂W_a, ∂W_b ≠ 0.
    const [wa, wb] = m.trainableVariables().slice(3, 5) as [tf.Variable, tf.Variable];
    const gsuGrads = tf.tidy(() => {
      const { grads } = tf.variableGrads(() => m.forward(inputsFor(batch, t, N, true)).auxLoss as tf.Scalar, [wa, wb]);
      return [grads[wa.name]!, grads[wb.name]!].map((x) => tf.norm(x).dataSync()[0]!);
    });
    for (const n of gsuGrads) expect(n).toBeGreaterThan(1e-6);
    // It is a CTR loss: it depends on the labels (flipped labels, different loss) ...
    const aux = (b: typeof batch): number => tf.tidy(() => m.forward(inputsFor(b, t, N, true)).auxLoss!.dataSync()[0]!);
    const flipped = { ...batch, label: batch.label.map((y) => 1 - y) };
    expect(Math.abs(aux(flipped) - aux(batch))).toBeGreaterThan(1e-4);
    // ... only exists in training, and falls when the search unit is optimised on it.
    expect(tf.tidy(() => m.forward(inputsFor(batch, t, N, false)).auxLoss)).toBeUndefined();
    const before = aux(batch);
    const opt = tf.train.adam(0.05);
    const retrieverVars = m.trainableVariables().slice(3);
    for (let i = 0; i < 30; i++) opt.minimize(() => m.forward(inputsFor(batch, t, N, true)).auxLoss as tf.Scalar, false, retrieverVars);
    expect(aux(batch)).toBeLessThan(before * 0.8);
    // Training without labels is refused, naming them.
    const unlabelled = () => {
      const inputs = inputsFor(batch, t, N, true);
      const host: Record<string, unknown> = { ...inputs.host };
      delete host['label'];
      m.forward({ ...inputs, host: host as unknown as typeof inputs.host });
    };
    expect(() => tf.tidy(unlabelled)).toThrow(/SimSoft: training needs the batch's labels \(host.label \[6\]\)/);
    opt.dispose();
    t.dispose();
    m.dispose();
  });

  it('refuses bad options', () => {
    expect(() => new SimSoft({ k: 0 }, buildContext(D, 6, false))).toThrow(/SimSoft: k must be ≥ 1/);
    expect(() => new SimSoft({ retrievalDim: 0 }, buildContext(D, 6, false))).toThrow(/retrievalDim must be in 1\.\.4096/);
    expect(() => new SimSoft({ retrievalLossWeight: -1 }, buildContext(D, 6, false))).toThrow(/retrievalLossWeight must be a finite number ≥ 0/);
  });
});
