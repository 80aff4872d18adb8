// DESIGN §1 "Cache": attention computed from per-code sums of history factors must equal direct
// target attention with the kernel's log-weight added to the logits (the training path).
import { createRng, initBackend, tf } from '@vql/runtime';
import type { Rng } from '@vql/runtime';
import { ExpDecayMixtureKernel } from './exp-decay-mixture-kernel.js';
import { PeriodicKernel } from './periodic-kernel.js';
import { ProductKernel } from './product-kernel.js';
import type { SeparableKernel } from './separable-kernel.js';

const HOUR = 3600;
const DAY = 86400;
const YEAR = 365.25 * DAY;

beforeAll(async () => {
  await initBackend();
});

interface Problem {
  L: number;
  H: number; // heads sharing one group's codes
  K: number;
  d: number;
  codes: Float64Array; // [K*d]
  z: Int32Array; // [L] code of each behaviour
  values: Float64Array; // [H*L*d]
  bias: Float64Array; // [L]
  times: Float64Array; // [L] oldest → newest
  queries: Float64Array; // [H*d]
}

function makeProblem(rng: Rng, L: number, tLatest: number): Problem {
  const H = 2;
  const K = 16;
  const d = 4;
  const normal = (n: number, s: number) => new Float64Array(n).map(() => Math.fround(rng.normal() * s));
  const times = new Float64Array(L).map(() => tLatest - rng.next() * 2 * YEAR);
  times.sort();
  times[L - 1] = tLatest;
  return {
    L, H, K, d,
    codes: normal(K * d, 1),
    z: new Int32Array(L).map(() => rng.int(K)),
    values: normal(H * L * d, 1),
    bias: normal(L, 0.5),
    times,
    queries: normal(H * d, 1),
  };
}

/** Per-user cache: N[j,f] and S[h,j,f,:], built at anchor t0 from behaviours [from, to). */
class Cache {
  readonly N: Float64Array;
  readonly S: Float64Array;
  constructor(private readonly p: Problem, private readonly kernel: SeparableKernel, public t0: number) {
    this.N = new Float64Array(p.K * kernel.rank);
    this.S = new Float64Array(p.H * p.K * kernel.rank * p.d);
  }

  append(from: number, to: number): void {
    const { p, kernel } = this;
    const F = kernel.rank;
    const h = kernel.historyFactorsBatch(p.times.subarray(from, to), this.t0);
    for (let i = from; i < to; i++) {
      const j = p.z[i]!;
      const w = Math.exp(p.bias[i]!);
      for (let f = 0; f < F; f++) {
        const hf = w * h[(i - from) * F + f]!;
        this.N[j * F + f]! += hf;
        for (let head = 0; head < p.H; head++) {
          const base = ((head * p.K + j) * F + f) * p.d;
          for (let c = 0; c < p.d; c++) this.S[base + c]! += hf * p.values[(head * p.L + i) * p.d + c]!;
        }
      }
    }
  }

  reanchor(t0New: number): void {
    const scale = this.kernel.reanchorScale(this.t0, t0New);
    const F = this.kernel.rank;
    for (let i = 0; i < this.N.length; i++) this.N[i]! *= scale[i % F]!;
    for (let i = 0; i < this.S.length; i++) this.S[i]! *= scale[Math.floor(i / this.p.d) % F]!;
    this.t0 = t0New;
  }

  /** [H*d] attention output at query time tq, cost independent of L. */
  attend(tq: number): Float64Array {
    const { p, kernel } = this;
    const F = kernel.rank;
    const phi = kernel.queryFactors(tq, this.t0);
    const out = new Float64Array(p.H * p.d);
    for (let head = 0; head < p.H; head++) {
      const u = new Float64Array(p.K);
      for (let j = 0; j < p.K; j++) {
        let dot = 0;
        for (let c = 0; c < p.d; c++) dot += p.queries[head * p.d + c]! * p.codes[j * p.d + c]!;
        u[j] = dot / Math.sqrt(p.d);
      }
      const uMax = Math.max(...u);
      let den = 0;
      const num = new Float64Array(p.d);
      for (let j = 0; j < p.K; j++) {
        const e = Math.exp(u[j]! - uMax);
        for (let f = 0; f < F; f++) {
          den += e * phi[f]! * this.N[j * F + f]!;
          const base = ((head * p.K + j) * F + f) * p.d;
          for (let c = 0; c < p.d; c++) num[c]! += e * phi[f]! * this.S[base + c]!;
        }
      }
      for (let c = 0; c < p.d; c++) out[head * p.d + c] = num[c]! / den;
    }
    return out;
  }
}

