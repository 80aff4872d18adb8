import { VqlBaselinesError } from '../errors.js';

/** Shape and weights of a multi-head target attention, host side. */
export interface HostProjections {
  readonly inputDim: number; // D
  readonly heads: number; // H
  readonly headDim: number; // d_h
  readonly wq: Float32Array; // [D, H·dh]
  readonly wk: Float32Array; // [D, H·dh]
  readonly wv: Float32Array; // [D, H·dh]
}

export function checkProjections(where: string, p: HostProjections): void {
  const W = p.heads * p.headDim;
  for (const name of ['wq', 'wk', 'wv'] as const) {
    if (p[name].length !== p.inputDim * W) {
      throw new VqlBaselinesError('SHAPE_MISMATCH', `${where}: ${name} has ${p[name].length} values, expected ${p.inputDim}·${W}.`);
    }
  }
}

/** x [n, D] · w [D, W] → [n, W]. */
export function matVec(x: Float32Array, xOffset: number, n: number, D: number, w: Float32Array, W: number, out: Float32Array, outOffset = 0): void {
  out.fill(0, outOffset, outOffset + n * W);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < D; c++) {
      const xv = x[xOffset + i * D + c]!;
      if (xv === 0) continue;
      const row = c * W;
      const o = outOffset + i * W;
      for (let j = 0; j < W; j++) out[o + j] += xv * w[row + j]!;
    }
  }
}

export function checkEmbeddings(where: string, name: string, x: Float32Array, D: number): number {
  if (x.length % D !== 0) {
    throw new VqlBaselinesError('SHAPE_MISMATCH', `${where}: ${name} has ${x.length} values, not a multiple of the embedding width ${D}.`);
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!)) throw new VqlBaselinesError('INVALID_INPUT', `${where}: ${name}[${i}] is ${x[i]}.`);
  }
  return x.length / D;
}

/**
 * Multi-head attention of one query q [H·dh] over the behaviours `picked[0..n)` of per-user
 * keys/values [L, H·dh] (and bias [L] or null); writes [H·dh] into out at outOffset.
 */
export function attendPicked(
  q: Float32Array,
  qOffset: number,
  keys: Float32Array,
  values: Float32Array,
  bias: Float32Array | null,
  picked: Int32Array,
  n: number,
  heads: number,
  headDim: number,
  out: Float32Array,
  outOffset: number,
  scratch: Float64Array,
): void {
  const W = heads * headDim;
  out.fill(0, outOffset, outOffset + W);
  if (n === 0) return;
  const scale = 1 / Math.sqrt(headDim);
  for (let h = 0; h < heads; h++) {
    const c0 = h * headDim;
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      const i = picked[j]!;
      let dot = 0;
      for (let c = c0; c < c0 + headDim; c++) dot += q[qOffset + c]! * keys[i * W + c]!;
      const z = dot * scale + (bias === null ? 0 : bias[i]!);
      scratch[j] = z;
      if (z > max) max = z;
    }
    let sum = 0;
    for (let j = 0; j < n; j++) sum += (scratch[j] = Math.exp(scratch[j]! - max));
    for (let j = 0; j < n; j++) {
      const w = scratch[j]! / sum;
      const i = picked[j]!;
      for (let c = c0; c < c0 + headDim; c++) out[outOffset + c] += w * values[i * W + c]!;
    }
  }
}
