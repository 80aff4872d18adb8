import type { Rng } from '@vql/runtime';

/**
 * SimHash (random-hyperplane LSH) shared by ETA and SDIM, in training and serving: bit j of a
 * vector x is `x · r_j > 0` for a fixed Gaussian rotation R [dim, bits] drawn from the seed. The
 * Hamming distance of two signatures estimates their angle: P(bit differs) = θ / π.
 */
export function randomRotation(rng: Rng, dim: number, bits: number): Float32Array {
  const r = new Float32Array(dim * bits);
  for (let i = 0; i < r.length; i++) r[i] = rng.normal();
  return r;
}

/** 32-bit words per signature. */
export function signatureWords(bits: number): number {
  return Math.ceil(bits / 32);
}

/**
 * Packs `projected` [n, bits] (x·R, already computed) into signatures [n, words]: bit j of row i
 * is word j>>5, bit j&31.
 */
export function packSigns(projected: Float32Array | Float64Array, n: number, bits: number, out?: Uint32Array): Uint32Array {
  const words = signatureWords(bits);
  const sig = out ?? new Uint32Array(n * words);
  for (let i = 0; i < n; i++) {
    for (let w = 0; w < words; w++) sig[i * words + w] = 0;
    for (let j = 0; j < bits; j++) {
      if (projected[i * bits + j]! > 0) sig[i * words + (j >> 5)] = (sig[i * words + (j >> 5)]! | (1 << (j & 31))) >>> 0;
    }
  }
  return sig;
}

/** x [n, dim] · R [dim, bits] on the host (serving path). */
export function project(x: Float32Array, n: number, dim: number, rotation: Float32Array, bits: number): Float64Array {
  const out = new Float64Array(n * bits);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < dim; c++) {
      const xv = x[i * dim + c]!;
      if (xv === 0) continue;
      const row = c * bits;
      for (let j = 0; j < bits; j++) out[i * bits + j] += xv * rotation[row + j]!;
    }
  }
  return out;
}

export function popcount32(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

export function hamming(a: Uint32Array, ai: number, b: Uint32Array, bi: number, words: number): number {
  let d = 0;
  for (let w = 0; w < words; w++) d += popcount32((a[ai * words + w]! ^ b[bi * words + w]!) >>> 0);
  return d;
}

/**
 * SDIM bucket of row i in round r: the `bitsPerRound` bits r·τ .. r·τ+τ−1 of `projected`
 * [n, rounds·τ] as an integer in [0, 2^τ).
 */
export function bucketOf(projected: Float32Array | Float64Array, i: number, round: number, bitsPerRound: number, rounds: number): number {
  let code = 0;
  const base = i * rounds * bitsPerRound + round * bitsPerRound;
  for (let j = 0; j < bitsPerRound; j++) if (projected[base + j]! > 0) code |= 1 << j;
  return code;
}
