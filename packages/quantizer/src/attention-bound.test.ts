// DESIGN §1: with quantized keys the softmax attention weights change by at most a factor
// e^{±2ε}, ε = ||q||·max_i||k_i − c_{z_i}||/√d, whatever the history length L; top-k retrieval
// instead drops the mass outside its k, which grows with L. Checked numerically for L = 10^2…10^5.
import { tf, initBackend, createRng } from '@vql/runtime';
import type { Rng } from '@vql/runtime';
import { VectorQuantizer } from './vector-quantizer.js';

beforeAll(async () => {
  await initBackend();
});

const d = 16;
const itemClusters = 256;
// Bounded (uniform) key noise: the bound's ε is a property of the codebook and the key
// distribution's support, so it is the same constant for every L.
const noise = 0.04;

function sampleKeys(centers: Float32Array, n: number, rng: Rng): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = rng.int(itemClusters);
    for (let t = 0; t < d; t++) out[i * d + t] = centers[c * d + t]! + noise * (2 * rng.next() - 1);
  }
  return out;
}

/** Softmax of q·k_i/√d over the rows of `keys` (float64). */
function attention(q: Float64Array, keys: Float32Array, n: number): Float64Array {
  const logits = new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < d; t++) s += q[t]! * keys[i * d + t]!;
    logits[i] = s / Math.sqrt(d);
    if (logits[i]! > max) max = logits[i]!;
  }
  let z = 0;
  for (let i = 0; i < n; i++) {
    logits[i] = Math.exp(logits[i]! - max);
    z += logits[i]!;
  }
  for (let i = 0; i < n; i++) logits[i] = logits[i]! / z;
  return logits;
}

describe('L-free attention-weight error bound (DESIGN §1)', () => {
  it('quantized-key attention error stays flat and under e^{2ε}−1 while the mass outside the top-100 grows', () => {
    const rng = createRng('attention-bound');
    const centers = Float32Array.from({ length: itemClusters * d }, () => rng.normal());
    const vq = new VectorQuantizer({ dim: d, size: 512, seed: 1 });
    const sample = sampleKeys(centers, 4096, rng);
    const sampleT = tf.tensor2d(sample, [4096, d]);
    vq.initialize(sampleT);
    sampleT.dispose();
    const codes = vq.codebookValues();
    const q = Float64Array.from({ length: d }, () => rng.normal());
    let qNorm = 0;
    for (let t = 0; t < d; t++) qNorm += q[t]! ** 2;
    qNorm = Math.sqrt(qNorm);
    // L-free ε: the largest possible ||k − c_z|| over the support (each cluster's centre to its
    // code, plus the noise box's half-diagonal), independent of how many keys are drawn.
    const centerCodes = vq.assign(centers);
    let worst = 0;
    for (let c = 0; c < itemClusters; c++) {
      let e = 0;
      for (let t = 0; t < d; t++) e += (centers[c * d + t]! - codes[centerCodes[c]! * d + t]!) ** 2;
      worst = Math.max(worst, Math.sqrt(e));
    }
    const epsSupport = (qNorm * (worst + noise * Math.sqrt(d))) / Math.sqrt(d);
    const globalBound = Math.expm1(2 * epsSupport);

    const rows: Array<{ L: number; eps: number; bound: number; maxRatioError: number; l1Error: number; outsideTop100: number }> = [];
    for (const L of [100, 1000, 10000, 100000]) {
      const keys = sampleKeys(centers, L, rng);
      const z = vq.assign(keys);
      const quantized = new Float32Array(L * d);
      let maxErr = 0;
      for (let i = 0; i < L; i++) {
        let e = 0;
        for (let t = 0; t < d; t++) {
          const c = codes[z[i]! * d + t]!;
          quantized[i * d + t] = c;
          e += (keys[i * d + t]! - c) ** 2;
        }
        maxErr = Math.max(maxErr, Math.sqrt(e));
      }
      const exact = attention(q, keys, L);
      const approx = attention(q, quantized, L);
      let maxRatioError = 0;
      let l1Error = 0;
      for (let i = 0; i < L; i++) {
        maxRatioError = Math.max(maxRatioError, Math.abs(approx[i]! / exact[i]! - 1));
        l1Error += Math.abs(approx[i]! - exact[i]!);
      }
      const sorted = Float64Array.from(exact).sort().reverse();
      let top = 0;
      for (let i = 0; i < Math.min(100, L); i++) top += sorted[i]!;
      const eps = (qNorm * maxErr) / Math.sqrt(d);
      rows.push({ L, eps, bound: Math.expm1(2 * eps), maxRatioError, l1Error, outsideTop100: Math.max(0, 1 - top) });
    }
    console.log(rows.map((r) => `L=${r.L} eps=${r.eps.toFixed(4)} bound=${r.bound.toFixed(4)} maxRatioErr=${r.maxRatioError.toFixed(4)} L1=${r.l1Error.toFixed(4)} outsideTop100=${r.outsideTop100.toFixed(4)}`).join('\n'));

    // The bound holds at every L, and it does not grow with L (ε is a property of the codebook).
    console.log(`support eps=${epsSupport.toFixed(4)} global bound=${globalBound.toFixed(4)}`);
    expect(globalBound).toBeLessThan(1);
    for (const r of rows) {
      expect(r.maxRatioError).toBeLessThanOrEqual(r.bound + 1e-9);
      expect(r.bound).toBeLessThanOrEqual(globalBound + 1e-9);
      expect(r.l1Error).toBeLessThanOrEqual(r.maxRatioError + 1e-12);
    }
    // Flat: the total-variation error at L = 10^5 is within 2× of the error at L = 10^2.
    const l1 = rows.map((r) => r.l1Error);
    expect(Math.max(...l1) / Math.min(...l1)).toBeLessThan(2);
    // Top-100 retrieval loses a growing share of the attention mass, most of it at 10^5.
    const outside = rows.map((r) => r.outsideTop100);
    expect(outside[0]).toBeCloseTo(0, 9);
    for (let i = 1; i < outside.length; i++) expect(outside[i]!).toBeGreaterThan(outside[i - 1]!);
    expect(outside[3]!).toBeGreaterThan(0.9);
    expect(outside[3]!).toBeGreaterThan(10 * l1[3]!);
    vq.dispose();
  });
});
