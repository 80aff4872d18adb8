import { createRng, initBackend, tf } from '@vql/runtime';
import type { Rng } from '@vql/runtime';
import { createKernel } from './create-kernel.js';
import { ExpDecayMixtureKernel } from './exp-decay-mixture-kernel.js';
import { PeriodicKernel } from './periodic-kernel.js';
import { ProductKernel } from './product-kernel.js';
import type { SeparableKernel } from './separable-kernel.js';
import { SumKernel } from './sum-kernel.js';
import type { TimeUnit } from './time-unit.js';

const DAY = 86400;
const YEAR = 365.25 * DAY;

beforeAll(async () => {
  await initBackend();
});

/** Random parameters: rates between 1/(30 s) and 1/(3 years), weights e^{−3..1}, any phases. */
function randomise(kernel: SeparableKernel, rng: Rng): void {
  tf.tidy(() => {
    const w = kernel.getWeights();
    const next: Record<string, tf.Tensor> = {};
    for (const [name, t] of Object.entries(w)) {
      const n = t.size;
      const vals = new Float32Array(n).map(() => {
        if (name.endsWith('logRate')) return Math.log(1 / (30 * Math.pow((3 * YEAR) / 30, rng.next())));
        if (name.endsWith('logBeta')) return -3 + 4 * rng.next();
        if (name.endsWith('phase')) return (rng.next() * 2 - 1) * Math.PI;
        return -3 + 3 * rng.next();
      });
      next[name] = tf.tensor(vals, t.shape);
    }
    kernel.setWeights(next);
  });
}

const builders: Record<string, (unit: TimeUnit) => SeparableKernel> = {
  expDecay: (u) => new ExpDecayMixtureKernel({ timeUnit: u, numRates: 5 }),
  periodic: (u) => new PeriodicKernel({ timeUnit: u }),
  'expDecay × periodic': (u) => new ProductKernel([new ExpDecayMixtureKernel({ timeUnit: u, numRates: 3 }), new PeriodicKernel({ timeUnit: u })]),
  'expDecay + expDecay × periodic': (u) =>
    new SumKernel([
      new ExpDecayMixtureKernel({ timeUnit: u, numRates: 2 }),
      new ProductKernel([new ExpDecayMixtureKernel({ timeUnit: u, numRates: 2 }), new PeriodicKernel({ timeUnit: u, periods: [DAY] })]),
    ]),
};

describe('property: factorised == direct for random (tq, ti) and parameters', () => {
  for (const unit of ['seconds', 'milliseconds'] as const) {
    for (const [name, build] of Object.entries(builders)) {
      it(`${name} (${unit})`, () => {
        const rng = createRng(`${name}/${unit}`);
        const perSecond = unit === 'seconds' ? 1 : 1000;
        const kernel = build(unit);
        for (let trial = 0; trial < 20; trial++) {
          randomise(kernel, rng);
          const t0 = (1.6e9 + rng.next() * 1e8) * perSecond;
          const n = 25;
          const ti = new Float64Array(n).map(() => t0 - rng.next() * Math.pow(10, 1 + 7 * rng.next()) * perSecond);
          const tq = t0 + rng.next() * 90 * DAY * perSecond;
          const q = kernel.queryFactors(tq, t0);
          const H = kernel.historyFactorsBatch(ti, t0);
          expect(q.length).toBe(kernel.rank);
          const dts = Float32Array.from(ti, (t) => tq - t);
          const lw = tf.tidy(() => kernel.logWeight(tf.tensor1d(dts)).dataSync());
          for (let i = 0; i < n; i++) {
            let dot = 0;
            for (let f = 0; f < kernel.rank; f++) dot += q[f]! * H[i * kernel.rank + f]!;
            const direct = kernel.evaluate(tq - ti[i]!);
            expect(Number.isFinite(dot)).toBe(true);
            if (direct > 1e-280) expect(Math.abs(dot - direct) / direct).toBeLessThan(1e-6);
            else expect(dot).toBeLessThan(1e-270);
            // The float32 training path agrees in log space wherever κ is representable.
            const logDirect = Math.log(kernel.evaluate(dts[i]!));
            if (logDirect > -60) expect(Math.abs(lw[i]! - logDirect)).toBeLessThan(1e-4 * Math.max(1, Math.abs(logDirect)));
          }
          const t0New = t0 + rng.next() * 30 * DAY * perSecond;
          const scale = kernel.reanchorScale(t0, t0New);
          const Hnew = kernel.historyFactorsBatch(ti, t0New);
          for (let i = 0; i < Hnew.length; i++) {
            const expected = scale[i % kernel.rank]! * H[i]!;
            expect(Math.abs(Hnew[i]! - expected)).toBeLessThanOrEqual(1e-12 * Math.abs(expected) + 1e-300);
          }
        }
        kernel.dispose();
      });
    }
  }
});

