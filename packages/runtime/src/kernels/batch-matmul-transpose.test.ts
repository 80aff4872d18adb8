import { initBackend } from '../backend.js';
import { createRng } from '../rng.js';
import { tf } from '../tf.js';

beforeAll(async () => {
  delete process.env['VQL_BACKEND'];
  await initBackend({ backend: 'wasm' });
});

/** Row-major host product of a [b, m, k] and [b, k, n] (broadcast batch 1), float64. */
function hostMatMul(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): number[] {
  const A = (ta ? tf.transpose(a, a.rank === 3 ? [0, 2, 1] : [1, 0]) : a).arraySync() as number[][] | number[][][];
  const Bm = (tb ? tf.transpose(b, b.rank === 3 ? [0, 2, 1] : [1, 0]) : b).arraySync() as number[][] | number[][][];
  const as3 = (x: number[][] | number[][][]): number[][][] => (Array.isArray(x[0]![0]) ? (x as number[][][]) : [x as number[][]]);
  const a3 = as3(A);
  const b3 = as3(Bm);
  const out: number[] = [];
  for (let i = 0; i < Math.max(a3.length, b3.length); i++) {
    const x = a3[Math.min(i, a3.length - 1)]!;
    const y = b3[Math.min(i, b3.length - 1)]!;
    for (let r = 0; r < x.length; r++) {
      for (let c = 0; c < y[0]!.length; c++) {
        let s = 0;
        for (let t = 0; t < y.length; t++) s += x[r]![t]! * y[t]![c]!;
        out.push(s);
      }
    }
  }
  return out;
}

describe('wasm BatchMatMul with transposed operands', () => {
  it.each([
    [false, true],
    [true, false],
    [true, true],
  ])('transposeA=%s transposeB=%s matches the host product on large and small operands, batched too', (ta, tb) => {
    const rng = createRng(4);
    const rand = (shape: number[]): tf.Tensor => tf.tensor(Float32Array.from({ length: shape.reduce((x, y) => x * y, 1) }, () => rng.normal()), shape);
    // [m, k, n] large enough to take the explicit-transpose path, then one below its threshold.
    for (const [m, k, n, batch] of [[300, 40, 24, 1], [3, 4, 2, 1], [70, 33, 31, 3]] as const) {
      const aShape = batch > 1 ? [batch, ta ? k : m, ta ? m : k] : [ta ? k : m, ta ? m : k];
      const bShape = batch > 1 ? [1, tb ? n : k, tb ? k : n] : [tb ? n : k, tb ? k : n];
      const a = rand(aShape);
      const b = rand(bShape);
      const before = tf.memory().numTensors;
      const got = tf.matMul(a, b, ta, tb);
      expect(tf.memory().numTensors).toBe(before + 1); // the transposed copies are freed
      expect(got.shape).toEqual(batch > 1 ? [batch, m, n] : [m, n]);
      const want = hostMatMul(a, b, ta, tb);
      const v = got.dataSync();
      for (let i = 0; i < want.length; i++) expect(v[i]).toBeCloseTo(want[i]!, 3);
      tf.dispose([a, b, got]);
    }
  });

  it('gives MatMul the same gradients as explicit transposes', () => {
    const rng = createRng(9);
    const x = tf.tensor2d(Float32Array.from({ length: 500 * 32 }, () => rng.normal()), [500, 32]);
    const w = tf.tensor2d(Float32Array.from({ length: 32 * 48 }, () => rng.normal()), [32, 48]);
    tf.tidy(() => {
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.matMul(a, b))))([x, w]);
      const y2 = tf.mul(tf.matMul(x, w), 2); // d/dy of Σ y²
      const wantDx = tf.matMul(y2, tf.transpose(w)).dataSync();
      const wantDw = tf.matMul(tf.transpose(x), y2).dataSync();
      const gx = dx!.dataSync();
      const gw = dw!.dataSync();
      for (let i = 0; i < gx.length; i++) expect(gx[i]).toBeCloseTo(wantDx[i]!, 2);
      for (let i = 0; i < gw.length; i++) expect(Math.abs(gw[i]! - wantDw[i]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(wantDw[i]!)));
    });
    tf.dispose([x, w]);
  });
});
