import { tf } from '@vql/runtime';
import { VqlQuantizerError } from './errors.js';

// Upper bound on the [rows, K] score block held at once (16 M floats = 64 MB), so assigning 10^5
// keys against 1024 codes never materialises a 400 MB matrix.
const MAX_BLOCK_ELEMENTS = 1 << 24;

/**
 * Nearest code (squared L2) of every row of `keys` [N,d] among `codes` [K,d], as host int32.
 * One matmul per block: `[k, 1] · [−2c, ||c||²]ᵀ = ||c||² − 2k·c`, which is the squared distance
 * `||k||² − 2k·c + ||c||²` minus the per-row constant `||k||²`, so its argmin is the same.
 * Never differentiated: the result is a fresh host array, detached from any gradient tape.
 */
export function nearestCodes(keys: tf.Tensor2D, codes: tf.Tensor2D, blockElements = MAX_BLOCK_ELEMENTS): Int32Array {
  const [n, d] = keys.shape;
  const [k, dc] = codes.shape;
  if (d !== dc) {
    throw new VqlQuantizerError('DIMENSION_MISMATCH', `nearestCodes: keys have width ${d} but codes have width ${dc}.`);
  }
  const out = new Int32Array(n);
  if (n === 0) return out;
  const rows = Math.max(1, Math.floor(blockElements / k));
  // Stored transposed, [d+1, K]: wasm's matmul is ~5× slower with transposeB on these shapes.
  const augCodes = tf.tidy(() =>
    tf.transpose(tf.concat([tf.mul(codes, -2), tf.sum(tf.square(codes), 1, true)], 1)),
  );
  try {
    for (let start = 0; start < n; start += rows) {
      const size = Math.min(rows, n - start);
      const z = tf.tidy(() => {
        const block = size === n ? keys : tf.slice(keys, [start, 0], [size, d]);
        const aug = tf.concat([block, tf.ones([size, 1])], 1);
        return tf.argMin(tf.matMul(aug, augCodes), 1);
      });
      out.set(z.dataSync() as Int32Array, start);
      z.dispose();
    }
  } finally {
    augCodes.dispose();
  }
  return out;
}

/** Squared norms of the K rows of a row-major [K,d] array. */
export function rowSquaredNorms(values: Float32Array, rows: number, d: number): Float64Array {
  const out = new Float64Array(rows);
  for (let j = 0; j < rows; j++) {
    let s = 0;
    const o = j * d;
    for (let t = 0; t < d; t++) s += values[o + t]! * values[o + t]!;
    out[j] = s;
  }
  return out;
}

/**
 * Host (typed-array) nearest-code search for serving and for k-means: writes the nearest code of
 * each of the `n` keys into `outCodes` and, when given, the squared distance into `outDist`.
 */
export function nearestCodesHost(
  keys: Float32Array,
  n: number,
  codes: Float32Array,
  k: number,
  d: number,
  outCodes: Int32Array,
  outDist?: Float64Array,
  codeNorms: Float64Array = rowSquaredNorms(codes, k, d),
): void {
  for (let i = 0; i < n; i++) {
    const o = i * d;
    let best = Infinity;
    let bestJ = 0;
    for (let j = 0; j < k; j++) {
      const c = j * d;
      let dot = 0;
      for (let t = 0; t < d; t++) dot += keys[o + t]! * codes[c + t]!;
      const score = codeNorms[j]! - 2 * dot;
      if (score < best) {
        best = score;
        bestJ = j;
      }
    }
    outCodes[i] = bestJ;
    if (outDist !== undefined) {
      let kn = 0;
      for (let t = 0; t < d; t++) kn += keys[o + t]! * keys[o + t]!;
      // Cancellation can leave a tiny negative number where the key sits on its code.
      outDist[i] = Math.max(0, kn + best);
    }
  }
}

/** L2-normalises each row of a row-major [n,d] array in place (zero rows stay zero). */
export function normalizeRowsInPlace(values: Float32Array, n: number, d: number): Float32Array {
  for (let i = 0; i < n; i++) {
    const o = i * d;
    let s = 0;
    for (let t = 0; t < d; t++) s += values[o + t]! * values[o + t]!;
    if (s > 0) {
      const inv = 1 / Math.sqrt(s);
      for (let t = 0; t < d; t++) values[o + t] = values[o + t]! * inv;
    }
  }
  return values;
}