describe('ProductKernel and SumKernel', () => {
  it('combine log weights (sum of logs / log-sum-exp) and ranks (product / sum)', () => {
    const a = new ExpDecayMixtureKernel({ timeUnit: 'seconds', numRates: 2 });
    const b = new PeriodicKernel({ timeUnit: 'seconds' });
    const c = new ExpDecayMixtureKernel({ timeUnit: 'seconds', numRates: 3 });
    const prod = new ProductKernel([a, b]);
    const sum = new SumKernel([prod, c]);
    expect(prod.rank).toBe(10);
    expect(sum.rank).toBe(13);
    const dt = [0, 600, 86400 * 3];
    const lw = tf.tidy(() => sum.logWeight(tf.tensor1d(dt)).dataSync());
    dt.forEach((x, i) => expect(lw[i]).toBeCloseTo(Math.log(a.evaluate(x) * b.evaluate(x) + c.evaluate(x)), 4));
    expect(sum.trainableVariables()).toHaveLength(6);
    expect(Object.keys(sum.getWeights())).toEqual(['0/0/logRate', '0/0/logBeta', '0/1/amplitudeLogit', '0/1/phase', '1/logRate', '1/logBeta']);
    sum.dispose();
  });

  it('round-trips through toConfig/createKernel and getWeights/setWeights', () => {
    const rng = createRng(5);
    const original = builders['expDecay + expDecay × periodic']!('milliseconds');
    randomise(original, rng);
    const copy = createKernel(JSON.parse(JSON.stringify(original.toConfig())));
    expect(copy.toConfig()).toEqual(original.toConfig());
    copy.setWeights(original.getWeights());
    for (const dt of [0, 1e5, 1e8, 1e10]) expect(copy.evaluate(dt)).toBe(original.evaluate(dt));
    expect(() => copy.setWeights({ ...original.getWeights(), '2/logRate': tf.zeros([1]) })).toThrow(/unexpected weight "2\/logRate"/);
    original.dispose();
    copy.dispose();
  });

  it('sends gradients through the combinators to every parameter', () => {
    const kernel = builders['expDecay + expDecay × periodic']!('seconds');
    const dt = tf.tensor1d([60, 3600, 40000, 86400 * 3, 86400 * 40]);
    const y = tf.tensor1d([1, -1, 0.5, 2, -0.3]);
    const { grads } = tf.variableGrads(() => tf.tidy(() => tf.sum(tf.mul(kernel.logWeight(dt), y)) as tf.Scalar));
    for (const v of kernel.trainableVariables()) expect(Math.max(...Array.from(grads[v.name]!.dataSync(), Math.abs))).toBeGreaterThan(1e-5);
    tf.dispose([dt, y, ...Object.values(grads)]);
    kernel.dispose();
  });

  it('refuses mixed time units, shared children and unknown configs', () => {
    const s = new ExpDecayMixtureKernel({ timeUnit: 'seconds', numRates: 1 });
    const ms = new PeriodicKernel({ timeUnit: 'milliseconds' });
    expect(() => new ProductKernel([s, ms])).toThrow(/kernels\[1\] uses timeUnit 'milliseconds' but kernels\[0\] uses 'seconds'/);
    expect(() => new SumKernel([s, s])).toThrow(/same kernel instance appears twice/);
    expect(() => new SumKernel([s])).toThrow(/at least 2 kernels/);
    expect(() => createKernel({ type: 'gaussian' } as never)).toThrow(/config.type "gaussian" is not one of/);
    expect(() => createKernel({ type: 'sum', kernels: [{ type: 'periodic', timeUnit: 'seconds', periods: [1], initialAmplitude: 0.1 }, { type: 'nope' }] } as never)).toThrow(/config.kernels\[1\].type "nope"/);
    s.dispose();
    ms.dispose();
  });
});

