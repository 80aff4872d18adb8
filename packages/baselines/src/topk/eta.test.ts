import { createRng, initBackend, tf } from '@vql/runtime';
import { buildContext, handBatch, inputsFor, randomTable } from '../testing/fixtures.js';
import { gradNorms } from '../testing/grad.js';
import { Eta } from './eta.js';

beforeAll(async () => {
  await initBackend();
});

const N = 6;
const D = 8;
const rng = createRng(11);
const target = Array.from({ length: D }, () => rng.normal());
const table = new Float32Array((N + 1) * D);
table.set(target, 6 * D); // item 6 = the target
table.set(target.map((x) => 2 * x), 1 * D); // same direction: Hamming 0
table.set(target.map((x) => -x), 2 * D); // opposite: every bit differs
table.set(Array.from({ length: D }, () => rng.normal()), 3 * D); // unrelated
table.set(target.map((x) => x + 0.05 * rng.normal()), 4 * D); // close
table.set(Array.from({ length: D }, () => rng.normal()), 5 * D);

describe('Eta', () => {
  it('retrieves the k behaviours nearest the target in SimHash Hamming distance', () => {
    const m = new Eta({ k: 2, hashBits: 128 }, buildContext(D, 6, false));
    const batch = handBatch({ histories: [[2, 3, 1, 2, 4, 5]], targets: [6] });
    const t = tf.tensor2d(table, [N + 1, D]);
    expect(m.retrieve(inputsFor(batch, t, N))).toEqual([[2, 4]]);
    const sig = m.signatures(tf.tensor2d(table.subarray(D), [N, D]));
    expect(sig).toHaveLength(N * 4);
    expect(Array.from(sig.subarray(0, 4))).toEqual(Array.from(sig.subarray(5 * 4, 6 * 4))); // item 1 ≡ item 6
    expect(Array.from(sig.subarray(4, 8))).toEqual(Array.from(sig.subarray(20, 24), (w) => ~w >>> 0)); // item 2 = ¬ item 6
    t.dispose();
    m.dispose();
  });

  it('hashes the item embeddings only: behaviour context in the fused rows does not move the picks', () => {
    const m = new Eta({ k: 2, hashBits: 128 }, buildContext(D, 6, false));
    const batch = handBatch({ histories: [[2, 3, 1, 2, 4, 5]], targets: [6] });
    const t = tf.tensor2d(table, [N + 1, D]);
    const picks = tf.tidy(() => {
      const inputs = inputsFor(batch, t, N);
      // Fused rows as a context encoder with behaviour-context slots would make them: the history
      // rows carry an offset the target row does not (items 2 and 3 now point at the target).
      const offset = new Float32Array(inputs.uniqueCount * D);
      for (const item of [2, 3]) offset.set(target.map((x, c) => 5 * x - table[item * D + c]!), inputs.uniqueItemHost.indexOf(item) * D);
      const fused = tf.add(inputs.uniqueEmbedding, tf.tensor2d(offset, [inputs.uniqueCount, D]));
      return m.retrieve({ ...inputs, uniqueEmbedding: fused, historyEmbedding: () => inputs.gatherHistory(fused) });
    });
    expect(picks).toEqual([[2, 4]]); // items 1 and 4, as from the item embeddings alone
    t.dispose();
    m.dispose();
  });

  it('the rotation is seeded and restored with the weights', () => {
    const a = new Eta({ hashBits: 16 }, buildContext(D, 6, false, 1));
    const b = new Eta({ hashBits: 16 }, buildContext(D, 6, false, 2));
    expect(Array.from(a.rotationValues())).not.toEqual(Array.from(b.rotationValues()));
    b.setWeights(a.getWeights());
    expect(Array.from(a.rotationValues())).toEqual(Array.from(b.rotationValues()));
    expect(Object.keys(a.getWeights()).sort()).toEqual(['hash/rotation', 'wk', 'wq', 'wv']);
    expect(a.trainableVariables()).toHaveLength(3); // the rotation never trains
    a.dispose();
    b.dispose();
  });

  it('gradients flow through the attention on the picks', () => {
    const m = new Eta({ k: 3, hashBits: 8 }, buildContext(D, 6, false));
    const g = gradNorms(m, handBatch({ histories: [[1, 2, 3, 4, 5], []], targets: [6, 1] }), randomTable(5, N, D), N, D);
    for (const n of g.module) expect(n).toBeGreaterThan(0);
    expect(g.table).toBeGreaterThan(0);
    m.dispose();
  });

  it('refuses hash bits out of range and k ≤ 0', () => {
    expect(() => new Eta({ hashBits: 0 }, buildContext(D, 6, false))).toThrow(/Eta: hashBits must be in 1\.\.1024, got 0/);
    expect(() => new Eta({ hashBits: 4096 }, buildContext(D, 6, false))).toThrow(/hashBits must be in 1\.\.1024, got 4096/);
    expect(() => new Eta({ k: 0 }, buildContext(D, 6, false))).toThrow(/Eta: k must be ≥ 1/);
  });
});
