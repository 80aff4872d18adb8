import { createRng, initBackend, tf } from '@vql/runtime';
import { assertNoTensorLeak } from '@vql/runtime/testing';
import { ExpDecayMixtureKernel } from './exp-decay-mixture-kernel.js';
import { VqlTemporalKernelError } from './errors.js';

const YEAR = 365.25 * 86400;

beforeAll(async () => {
  await initBackend();
});

function hostKappa(lambda: number[], beta: number[], dtSeconds: number): number {
  return lambda.reduce((s, l, r) => s + beta[r]! * Math.exp(-l * dtSeconds), 0);
}

describe('ExpDecayMixtureKernel', () => {
  it('spreads initial rates log-uniformly from minutes to years, weights 1/R', () => {
    const k = new ExpDecayMixtureKernel({ timeUnit: 'seconds', numRates: 4, minTimescale: 60, maxTimescale: 60 * 1000 });
    const rates = Array.from(k.rates());
    expect(rates[0]).toBeCloseTo(1 / 60, 8);
    expect(rates[3]! / rates[0]!).toBeCloseTo(1 / 1000, 6);
    expect(rates[1]! / rates[0]!).toBeCloseTo(rates[2]! / rates[1]!, 6);
    expect(Array.from(k.weights()).map((b) => Number(b.toFixed(6)))).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(k.evaluate(0)).toBeCloseTo(1, 6);
    const def = new ExpDecayMixtureKernel({ timeUnit: 'seconds' });
    const r = def.rates();
    expect(1 / r[0]!).toBeCloseTo(60, 3);
    expect(1 / r[r.length - 1]!).toBeGreaterThan(YEAR);
    k.dispose();
    def.dispose();
  });

  it('logWeight equals log Σ β e^{−λ dt} and stays finite where every term underflows', () => {
    const k = new ExpDecayMixtureKernel({ timeUnit: 'seconds', initialRates: [1 / 60, 1 / 86400, 1 / YEAR], initialWeights: [0.5, 0.3, 0.2] });
    const dts = [0, 30, 3600, 86400 * 3, YEAR, 20 * YEAR];
    const got = tf.tidy(() => k.logWeight(tf.tensor1d(dts)).dataSync());
    const lambda = Array.from(k.rates());
    const beta = Array.from(k.weights());
    dts.forEach((dt, i) => {
      expect(got[i]).toBeCloseTo(Math.log(hostKappa(lambda, beta, dt)), 4);
    });
    // Only the fastest rate: log κ = log β − λ dt, far below float32's exp range, yet finite.
    const fast = new ExpDecayMixtureKernel({ timeUnit: 'seconds', initialRates: [1 / 60], initialWeights: [1] });
    const deep = tf.tidy(() => fast.logWeight(tf.tensor1d([20 * YEAR])).dataSync()[0]!);
    expect(Number.isFinite(deep)).toBe(true);
    expect(deep).toBeCloseTo((-20 * YEAR) / 60, -3);
    k.dispose();
    fast.dispose();
  });

  it('reads milliseconds explicitly: the same kernel in ms gives the same weights for 1000× dt', () => {
    const s = new ExpDecayMixtureKernel({ timeUnit: 'seconds', numRates: 3 });
    const ms = new ExpDecayMixtureKernel({ timeUnit: 'milliseconds', numRates: 3 });
    expect(ms.evaluate(3_600_000)).toBeCloseTo(s.evaluate(3600), 12);
    const a = tf.tidy(() => s.logWeight(tf.tensor1d([3600])).dataSync()[0]!);
    const b = tf.tidy(() => ms.logWeight(tf.tensor1d([3_600_000])).dataSync()[0]!);
    expect(b).toBeCloseTo(a, 5);
    s.dispose();
    ms.dispose();
  });

  it('factors multiply back to κ and re-anchoring rescales history factors exactly', () => {
    const rng = createRng(11);
    const k = new ExpDecayMixtureKernel({ timeUnit: 'seconds', numRates: 5 });
    const t0 = 1.7e9;
    for (let trial = 0; trial < 50; trial++) {
      const ti = t0 - rng.next() * 2 * YEAR;
      const tq = t0 + rng.next() * 90 * 86400;
      const q = k.queryFactors(tq, t0);
      const h = k.historyFactors(ti, t0);
      const dot = q.reduce((s, x, f) => s + x * h[f]!, 0);
      const direct = k.evaluate(tq - ti);
      expect(Math.abs(dot - direct) / direct).toBeLessThan(1e-9);
      const t0New = t0 + rng.next() * 30 * 86400;
      const scale = k.reanchorScale(t0, t0New);
      const hNew = k.historyFactors(ti, t0New);
      hNew.forEach((x, f) => expect(Math.abs(x - scale[f]! * h[f]!)).toBeLessThanOrEqual(1e-12 * Math.max(x, 1e-300)));
    }
    k.dispose();
  });

  it('keeps factors finite over 20 years of history with the fastest decay', () => {
    const k = new ExpDecayMixtureKernel({ timeUnit: 'milliseconds', initialRates: [1 / 60, 1 / 3600], initialWeights: [1, 1] });
    const t0 = 1.7e12;
    const times = new Float64Array(1000).map((_, i) => t0 - (i / 999) * 20 * YEAR * 1000);
    const h = k.historyFactorsBatch(times, t0);
    expect(h.every((x) => Number.isFinite(x) && x >= 0 && x <= 1)).toBe(true);
    expect(h[h.length - 2]).toBe(0); // underflowed: fine
    const q = k.queryFactors(t0 + 20 * YEAR * 1000, t0);
    expect(q.every((x) => Number.isFinite(x))).toBe(true);
    const scale = k.reanchorScale(t0, t0 + 20 * YEAR * 1000);
    expect(scale.every((x) => Number.isFinite(x) && x >= 0)).toBe(true);
    k.dispose();
  });

  it('sends the loss gradient to λ and β', () => {
    const k = new ExpDecayMixtureKernel({ timeUnit: 'seconds', numRates: 3, minTimescale: 600, maxTimescale: 86400 * 30 });
    const dt = tf.tensor2d([[60, 3600, 86400], [7200, 86400 * 7, 120]]);
    const logits = tf.tensor2d([[0.3, -0.1, 0.2], [0.5, 0.0, -0.4]]);
    const values = tf.tensor2d([[1, -2, 0.5], [0.3, 1, -1]]);
    const { grads } = tf.variableGrads(() =>
      tf.tidy(() => tf.sum(tf.mul(tf.softmax(tf.add(logits, k.logWeight(dt)), -1), values)) as tf.Scalar),
    );
    for (const v of k.trainableVariables()) {
      const g = grads[v.name]!.dataSync();
      expect(g.every((x) => Number.isFinite(x))).toBe(true);
      expect(Math.max(...Array.from(g, Math.abs))).toBeGreaterThan(1e-4);
    }
    tf.dispose([dt, logits, values, ...Object.values(grads)]);
    k.dispose();
  });

  it('does not leak tensors in logWeight', async () => {
    const k = new ExpDecayMixtureKernel({ timeUnit: 'seconds', numRates: 3 });
    const dt = tf.tensor1d([1, 2, 3]);
    await assertNoTensorLeak(() => k.logWeight(dt).dispose(), { label: 'logWeight' });
    dt.dispose();
    k.dispose();
  });

  it('refuses bad input with errors that name it', () => {
    expect(() => new ExpDecayMixtureKernel({} as never)).toThrow(/timeUnit must be 'seconds' or 'milliseconds'/);
    expect(() => new ExpDecayMixtureKernel({ timeUnit: 'seconds', initialRates: [0.1, -1] })).toThrow(/initialRates\[1\]/);
    expect(() => new ExpDecayMixtureKernel({ timeUnit: 'seconds', numRates: 2, initialWeights: [1] })).toThrow(/initialWeights must be an array of 2/);
    const k = new ExpDecayMixtureKernel({ timeUnit: 'seconds', numRates: 2 });
    expect(() => k.historyFactors(10, 5)).toThrow(VqlTemporalKernelError);
    expect(() => k.historyFactorsBatch(Float64Array.of(1, NaN), 5)).toThrow(/times\[1\] = NaN/);
    expect(() => k.queryFactors(Number.NaN, 0)).toThrow(/tq must be a finite number/);
    const fast = new ExpDecayMixtureKernel({ timeUnit: 'seconds', initialRates: [1], initialWeights: [1] });
    expect(() => fast.queryFactors(0, 1e4)).toThrow(/overflows/);
    expect(() => k.setWeights({ logRate: tf.zeros([3]), logBeta: tf.zeros([2]) })).toThrow(/"logRate" has shape \[3\], expected \[2\]/);
    expect(() => k.setWeights({ logRate: tf.tensor1d([0, NaN]), logBeta: tf.zeros([2]) })).toThrow(/"logRate"\[1\] is NaN/);
    expect(() => k.setWeights({ logRate: tf.zeros([2]) })).toThrow(/"logBeta" is missing/);
    k.dispose();
    fast.dispose();
  });

  it('round-trips weights and config', () => {
    const a = new ExpDecayMixtureKernel({ timeUnit: 'seconds', numRates: 3 });
    const b = new ExpDecayMixtureKernel({ timeUnit: 'seconds', numRates: 3, minTimescale: 10 });
    tf.tidy(() => b.setWeights({ logRate: tf.tensor1d([-1, -2, -3]), logBeta: tf.tensor1d([0.1, 0.2, 0.3]) }));
    a.setWeights(b.getWeights());
    expect(Array.from(a.rates())).toEqual(Array.from(b.rates()));
    expect(a.toConfig()).toEqual({ type: 'expDecayMixture', timeUnit: 'seconds', numRates: 3, minTimescale: 60, maxTimescale: 3 * YEAR });
    a.dispose();
    b.dispose();
  });
});