/** Direct target attention over all L behaviours with tfjs (float32), as in training. */
function directAttention(p: Problem, kernel: SeparableKernel, tq: number): Float32Array {
  return tf.tidy(() => {
    const dt = tf.tensor1d(Float32Array.from(p.times, (t) => tq - t)); // differences in float64, then float32
    const codes = tf.gather(tf.tensor2d(Float32Array.from(p.codes), [p.K, p.d]), tf.tensor1d(p.z, 'int32')); // [L, d]
    const q = tf.tensor2d(Float32Array.from(p.queries), [p.H, p.d]);
    const logits = tf.add(tf.add(tf.div(tf.matMul(q, codes, false, true), Math.sqrt(p.d)), tf.tensor1d(Float32Array.from(p.bias))), kernel.logWeight(dt)); // [H, L]
    const weights = tf.softmax(logits, -1);
    const v = tf.tensor3d(Float32Array.from(p.values), [p.H, p.L, p.d]);
    return tf.squeeze(tf.matMul(tf.expandDims(weights, 1), v), [1]).dataSync() as Float32Array; // [H, d]
  });
}

function maxRelError(cached: Float64Array, direct: Float32Array): number {
  let err = 0;
  for (let i = 0; i < cached.length; i++) err = Math.max(err, Math.abs(cached[i]! - direct[i]!) / Math.max(1, Math.abs(direct[i]!)));
  return err;
}

describe('cached-form attention equals direct attention with the kernel (L = 5,000)', () => {
  const L = 5000;
  const tLatest = 1.7e9;
  const offsets = { '3 hours': 3 * HOUR, '5 days': 5 * DAY, '2 months': 61 * DAY };
  const kernels: Record<string, () => SeparableKernel> = {
    'exp-decay mixture (R = 6, minutes…years)': () => new ExpDecayMixtureKernel({ timeUnit: 'seconds', numRates: 6 }),
    'exp-decay × daily/weekly periodic': () =>
      new ProductKernel([
        new ExpDecayMixtureKernel({ timeUnit: 'seconds', numRates: 4, minTimescale: 600 }),
        new PeriodicKernel({ timeUnit: 'seconds', initialAmplitude: 0.2 }),
      ]),
  };

  for (const [name, make] of Object.entries(kernels)) {
    it(`${name}: built in two parts with a re-anchor, queried hours, days and months after t0`, () => {
      const rng = createRng(`cached-attention/${name}`);
      const kernel = make();
      // Non-default parameters so the test does not rely on the initialisation.
      tf.tidy(() => {
        const w = kernel.getWeights();
        kernel.setWeights(Object.fromEntries(Object.entries(w).map(([k, t]) => [k, tf.add(t, tf.randomUniform(t.shape, -0.3, 0.3, 'float32', rng.tfSeed()))])));
      });
      const p = makeProblem(rng, L, tLatest);
      // First 60% cached at an old anchor, then the anchor moves to the newest behaviour.
      const split = Math.floor(L * 0.6);
      const cache = new Cache(p, kernel, p.times[split - 1]!);
      cache.append(0, split);
      cache.reanchor(tLatest);
      cache.append(split, L);
      const fresh = new Cache(p, kernel, tLatest);
      fresh.append(0, L);
      for (const [label, offset] of Object.entries(offsets)) {
        const tq = tLatest + offset;
        const direct = directAttention(p, kernel, tq);
        const cached = cache.attend(tq);
        const err = maxRelError(cached, direct);
        expect({ label, err, ok: err <= 1e-5 }).toEqual({ label, err, ok: true });
        expect(maxRelError(fresh.attend(tq), Float32Array.from(cached))).toBeLessThan(1e-6);
      }
      kernel.dispose();
    });
  }
});
