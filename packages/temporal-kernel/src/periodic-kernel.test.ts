import { initBackend, tf } from '@vql/runtime';
import { PeriodicKernel, DAY_SECONDS } from './periodic-kernel.js';

beforeAll(async () => {
  await initBackend();
});

describe('PeriodicKernel', () => {
  it('is 1 + Σ a cos(ωΔ − φ) with Σ a < 1, so κ > 0 and its log exists', () => {
    const k = new PeriodicKernel({ timeUnit: 'seconds', initialAmplitude: 0.3 });
    expect(k.rank).toBe(5);
    expect(Array.from(k.amplitudes()).map((a) => Number(a.toFixed(6)))).toEqual([0.3, 0.3]);
    expect(k.evaluate(0)).toBeCloseTo(1.6, 6);
    expect(k.evaluate(DAY_SECONDS / 2)).toBeCloseTo(1 - 0.3 + 0.3 * Math.cos(Math.PI / 7), 6);
    // Extreme logits: amplitudes approach but never reach a total of 1.
    tf.tidy(() => k.setWeights({ amplitudeLogit: tf.tensor1d([30, 30]), phase: tf.tensor1d([0, Math.PI]) }));
    const a = k.amplitudes();
    expect(a[0]! + a[1]!).toBeLessThan(1);
    const lw = tf.tidy(() => k.logWeight(tf.tensor1d([0, DAY_SECONDS / 2, 3.5 * DAY_SECONDS])).dataSync());
    expect(Array.from(lw).every(Number.isFinite)).toBe(true);
    k.dispose();
  });

  it('logWeight matches the float64 evaluation, including dt of years (range-reduced phase)', () => {
    const k = new PeriodicKernel({ timeUnit: 'seconds', periods: [DAY_SECONDS, 7 * DAY_SECONDS], initialAmplitude: 0.2 });
    tf.tidy(() => k.setWeights({ amplitudeLogit: tf.tensor1d([-1, -0.5]), phase: tf.tensor1d([0.7, -2]) }));
    const dts = [0, 1234, 43210, 5 * DAY_SECONDS + 77, 3e6, 9e6];
    const got = tf.tidy(() => k.logWeight(tf.tensor1d(dts)).dataSync());
    dts.forEach((dt, i) => expect(got[i]).toBeCloseTo(Math.log(k.evaluate(Math.fround(dt))), 4));
    k.dispose();
  });

  it('factorises with anchor-independent factors (re-anchor scale 1) for epoch times in ms', () => {
    const k = new PeriodicKernel({ timeUnit: 'milliseconds' });
    tf.tidy(() => k.setWeights({ amplitudeLogit: tf.tensor1d([-0.2, -1]), phase: tf.tensor1d([1.1, 0.3]) }));
    const t0 = 1.7e12;
    for (const [tq, ti] of [[t0 + 5e6, t0 - 123456789], [t0 + 86_400_000, t0], [t0, t0 - 6.3e11]] as const) {
      const q = k.queryFactors(tq, t0);
      const h = k.historyFactors(ti, t0);
      const dot = q.reduce((s, x, f) => s + x * h[f]!, 0);
      expect(Math.abs(dot - k.evaluate(tq - ti)) / k.evaluate(tq - ti)).toBeLessThan(1e-9);
      expect(Array.from(k.historyFactors(ti, t0 + 5e9))).toEqual(Array.from(h));
    }
    expect(Array.from(k.reanchorScale(t0, t0 + 1e9))).toEqual([1, 1, 1, 1, 1]);
    k.dispose();
  });

  it('sends gradients to amplitudes and phases; refuses bad options', () => {
    const k = new PeriodicKernel({ timeUnit: 'seconds' });
    const dt = tf.tensor1d([1000, 20000, 50000, 300000]);
    const { grads } = tf.variableGrads(() => tf.tidy(() => tf.sum(tf.mul(k.logWeight(dt), tf.tensor1d([1, -1, 2, 0.5]))) as tf.Scalar));
    for (const v of k.trainableVariables()) expect(Math.max(...Array.from(grads[v.name]!.dataSync(), Math.abs))).toBeGreaterThan(1e-4);
    tf.dispose([dt, ...Object.values(grads)]);
    k.dispose();
    expect(() => new PeriodicKernel({ timeUnit: 'seconds', initialAmplitude: 0.5 })).toThrow(/× 2 periods must be < 1/);
    expect(() => new PeriodicKernel({ timeUnit: 'seconds', periods: [86400, 0] })).toThrow(/periods\[1\]/);
    expect(() => new PeriodicKernel({ timeUnit: 'hours' as 'seconds' })).toThrow(/timeUnit must be 'seconds' or 'milliseconds'/);
  });
});
