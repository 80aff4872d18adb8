// Dense algebra on typed arrays for the per-request serving path, where a tfjs call costs more
// than the arithmetic. One home for the matmul and the MLP forward that model serving and the
// cache store both run.

/** One dense layer as `x ↦ x·W + b`, with W stored transposed `[outDim, inDim]` (every output is one contiguous dot product). */
export interface HostDenseLayer {
  readonly inDim: number;
  readonly outDim: number;
  readonly kernelT: Float32Array; // [outDim*inDim]
  readonly bias: Float32Array; // [outDim]
}

/** `[outDim, inDim]` transpose of a row-major `[inDim, outDim]` matrix. */
export function transposeMatrix(w: Float32Array, inDim: number, outDim: number): Float32Array {
  if (w.length !== inDim * outDim) throw new RangeError(`transposeMatrix: expected ${inDim}×${outDim} = ${inDim * outDim} values, got ${w.length}.`);
  const t = new Float32Array(w.length);
  for (let i = 0; i < inDim; i++) for (let o = 0; o < outDim; o++) t[o * inDim + i] = w[i * outDim + o]!;
  return t;
}

/**
 * `out[r, o] = Σ_i x[r, i] · wT[o, i] (+ bias[o])`, ReLU when asked; float64 accumulation. Writes into `out`
 * (allocated when omitted) and returns it.
 */
export function matMulT(
  x: Float32Array,
  rows: number,
  inDim: number,
  wT: Float32Array,
  outDim: number,
  bias: Float32Array | null = null,
  relu = false,
  out: Float32Array = new Float32Array(rows * outDim),
): Float32Array {
  if (x.length < rows * inDim || wT.length !== outDim * inDim || out.length < rows * outDim || (bias !== null && bias.length !== outDim)) {
    throw new RangeError(`matMulT: shapes do not match (x ${x.length} for ${rows}×${inDim}, wT ${wT.length} for ${outDim}×${inDim}, out ${out.length}).`);
  }
  // 2×4 register block: six loads feed eight multiply-adds (V8 does not vectorise; loads bound it).
  const o4 = outDim - (outDim % 4);
  let r = 0;
  for (; r + 1 < rows; r += 2) {
    const x0 = r * inDim;
    const x1 = x0 + inDim;
    const y0 = r * outDim;
    const y1 = y0 + outDim;
    let o = 0;
    for (; o < o4; o += 4) {
      const w0 = o * inDim;
      const w1 = w0 + inDim;
      const w2 = w1 + inDim;
      const w3 = w2 + inDim;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
      for (let i = 0; i < inDim; i++) {
        const u = x[x0 + i]!;
        const v = x[x1 + i]!;
        const c0 = wT[w0 + i]!;
        const c1 = wT[w1 + i]!;
        const c2 = wT[w2 + i]!;
        const c3 = wT[w3 + i]!;
        a0 += u * c0;
        a1 += u * c1;
        a2 += u * c2;
        a3 += u * c3;
        b0 += v * c0;
        b1 += v * c1;
        b2 += v * c2;
        b3 += v * c3;
      }
      if (bias !== null) {
        const d0 = bias[o]!, d1 = bias[o + 1]!, d2 = bias[o + 2]!, d3 = bias[o + 3]!;
        a0 += d0; a1 += d1; a2 += d2; a3 += d3;
        b0 += d0; b1 += d1; b2 += d2; b3 += d3;
      }
      if (relu) {
        a0 = a0 < 0 ? 0 : a0; a1 = a1 < 0 ? 0 : a1; a2 = a2 < 0 ? 0 : a2; a3 = a3 < 0 ? 0 : a3;
        b0 = b0 < 0 ? 0 : b0; b1 = b1 < 0 ? 0 : b1; b2 = b2 < 0 ? 0 : b2; b3 = b3 < 0 ? 0 : b3;
      }
      out[y0 + o] = a0; out[y0 + o + 1] = a1; out[y0 + o + 2] = a2; out[y0 + o + 3] = a3;
      out[y1 + o] = b0; out[y1 + o + 1] = b1; out[y1 + o + 2] = b2; out[y1 + o + 3] = b3;
    }
    for (; o < outDim; o++) {
      const w0 = o * inDim;
      let a = 0, b = 0;
      for (let i = 0; i < inDim; i++) {
        const c = wT[w0 + i]!;
        a += x[x0 + i]! * c;
        b += x[x1 + i]! * c;
      }
      if (bias !== null) {
        a += bias[o]!;
        b += bias[o]!;
      }
      out[y0 + o] = relu && a < 0 ? 0 : a;
      out[y1 + o] = relu && b < 0 ? 0 : b;
    }
  }
  for (; r < rows; r++) {
    const x0 = r * inDim;
    for (let o = 0; o < outDim; o++) {
      const w0 = o * inDim;
      let a = bias === null ? 0 : bias[o]!;
      for (let i = 0; i < inDim; i++) a += x[x0 + i]! * wT[w0 + i]!;
      out[r * outDim + o] = relu && a < 0 ? 0 : a;
    }
  }
  return out;
}