/** log κ(dt) of an exp-decay mixture in float64 log-sum-exp: the far-gap reference. */
function logKappa(rates: Float64Array, betas: Float64Array, dt: number): number {
  const logs = Array.from(rates, (l, r) => Math.log(betas[r]!) - l * dt);
  const m = Math.max(...logs);
  return m + Math.log(logs.reduce((s, x) => s + Math.exp(x - m), 0));
}

describe('scaledQueryFactors: the query factors in log space, common maximum taken out', () => {
  for (const [name, build] of Object.entries(builders)) {
    it(`${name}: e^{logScale}·factors == queryFactors wherever those are representable; max |factor| = 1`, () => {
      const rng = createRng(`scaled/${name}`);
      const kernel = build('seconds');
      for (let trial = 0; trial < 20; trial++) {
        randomise(kernel, rng);
        const t0 = 1.6e9 + rng.next() * 1e8;
        const tq = t0 + rng.next() * 90 * DAY;
        const plain = kernel.queryFactors(tq, t0);
        const { factors, logScale } = kernel.scaledQueryFactors(tq, t0);
        expect(factors.length).toBe(kernel.rank);
        expect(Math.max(...Array.from(factors, Math.abs))).toBeCloseTo(1, 12);
        for (let f = 0; f < kernel.rank; f++) {
          const back = factors[f]! * Math.exp(logScale);
          expect(Math.abs(back - plain[f]!)).toBeLessThanOrEqual(1e-9 * Math.abs(plain[f]!) + 1e-300);
        }
      }
      kernel.dispose();
    });
  }

  it('keeps kernel ratios exact at +30 y and +1000 y, where the plain factors are all 0', () => {
    const k = new ExpDecayMixtureKernel({ timeUnit: 'seconds', initialRates: [1 / 3600, 1 / DAY, 1 / (7 * DAY)], initialWeights: [0.5, 0.3, 0.2] });
    const t0 = 1.7e9;
    const ti = Float64Array.of(t0, t0 - 600, t0 - DAY, t0 - 30 * DAY);
    const h = k.historyFactorsBatch(ti, t0);
    const rates = k.rates();
    const betas = k.weights();
    for (const gap of [30 * YEAR, 1000 * YEAR]) {
      const tq = t0 + gap;
      expect(Array.from(k.queryFactors(tq, t0))).toEqual([0, 0, 0]); // what the cache used to collapse with
      const { factors, logScale } = k.scaledQueryFactors(tq, t0);
      expect(Number.isFinite(logScale)).toBe(true);
      const dot = (i: number) => factors.reduce((s, q, f) => s + q * h[i * 3 + f]!, 0);
      for (let i = 1; i < ti.length; i++) {
        const want = logKappa(rates, betas, tq - ti[i]!) - logKappa(rates, betas, tq - ti[0]!);
        expect(Math.abs(Math.log(dot(i) / dot(0)) - want)).toBeLessThan(1e-9 * Math.max(1, Math.abs(want)));
      }
    }
    k.dispose();
  });

  it('refuses a gap beyond float64 with NON_FINITE_FACTOR', () => {
    const k = new ExpDecayMixtureKernel({ timeUnit: 'seconds', initialRates: [1], initialWeights: [1] });
    expect(() => k.scaledQueryFactors(1e308, -1e308)).toThrow(expect.objectContaining({ code: 'NON_FINITE_FACTOR' }));
    k.dispose();
  });
});

describe('unknown option keys', () => {
  it('are errors in every constructor and in createKernel, naming the key and the path', () => {
    expect(() => new ExpDecayMixtureKernel({ timeUnit: 'seconds', numRate: 3 } as never)).toThrow(
      /new ExpDecayMixtureKernel: options: unknown option "numRate" \(did you mean "numRates"\?\)/,
    );
    expect(() => new PeriodicKernel({ timeUnit: 'seconds', period: [60] } as never)).toThrow(expect.objectContaining({ code: 'UNKNOWN_OPTION' }));
    expect(() =>
      createKernel({ type: 'sum', kernels: [{ type: 'periodic', timeUnit: 'seconds', periods: [60], initialAmplitude: 0.1 }, { type: 'expDecayMixture', timeUnit: 'seconds', numRates: 2, minTimescale: 1, maxTimescale: 10, rates: [1] }] } as never),
    ).toThrow(/createKernel: config\.kernels\[1\]: unknown option "rates" \(did you mean "numRates"\?\)/);
  });
});
