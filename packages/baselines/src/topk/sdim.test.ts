import { createRng, initBackend, tf } from '@vql/runtime';
import { buildContext, handBatch, inputsFor, randomBatch, randomTable } from '../testing/fixtures.js';
import { gradNorms } from '../testing/grad.js';
import { Sdim } from './sdim.js';

beforeAll(async () => {
  await initBackend();
});

const D = 6;
const N = 4;
const rng = createRng(21);
const target = Array.from({ length: D }, () => rng.normal());
const table = new Float32Array((N + 1) * D);
table.set(target, 4 * D); // item 4 = target
table.set(target.map((x) => 3 * x), 1 * D); // same direction: collides in every round
table.set(target.map((x) => -x), 2 * D); // opposite: collides in no round
table.set(target.map((x) => 0.5 * x), 3 * D); // same direction again

function interest(m: Sdim, histories: number[][]): number[][] {
  const t = tf.tensor2d(table, [N + 1, D]);
  const out = tf.tidy(() => m.forward(inputsFor(handBatch({ histories, targets: histories.map(() => 4) }), t, N)).interest.arraySync() as number[][]);
  t.dispose();
  return out;
}

function valuesOf(m: Sdim, item: number): number[] {
  const { wv } = m.weightValues();
  const O = m.outputDim;
  return Array.from({ length: O }, (_, o) => table.subarray(item * D, (item + 1) * D).reduce((s, x, c) => s + x * wv[c * O + o]!, 0));
}

describe('Sdim', () => {
  it('sums the colliding behaviours per round (no softmax), L2-normalises and averages', () => {
    const m = new Sdim({ rounds: 8, hashBits: 3, outputDim: 5 }, buildContext(D, 3, false));
    // Only item 1 ever shares the target's bucket: the interest is its normalised value.
    const [a, none] = interest(m, [[2, 1, 2], [2]]);
    const v = valuesOf(m, 1);
    const norm = Math.hypot(...v);
    v.forEach((x, o) => expect(a![o]).toBeCloseTo(x / norm, 5));
    expect(none!.every((x) => x === 0)).toBe(true);
    m.dispose();
  });

  it('hashes the item embeddings only: behaviour context in the fused rows does not change which behaviours collide', () => {
    // 'none' keeps the raw sum: a wrongly colliding item 2 would add to it (l2 would hide a parallel value).
    const m = new Sdim({ rounds: 8, hashBits: 3, outputDim: 5, normalize: 'none' }, buildContext(D, 3, false));
    const t = tf.tensor2d(table, [N + 1, D]);
    const out = tf.tidy(() => {
      const inputs = inputsFor(handBatch({ histories: [[2, 1, 2]], targets: [4] }), t, N);
      // Item 2's fused row points at the target (as a behaviour-context slot could make it); its item row does not.
      const row = inputs.uniqueItemHost.indexOf(2);
      const offset = new Float32Array(inputs.uniqueCount * D);
      offset.set(target.map((x, c) => 3 * x - table[2 * D + c]!), row * D);
      const fused = tf.add(inputs.uniqueEmbedding, tf.tensor2d(offset, [inputs.uniqueCount, D]));
      return m.forward({ ...inputs, uniqueEmbedding: fused, historyEmbedding: () => inputs.gatherHistory(fused) }).interest.arraySync() as number[][];
    });
    valuesOf(m, 1).forEach((x, o) => expect(out[0]![o]).toBeCloseTo(x, 4)); // only item 1 collides, as without the offset
    t.dispose();
    m.dispose();
  });

  it("'count' averages the colliding values; 'none' keeps their sum", () => {
    const c = new Sdim({ normalize: 'count', rounds: 4, hashBits: 2 }, buildContext(D, 3, false));
    const s = new Sdim({ normalize: 'none', rounds: 4, hashBits: 2 }, buildContext(D, 3, false));
    const v1 = valuesOf(c, 1);
    const v3 = valuesOf(c, 3);
    interest(c, [[1, 2, 3]])[0]!.forEach((x, o) => expect(x).toBeCloseTo((v1[o]! + v3[o]!) / 2, 5));
    interest(s, [[1, 2, 3]])[0]!.forEach((x, o) => expect(x).toBeCloseTo(v1[o]! + v3[o]!, 5));
    c.dispose();
    s.dispose();
  });

  it('gradients reach W_V and the embeddings', () => {
    const m = new Sdim({ rounds: 4, hashBits: 1 }, buildContext(4, 12, false));
    const g = gradNorms(m, randomBatch(2, 5, 12, 20), randomTable(3, 20, 4), 20, 4);
    expect(g.module[0]).toBeGreaterThan(0);
    expect(g.table).toBeGreaterThan(0);
    m.dispose();
  });

  it.each(['l2', 'count'] as const)('with a time kernel and %s, the host collision sums have the gradients of finite differences', (normalize) => {
    const kernel = { type: 'expDecayMixture', timeUnit: 'seconds', numRates: 2, minTimescale: 3600, maxTimescale: 86400 * 30 } as const;
    const m = new Sdim({ rounds: 6, hashBits: 2, normalize, kernel }, buildContext(4, 12, false));
    const batch = randomBatch(5, 4, 9, 20);
    const t = tf.tensor2d(randomTable(8, 20, 4), [21, 4]);
    const c = tf.tensor2d(Float32Array.from({ length: 4 * m.outputDim }, (_, i) => Math.sin(i + 1)), [4, m.outputDim]);
    const loss = (): tf.Scalar => tf.sum(tf.mul(m.forward(inputsFor(batch, t, 20)).interest, c));
    const vars = m.trainableVariables();
    expect(vars.length).toBeGreaterThan(1); // W_V and the kernel's variables
    const analytic = tf.tidy(() => {
      const { grads } = tf.variableGrads(loss, vars);
      return vars.map((v) => grads[v.name]!.dataSync() as Float32Array);
    });
    const eps = 1e-2;
    vars.forEach((v, vi) => {
      const base = v.dataSync().slice() as Float32Array;
      for (const i of [0, Math.floor(base.length / 2), base.length - 1]) {
        const at = (delta: number): number => {
          const x = base.slice();
          x[i] = x[i]! + delta;
          v.assign(tf.tensor(x, v.shape));
          return tf.tidy(() => loss().dataSync()[0]!);
        };
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        v.assign(tf.tensor(base, v.shape));
        expect(analytic[vi]![i]!).toBeCloseTo(numeric, 2);
      }
    });
    tf.dispose([t, c]);
    m.dispose();
  });

  it('refuses hash bits and rounds out of range', () => {
    expect(() => new Sdim({ hashBits: 0 }, buildContext(D, 3, false))).toThrow(/Sdim: hashBits must be in 1\.\.16, got 0/);
    expect(() => new Sdim({ hashBits: 17 }, buildContext(D, 3, false))).toThrow(/hashBits must be in 1\.\.16, got 17/);
    expect(() => new Sdim({ rounds: 0 }, buildContext(D, 3, false))).toThrow(/rounds must be in 1\.\.256/);
    expect(() => new Sdim({ normalize: 'max' as never }, buildContext(D, 3, false))).toThrow(/normalize must be one of "l2", "count", "none"/);
  });
});
