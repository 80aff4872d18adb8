import { createRng, initBackend, stopGradient, straightThrough, tf } from '@vql/runtime';
import { nearestCodes, nearestCodesGrouped } from './distance.js';
import { quantizationErrorSums, straightThroughCodes } from './fused-quantize.js';

beforeAll(async () => {
  await initBackend();
});

describe('fused quantize ops', () => {
  it.each([false, true])('match the tfjs composition in value and gradient (shared codebook: %s)', (shared) => {
    const [n, G, d, K] = [9, 2, 3, 4];
    const rng = createRng(2);
    const rand = (m: number): Float32Array => Float32Array.from({ length: m }, () => rng.normal());
    const keys = tf.tensor3d(rand(n * G * d), [n, G, d]);
    const books = shared ? [tf.tensor2d(rand(K * d), [K, d])] : [tf.tensor2d(rand(K * d), [K, d]), tf.tensor2d(rand(K * d), [K, d])];
    const codes = Int32Array.from({ length: n * G }, () => rng.int(K));
    const weight = Float32Array.from({ length: n }, (_, i) => (i % 4 === 3 ? 0 : 1));
    const fused = { codes, bookOf: shared ? [0, 0] : [0, 1], weight };
    const up = tf.tensor3d(rand(n * G * d), [n, G, d]);
    const mix = [0.7, 1.3];
    // Reference: per group gather, straightThrough, squared errors with stop-gradients, weighted sums.
    const reference = (k: tf.Tensor, ...b: tf.Tensor[]): tf.Scalar => {
      const parts = tf.unstack(k, 1).map((k2, g) => {
        const z = tf.tensor1d(codes.filter((_, i) => i % G === g), 'int32');
        const cz = tf.gather(b[fused.bookOf[g]!]!, z);
        const w = tf.tensor2d(weight, [n, 1]);
        return {
          q: straightThrough(k2, cz),
          cb: tf.sum(tf.mul(tf.square(tf.sub(stopGradient(k2), cz)), w)),
          cm: tf.sum(tf.mul(tf.square(tf.sub(k2, stopGradient(cz))), w)),
        };
      });
      const q = tf.stack(parts.map((p) => p.q), 1);
      return tf.addN([tf.sum(tf.mul(q, up)), tf.mul(tf.addN(parts.map((p) => p.cb)), mix[0]!), tf.mul(tf.addN(parts.map((p) => p.cm)), mix[1]!)]) as tf.Scalar;
    };
    const fusedLoss = (k: tf.Tensor, ...b: tf.Tensor[]): tf.Scalar => {
      const q = straightThroughCodes(k as tf.Tensor3D, b as tf.Tensor2D[], fused);
      const s = quantizationErrorSums(k as tf.Tensor3D, b as tf.Tensor2D[], fused);
      return tf.add(tf.sum(tf.mul(q, up)), tf.sum(tf.mul(s, tf.tensor1d(mix)))) as tf.Scalar;
    };
    tf.tidy(() => {
      expect(fusedLoss(keys, ...books).dataSync()[0]).toBeCloseTo(reference(keys, ...books).dataSync()[0]!, 4);
      const q = straightThroughCodes(keys, books, fused).dataSync();
      const values = books.map((b) => b.dataSync());
      for (let i = 0; i < n * G; i++) {
        for (let t = 0; t < d; t++) expect(q[i * d + t]).toBe(values[fused.bookOf[i % G]!]![codes[i]! * d + t]);
      }
      const gf = tf.grads(fusedLoss)([keys, ...books]);
      const gr = tf.grads(reference)([keys, ...books]);
      gf.forEach((g, j) => {
        const a = g.dataSync();
        const b = gr[j]!.dataSync();
        expect(a.length).toBe(b.length);
        for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 4);
      });
      // Padded items get no gradient from the losses, only the straight-through identity.
      const dk = gf[0]!.dataSync();
      const upv = up.dataSync();
      for (let t = 0; t < G * d; t++) expect(dk[3 * G * d + t]).toBeCloseTo(upv[3 * G * d + t]!, 6);
    });
    tf.dispose([keys, ...books, up]);
  });

  it('nearestCodesGrouped picks the same codes as nearestCodes per group (codebooks of different sizes, blocked rows)', () => {
    const rng = createRng(8);
    const [n, d] = [37, 4];
    const sizes = [3, 8, 5];
    const keys = tf.tensor3d(Float32Array.from({ length: n * sizes.length * d }, () => rng.normal()), [n, sizes.length, d]);
    const books = sizes.map((K) => tf.tensor2d(Float32Array.from({ length: K * d }, () => rng.normal()), [K, d]));
    tf.tidy(() => {
      const got = nearestCodesGrouped(keys, books, 50); // 50 scores per block: several blocks
      const per = tf.unstack(keys, 1).map((k, g) => nearestCodes(k as tf.Tensor2D, books[g]!));
      for (let i = 0; i < n; i++) for (let g = 0; g < sizes.length; g++) expect(got[i * sizes.length + g]).toBe(per[g]![i]);
      expect(() => nearestCodesGrouped(keys, books.slice(1))).toThrow(/3 groups but 2 codebooks/);
    });
    tf.dispose([keys, ...books]);
  });
});
