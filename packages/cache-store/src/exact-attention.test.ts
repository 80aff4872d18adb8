import { createRng } from '@vql/runtime';
import { cachedAttention } from './cached-attention.js';
import { exactAttention } from './exact-attention.js';
import type { CacheLayout } from './layout.js';
import { buildFromEncoded } from './user-cache.js';
import { hostExpKernel } from './testing/fixtures.js';

// κ(Δ) = 0.7·e^{−Δ/3600} + 0.3·e^{−Δ/(30·86400)} in factored form.
const RATES = [1 / 3600, 1 / (30 * 86400)];
const BETAS = [0.7, 0.3];
const kernel = hostExpKernel(RATES, BETAS);
const kappa = (dt: number) => RATES.reduce((s, r, k) => s + BETAS[k]! * Math.exp(-r * dt), 0);

describe('exactAttention', () => {
  it('equals cached VQL attention when every behaviour has its own code (keys = codes)', () => {
    const rng = createRng(3);
    const layout: CacheLayout = { headsPerGroup: [2, 1], codebookSizes: [40, 40], headDim: 4, kernelRank: 2 };
    const L = 40;
    const H = 3;
    const dh = 4;
    const now = 1.7e9;
    const times = Float64Array.from({ length: L }, (_, i) => now - 86400 * 20 + i * 3600 * 11);
    // Codebook g row i = key of behaviour i in group g.
    const codebooks = [0, 1].map(() => Float32Array.from({ length: L * dh }, () => rng.normal()));
    const codes = new Int32Array(L * 2);
    const keys = new Float32Array(L * 2 * dh);
    for (let i = 0; i < L; i++) {
      for (let g = 0; g < 2; g++) {
        codes[i * 2 + g] = i;
        keys.set(codebooks[g]!.subarray(i * dh, (i + 1) * dh), (i * 2 + g) * dh);
      }
    }
    const values = Float32Array.from({ length: L * H * dh }, () => rng.normal());
    const bias = Float64Array.from({ length: L }, () => rng.normal() * 0.3);
    const cache = buildFromEncoded('fp', layout, { count: L, times, codes, weights: bias.map(Math.exp), values }, kernel);
    const count = 5;
    const queries = Float32Array.from({ length: count * H * dh }, () => rng.normal());
    const tq = now + 7200;
    const cached = cachedAttention(cache, codebooks, kernel, { count, queries, times: tq });
    const logBias = Float64Array.from(times, (t, i) => Math.log(kappa(tq - t)) + bias[i]!);
    const exact = exactAttention(layout, { count: L, keys, values, logBias }, queries, count);
    for (let i = 0; i < exact.length; i++) expect(Math.abs(exact[i]! - cached[i]!)).toBeLessThan(1e-5);
  });

  it('gives zeros for an empty history and rejects mismatched arrays', () => {
    const layout: CacheLayout = { headsPerGroup: [1], codebookSizes: [4], headDim: 2, kernelRank: 1 };
    const empty = { count: 0, keys: new Float32Array(0), values: new Float32Array(0), logBias: new Float64Array(0) };
    expect(Array.from(exactAttention(layout, empty, new Float32Array(2), 1))).toEqual([0, 0]);
    expect(() => exactAttention(layout, { ...empty, count: 1 }, new Float32Array(2), 1)).toThrow(/state arrays do not match L = 1/);
  });
});
