import { createRng, initBackend, tf } from '@vql/runtime';
import type { Tensor } from '@vql/runtime';
import { assertNoTensorLeak } from '@vql/runtime/testing';
import { decayMixtureLogWeight } from './decay-mixture-log-weight.js';

beforeAll(async () => {
  await initBackend();
});

/** The plain tfjs composition the fused op replaces. */
function reference(x: Tensor, logRate: Tensor, logBeta: Tensor, unit: number): Tensor {
  const rates = tf.mul(tf.exp(logRate), unit);
  return tf.logSumExp(tf.sub(logBeta, tf.mul(tf.expandDims(x, -1), rates)), -1);
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, rel: number): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(b[i]!)));
  }
}

describe('decayMixtureLogWeight', () => {
  it.each([
    ['seconds', 1],
    ['milliseconds', 1e-3],
  ])('matches the tfjs composition in value and in every gradient (%s)', (_name, unit) => {
    const rng = createRng(5);
    const dt = new Float32Array(4 * 7);
    // Ages from zero to years, in the kernel's unit: every rate dominates somewhere.
    for (let i = 0; i < dt.length; i++) dt[i] = (Math.exp(rng.next() * 18) - 1) / unit;
    dt[3] = 0;
    const x = tf.tensor2d(dt, [4, 7]);
    const logRate = tf.tensor1d([Math.log(1 / 3600), Math.log(1 / 86400), Math.log(1 / 3.15e7)]);
    const logBeta = tf.tensor1d([Math.log(0.5), Math.log(0.2), Math.log(0.3)]);
    const upstream = tf.randomNormal([4, 7], 0, 1, 'float32', 3);
    const grads = (f: typeof reference): Float32Array[] =>
      tf.tidy(() => {
        const g = tf.grads((a: Tensor, b: Tensor, c: Tensor) => tf.sum(tf.mul(f(a, b, c, unit), upstream)))([x, logRate, logBeta]);
        return [f(x, logRate, logBeta, unit), ...g].map((t) => Float32Array.from(t.dataSync()));
      });
    const [fv, fx, fr, fb] = grads(decayMixtureLogWeight);
    const [rv, rx, rr, rb] = grads(reference);
    close(fv!, rv!, 1e-5);
    close(fx!, rx!, 1e-4);
    close(fr!, rr!, 1e-4);
    close(fb!, rb!, 1e-4);
    expect(fr!.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    tf.dispose([x, logRate, logBeta, upstream]);
  });

  it('keeps any input shape, stays finite where every term underflows and propagates NaN', () => {
    const logRate = tf.tensor1d([Math.log(1 / 60)]);
    const logBeta = tf.tensor1d([0]);
    const x = tf.tensor3d([0, 6.3e8, Number.NaN, 60], [2, 1, 2]);
    const out = tf.tidy(() => decayMixtureLogWeight(x, logRate, logBeta, 1));
    expect(out.shape).toEqual([2, 1, 2]);
    const v = out.dataSync();
    expect(v[0]).toBeCloseTo(0, 6);
    expect(v[1]).toBeCloseTo(-6.3e8 / 60, -3);
    expect(Number.isNaN(v[2]!)).toBe(true);
    expect(v[3]).toBeCloseTo(-1, 5);
    tf.dispose([out, x, logRate, logBeta]);
  });

  it('leaves no tensor behind in a gradient step', async () => {
    const x = tf.tensor1d([1, 10, 100]);
    const logRate = tf.variable(tf.tensor1d([-1, -3]));
    const logBeta = tf.variable(tf.tensor1d([-0.5, -1]));
    await assertNoTensorLeak(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(decayMixtureLogWeight(x, logRate, logBeta, 1)) as tf.Scalar, [logRate, logBeta]);
      value.dispose();
      tf.dispose(Object.values(grads));
    });
    tf.dispose([x, logRate, logBeta]);
  });
});
