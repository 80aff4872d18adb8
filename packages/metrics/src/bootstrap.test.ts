import { auc } from './auc.js';
import { UserBootstrap, aucInterval, meanOverSeeds, pairedAucDifference, pairedBootstrapAuc, percentileInterval } from './bootstrap.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Φ by the Abramowitz–Stegun erf approximation (|error| < 1.5e-7). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** The samples repeated by their user's multiplicity in a resample. */
function expand<T>(values: ArrayLike<T>, users: ArrayLike<number>, counts: ReadonlyMap<number, number>): T[] {
  const out: T[] = [];
  for (let i = 0; i < values.length; i++) for (let m = 0; m < (counts.get(users[i]!) ?? 0); m++) out.push(values[i]!);
  return out;
}

describe('UserBootstrap', () => {
  it('gives the exact auc() on the whole set and on each resample expanded by its user weights', () => {
    const rand = lcg(3);
    const n = 120;
    const users = Array.from({ length: n }, () => Math.floor(rand() * 25));
    const labels = Array.from({ length: n }, () => (rand() < 0.35 ? 1 : 0));
    const scores = Array.from({ length: n }, () => Math.round(rand() * 8) / 8); // heavy ties
    const boot = new UserBootstrap(users, labels, { resamples: 40, seed: 11 });
    const [a] = boot.aucReplicates([scores]);
    expect(a!.auc).toBe(auc(labels, scores));
    const distinct = [...new Set(users)];
    for (let r = 0; r < 40; r++) {
      const counts = boot.userWeights(r);
      expect(counts.reduce((x, c) => x + c, 0)).toBe(distinct.length);
      const mapped = new Map(distinct.map((u, k) => [u, counts[k]!]));
      const el = expand(labels, users, mapped);
      const es = expand(scores, users, mapped);
      const both = el.includes(1) && el.includes(0);
      if (both) expect(a!.replicates[r]).toBe(auc(el, es));
      else expect(a!.replicates[r]).toBeNaN();
    }
  });

  it('is deterministic in the seed and pairs every predictor on the same resamples', () => {
    const rand = lcg(5);
    const n = 300;
    const users = Array.from({ length: n }, (_, i) => `u${i % 40}`);
    const labels = Array.from({ length: n }, () => (rand() < 0.3 ? 1 : 0));
    const s1 = labels.map((y) => y + 2 * rand());
    const s2 = labels.map((y) => y + 3 * rand());
    const first = new UserBootstrap(users, labels, { resamples: 50, seed: 1 }).aucReplicates([s1, s2]);
    const again = new UserBootstrap(users, labels, { resamples: 50, seed: 1 }).aucReplicates([s2, s1]);
    expect(again[1]!.replicates).toEqual(first[0]!.replicates);
    expect(again[0]!.replicates).toEqual(first[1]!.replicates);
    const other = new UserBootstrap(users, labels, { resamples: 50, seed: 2 }).aucReplicates([s1]);
    expect(other[0]!.replicates).not.toEqual(first[0]!.replicates);
    // A predictor against itself differs by exactly 0 on every resample.
    const self = pairedAucDifference(first[0]!, first[0]!);
    expect([self.lower, self.estimate, self.upper]).toEqual([0, 0, 0]);
    expect(() => pairedAucDifference(first[0]!, other[0]!)).toThrow(/different resamples/);
  });

  it('covers a known AUC difference about 95% of the time, and clustering widens the interval', () => {
    // Score = δ·y + user effect + noise, user effects N(0, σ²) independent of labels:
    // population AUC = Φ(δ / √(2(1 + σ²))) for each predictor, so the true difference is known.
    const sigma = 2;
    const [da, db] = [2.4, 1.6];
    const truth = normalCdf(da / Math.sqrt(2 * (1 + sigma ** 2))) - normalCdf(db / Math.sqrt(2 * (1 + sigma ** 2)));
    const trials = 150;
    let covered = 0;
    let iidCovered = 0;
    let clusterWidth = 0;
    let iidWidth = 0;
    for (let t = 0; t < trials; t++) {
      const rand = lcg(1000 + t);
      const U = 30;
      const users: number[] = [];
      const labels: number[] = [];
      const a: number[] = [];
      const b: number[] = [];
      for (let u = 0; u < U; u++) {
        const ea = sigma * normal(rand);
        const eb = sigma * normal(rand);
        for (let k = 0; k < 20; k++) {
          const y = rand() < 0.3 ? 1 : 0;
          users.push(u);
          labels.push(y);
          a.push(da * y + ea + normal(rand));
          b.push(db * y + eb + normal(rand));
        }
      }
      const ci = pairedBootstrapAuc(users, labels, a, b, { resamples: 200, seed: t });
      if (ci.lower <= truth && truth <= ci.upper) covered++;
      clusterWidth += ci.upper - ci.lower;
      const iid = pairedBootstrapAuc(users.map((_, i) => i), labels, a, b, { resamples: 200, seed: t });
      iidWidth += iid.upper - iid.lower;
      if (iid.lower <= truth && truth <= iid.upper) iidCovered++;
    }
    // 30 clusters: the percentile interval runs slightly short of 95% (0.93 here, 150 trials).
    expect(covered / trials).toBeGreaterThan(0.88);
    expect(covered / trials).toBeLessThan(0.99);
    // Samples of one user share its effect: treating them as independent understates the noise
    // (0.81 coverage here, intervals 1.37× narrower).
    expect(iidCovered / trials).toBeLessThan(0.87);
    expect(clusterWidth / iidWidth).toBeGreaterThan(1.2);
  });

  it('rejects bad input, naming the argument', () => {
    expect(() => new UserBootstrap([1, 2], [0, 1, 1], { seed: 1 })).toThrow(/labels has length 3 but users has length 2/);
    expect(() => new UserBootstrap([1, 2], [1, 1], { seed: 1 })).toThrow(/only one class/);
    expect(() => new UserBootstrap([1, 2], [0, 1], { seed: 1.5 })).toThrow(/seed must be an integer/);
    expect(() => new UserBootstrap([1, 2], [0, 1], { seed: 1, resamples: 0 })).toThrow(/resamples must be a positive integer/);
    const boot = new UserBootstrap([1, 2], [0, 1], { seed: 1, resamples: 5 });
    expect(() => boot.aucReplicates([[0.1]])).toThrow(/predictors\[0\] has length 1 but labels has length 2/);
    expect(() => boot.aucReplicates([[0.1, Number.NaN]])).toThrow(/predictors\[0\]\[1\] is NaN/);
  });

  it('refuses unknown option keys instead of using the default', () => {
    expect(() => new UserBootstrap([1, 2], [0, 1], { seed: 1, resample: 5 } as never)).toThrow('UserBootstrap: unknown option "resample"; allowed: resamples, seed.');
    expect(() => pairedBootstrapAuc([1, 2], [0, 1], [0.1, 0.9], [0.2, 0.8], { seed: 1, levl: 0.9 } as never)).toThrow(expect.objectContaining({ code: 'UNKNOWN_OPTION' }));
    expect(pairedBootstrapAuc([1, 2], [0, 1], [0.1, 0.9], [0.2, 0.8], { seed: 1, resamples: 5, level: 0.9 }).level).toBe(0.9);
  });
});