/** Layers from row-major `[inDim, outDim]` kernels (as tfjs stores them), transposed once. */
export function hostDenseLayers(layers: ReadonlyArray<{ kernel: Float32Array; bias: Float32Array; inDim: number; outDim: number }>): HostDenseLayer[] {
  return layers.map((l) => ({ inDim: l.inDim, outDim: l.outDim, kernelT: transposeMatrix(l.kernel, l.inDim, l.outDim), bias: l.bias }));
}

/**
 * ReLU MLP forward: every layer but the last is followed by ReLU; returns the last layer's
 * output `[rows*outDim_last]` (for a CTR tower: the logits).
 */
export function mlpForward(layers: readonly HostDenseLayer[], x: Float32Array, rows: number): Float32Array {
  let h = x;
  const last = layers.length - 1;
  for (let i = 0; i <= last; i++) {
    const l = layers[i]!;
    h = matMulT(h, rows, l.inDim, l.kernelT, l.outDim, l.bias, i < last);
  }
  return h;
}

// e^x for x ≤ 0 as 2^t, t = x·log2 e = n + f: a degree-8 polynomial for 2^f on [0, 1) times 2^n
// from a table. Relative error < 1e-7 (below float32 rounding), several times faster than
// Math.exp; softmax weights after the max is subtracted are exactly this case.
const POW2_NEG = Float64Array.from({ length: 1075 }, (_, i) => Math.pow(2, -i));
const P1 = Math.LN2;
const P2 = P1 ** 2 / 2;
const P3 = P1 ** 3 / 6;
const P4 = P1 ** 4 / 24;
const P5 = P1 ** 5 / 120;
const P6 = P1 ** 6 / 720;
const P7 = P1 ** 7 / 5040;
const P8 = P1 ** 8 / 40320;

/** e^x for x ≤ 0 (0 for −∞ and below the smallest subnormal); relative error < 1e-7 down to x = −700 (subnormal results lose digits, as anywhere). Undefined for x > 0. */
export function expNonPositive(x: number): number {
  const t = x * Math.LOG2E;
  const n = Math.floor(t);
  const k = -n;
  if (!(k < 1075)) return 0;
  const f = t - n;
  return (1 + f * (P1 + f * (P2 + f * (P3 + f * (P4 + f * (P5 + f * (P6 + f * (P7 + f * P8)))))))) * POW2_NEG[k]!;
}

/**
 * One head of softmax target attention on typed arrays, the serving form every online scorer
 * shares (cache-store's exact attention, the baselines' top-k scorers):
 *   out[outOffset + c] = Σ_j a_j · values[r_j·valueStride + valueOffset + c],
 *   a = softmax_j(scale · Σ_c q[qOffset + c]·keys[r_j·keyStride + keyOffset + c] + logBias[r_j]),
 * over the rows r_j = rows[j] (or j when `rows` is null), j < n, c < headDim. `logBias` is the
 * per-row logit term (context bias + log κ(dt)) or null. Exact zeros when n = 0 or every logit is
 * −∞. Float64 accumulation; `scratch` holds at least n + headDim float64.
 */
export function softmaxAttentionHead(
  q: Float32Array,
  qOffset: number,
  keys: Float32Array,
  keyStride: number,
  keyOffset: number,
  values: Float32Array,
  valueStride: number,
  valueOffset: number,
  logBias: Float64Array | Float32Array | null,
  rows: Int32Array | null,
  n: number,
  headDim: number,
  scale: number,
  out: Float32Array,
  outOffset: number,
  scratch: Float64Array,
): void {
  out.fill(0, outOffset, outOffset + headDim);
  if (n === 0) return;
  if (scratch.length < n + headDim) throw new RangeError(`softmaxAttentionHead: scratch holds ${scratch.length} values, needs n + headDim = ${n + headDim}.`);
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    const r = rows === null ? j : rows[j]!;
    const ko = r * keyStride + keyOffset;
    let dot = 0;
    for (let c = 0; c < headDim; c++) dot += q[qOffset + c]! * keys[ko + c]!;
    const z = dot * scale + (logBias === null ? 0 : logBias[r]!);
    scratch[j] = z;
    if (z > max) max = z;
  }
  if (max === -Infinity) return; // every weight underflowed: zeros, like the model
  const acc = n; // scratch[n .. n + headDim) accumulates the weighted values
  scratch.fill(0, acc, acc + headDim);
  let den = 0;
  for (let j = 0; j < n; j++) {
    const w = Math.exp(scratch[j]! - max);
    den += w;
    const vo = (rows === null ? j : rows[j]!) * valueStride + valueOffset;
    for (let c = 0; c < headDim; c++) scratch[acc + c] += w * values[vo + c]!;
  }
  for (let c = 0; c < headDim; c++) out[outOffset + c] = scratch[acc + c]! / den;
}
