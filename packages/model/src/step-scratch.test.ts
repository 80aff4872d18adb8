import { gatherRows, initBackend, tf, withHostScratch } from '@vql/runtime';
import type { Tensor } from '@vql/runtime';
import { targetAttention } from './fused-attention.js';

afterAll(async () => {
  await initBackend({ backend: 'wasm' });
});

// The step's kernels on reused host buffers (withHostScratch, as in every training step).
describe.each(['wasm', 'cpu'] as const)('pooled host buffers on %s', (backend) => {
  beforeAll(async () => {
    await initBackend({ backend });
  });

  it('a gather and a target attention give the same values and gradients in scopes, twice, as without', () => {
    const U = 7;
    const B = 3;
    const L = 5;
    const shape = { batchSize: B, maxLen: L, heads: 2, groups: 1, headDim: 2 };
    const rnd = (n: number, seed: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 13.7 + i * 1.3));
    const table = tf.tensor2d(rnd(10 * 4, 1), [10, 4]);
    const ids = Int32Array.of(3, 1, 4, 1, 5, 9, 2);
    const query = tf.tensor2d(rnd(B * 4, 2), [B, 4]);
    const inverse = Int32Array.from({ length: B * L }, (_, i) => (i * 3) % U);
    const mask = Float32Array.from({ length: B * L }, (_, i) => (i % 4 === 3 ? 0 : 1));
    const loss = (t: Tensor, q: Tensor): Tensor => {
      const rows = gatherRows(t, ids); // [U, 4]: keys are the first two columns, values all four
      const keys = tf.slice(rows, [0, 0], [U, 2]);
      const out = targetAttention(q, keys, rows, null, { inverse, hasHistory: Float32Array.of(1, 0, 1), mask, codes: null, shape, scale: 0.7 });
      return tf.sum(tf.mul(out, tf.tensor2d(rnd(B * 4, 3), [B, 4])));
    };
    const run = (): number[][] =>
      tf.tidy(() => [Array.from(loss(table, query).dataSync()), ...tf.grads(loss)([table, query]).map((g) => Array.from(g.dataSync()))]);
    const plain = run();
    expect(withHostScratch(run)).toEqual(plain);
    expect(withHostScratch(run)).toEqual(plain);
    tf.dispose([table, query]);
  });
});