describe('intervals', () => {
  it('takes interpolated percentiles and skips degenerate resamples', () => {
    const reps = Float64Array.from([...Array.from({ length: 101 }, (_, i) => i / 100), Number.NaN]);
    const ci = percentileInterval(0.5, reps, 0.9);
    expect(ci.lower).toBeCloseTo(0.05, 12);
    expect(ci.upper).toBeCloseTo(0.95, 12);
    expect(ci.validResamples).toBe(101);
    expect(() => percentileInterval(0, Float64Array.from([Number.NaN]))).toThrow(/every resample drew a single class/);
    expect(() => percentileInterval(0, reps, 1)).toThrow(/level must be in \(0, 1\)/);
  });

  it('gives a single predictor its AUC interval', () => {
    const rand = lcg(9);
    const labels = Array.from({ length: 400 }, () => (rand() < 0.4 ? 1 : 0));
    const scores = labels.map((y) => y + 1.5 * rand());
    const [a] = new UserBootstrap(labels.map((_, i) => i % 50), labels, { seed: 3, resamples: 300 }).aucReplicates([scores]);
    const ci = aucInterval(a!);
    expect(ci.estimate).toBe(auc(labels, scores));
    expect(ci.lower).toBeLessThan(ci.estimate);
    expect(ci.upper).toBeGreaterThan(ci.estimate);
  });

  it('combines seeds: the mean of per-seed replicates, covering a known mean difference', () => {
    // Three independent test sets (one per seed), true difference Φ(1.2/2) − Φ(0.8/2) each.
    const truth = normalCdf(1.2 / 2) - normalCdf(0.8 / 2);
    let covered = 0;
    let combinedWidth = 0;
    let singleWidth = 0;
    const trials = 120;
    for (let t = 0; t < trials; t++) {
      const perSeed = [0, 1, 2].map((s) => {
        const rand = lcg(7919 * t + s);
        const users: number[] = [];
        const labels: number[] = [];
        const a: number[] = [];
        const b: number[] = [];
        for (let i = 0; i < 400; i++) {
          const y = rand() < 0.3 ? 1 : 0;
          const shared = normal(rand); // noise common to both predictors: pairing removes it
          users.push(Math.floor(i / 4));
          labels.push(y);
          a.push(1.2 * y + shared + normal(rand));
          b.push(0.8 * y + shared + normal(rand));
        }
        // Population AUC of δ·y + N(0, 2): Φ(δ / 2).
        return pairedBootstrapAuc(users, labels, a, b, { resamples: 200, seed: 100 + s });
      });
      const combined = meanOverSeeds(perSeed);
      expect(combined.seeds).toBe(3);
      expect(combined.estimate).toBeCloseTo(perSeed.reduce((x, s) => x + s.estimate, 0) / 3, 12);
      expect(combined.replicates[7]).toBeCloseTo((perSeed[0]!.replicates[7]! + perSeed[1]!.replicates[7]! + perSeed[2]!.replicates[7]!) / 3, 12);
      if (combined.lower <= truth && truth <= combined.upper) covered++;
      combinedWidth += combined.upper - combined.lower;
      singleWidth += perSeed[0]!.upper - perSeed[0]!.lower;
    }
    expect(covered / trials).toBeGreaterThan(0.88);
    expect(covered / trials).toBeLessThan(0.995);
    // Averaging three independent estimates narrows the interval by about √3.
    expect(singleWidth / combinedWidth).toBeGreaterThan(1.5);
    expect(singleWidth / combinedWidth).toBeLessThan(2);
  });

  it('refuses seeds with different resample counts', () => {
    const a = percentileInterval(0, new Float64Array(10));
    const b = percentileInterval(0, new Float64Array(11));
    expect(() => meanOverSeeds([a, b])).toThrow(/perSeed\[1\] has 11 replicates but perSeed\[0\] has 10/);
    expect(() => meanOverSeeds([])).toThrow(/perSeed is empty/);
  });
});
