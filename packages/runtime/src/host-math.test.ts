import { createRng } from './rng.js';
import { expNonPositive, hostDenseLayers, matMulT, mlpForward, softmaxAttentionHead, transposeMatrix } from './host-math.js';

function naive(x: Float32Array, rows: number, inDim: number, w: Float32Array, outDim: number): Float64Array {
  const out = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) for (let o = 0; o < outDim; o++) for (let i = 0; i < inDim; i++) out[r * outDim + o]! += x[r * inDim + i]! * w[i * outDim + o]!;
  return out;
}

describe('host math', () => {
  it('matMulT equals the plain triple loop for every remainder of the 2×4 block, with bias and ReLU', () => {
    const rng = createRng(3);
    for (const [rows, inDim, outDim] of [[1, 1, 1], [2, 3, 4], [3, 5, 7], [5, 16, 17], [7, 9, 2]] as const) {
      const x = Float32Array.from({ length: rows * inDim }, () => rng.next() * 2 - 1);
      const w = Float32Array.from({ length: inDim * outDim }, () => rng.next() * 2 - 1);
      const bias = Float32Array.from({ length: outDim }, () => rng.next() - 0.5);
      const ref = naive(x, rows, inDim, w, outDim);
      const wT = transposeMatrix(w, inDim, outDim);
      const plain = matMulT(x, rows, inDim, wT, outDim);
      const biased = matMulT(x, rows, inDim, wT, outDim, bias, true);
      for (let k = 0; k < ref.length; k++) {
        expect(plain[k]).toBeCloseTo(ref[k]!, 5);
        expect(biased[k]).toBeCloseTo(Math.max(0, ref[k]! + bias[k % outDim]!), 5);
      }
    }
  });

  it('mlpForward applies ReLU between layers and not after the last', () => {
    const layers = hostDenseLayers([
      { inDim: 2, outDim: 2, kernel: Float32Array.of(1, -1, 1, -1), bias: Float32Array.of(0, 0) },
      { inDim: 2, outDim: 1, kernel: Float32Array.of(1, 1), bias: Float32Array.of(-5) },
    ]);
    // x = (1, 2): hidden (3, −3) → ReLU (3, 0) → 3 − 5 = −2 (no ReLU on the logit).
    expect(Array.from(mlpForward(layers, Float32Array.of(1, 2), 1))).toEqual([-2]);
  });

  it('expNonPositive matches Math.exp to 1e-7 relative over the whole non-positive range, 0 at −∞', () => {
    const rng = createRng(5);
    for (let i = 0; i < 20000; i++) {
      const x = -rng.next() * (i % 2 === 0 ? 30 : 700);
      expect(Math.abs(expNonPositive(x) / Math.exp(x) - 1)).toBeLessThan(1e-7);
    }
    expect(expNonPositive(0)).toBe(1);
    expect(expNonPositive(-Infinity)).toBe(0);
    expect(expNonPositive(-800)).toBe(0);
  });

  it('softmaxAttentionHead equals the softmax written out, over picked rows with strides, offsets and a log-bias; zeros when empty', () => {
    const rng = createRng(4);
    const [L, W, dh, off] = [9, 6, 3, 3];
    const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
    const q = rand(W);
    const keys = rand(L * W);
    const values = rand(L * W);
    const logBias = Float64Array.from({ length: L }, () => rng.normal());
    const rows = Int32Array.of(7, 2, 5, 0);
    const out = new Float32Array(W).fill(9);
    softmaxAttentionHead(q, off, keys, W, off, values, W, off, logBias, rows, rows.length, dh, 0.5, out, off, new Float64Array(rows.length + dh));
    const logits = Array.from(rows, (r) => 0.5 * [0, 1, 2].reduce((s, c) => s + q[off + c]! * keys[r * W + off + c]!, 0) + logBias[r]!);
    const z = logits.reduce((s, x) => s + Math.exp(x), 0);
    for (let c = 0; c < dh; c++) {
      const want = Array.from(rows).reduce((s, r, j) => s + (Math.exp(logits[j]!) / z) * values[r * W + off + c]!, 0);
      expect(out[off + c]).toBeCloseTo(want, 6);
      expect(out[c]).toBe(9); // other heads untouched
    }
    softmaxAttentionHead(q, 0, keys, W, 0, values, W, 0, null, null, 0, dh, 1, out, 0, new Float64Array(dh));
    expect(Array.from(out.slice(0, dh))).toEqual([0, 0, 0]);
    const minusInf = new Float64Array(L).fill(-Infinity);
    softmaxAttentionHead(q, 0, keys, W, 0, values, W, 0, minusInf, null, L, dh, 1, out, off, new Float64Array(L + dh));
    expect(Array.from(out.slice(off, off + dh))).toEqual([0, 0, 0]);
  });

  it('refuses mismatched shapes', () => {
    expect(() => matMulT(new Float32Array(3), 2, 2, new Float32Array(4), 2)).toThrow(/matMulT: shapes do not match/);
  });
});
