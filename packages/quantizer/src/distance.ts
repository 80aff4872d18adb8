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

/**
 * Nearest code of every key of every group at once: keys [N, G, d], `codes[g]` [K_g, d] →
 * host int32 [N·G] (item-major). One matmul against a block-diagonal [G·d, G·K_max] matrix of
 * −2·c (codebooks shorter than K_max padded with never-chosen columns), plus ||c||², then one
 * argMin over [N, G, K_max] — instead of an unstack and a matmul + argMin per group. Same
 * argmin as `nearestCodes` per group up to float ties; rows in blocks of `blockElements` scores.
 */
export function nearestCodesGrouped(keys: tf.Tensor3D, codes: readonly tf.Tensor2D[], blockElements = MAX_BLOCK_ELEMENTS): Int32Array {
  return untaped(() => nearestCodesGroupedOnTape(keys, codes, blockElements));
}

/**
 * Runs `fn` with gradient recording off. Inside a gradient tape tfjs records every op and clones
 * the inputs each op saves for its backward pass (a full copy of [N, G·K] scores for argMin,
 * of the keys for reshape, ...), even for ops no gradient will ever reach. Ops run inside a
 * kernel's forward are not recorded, so `fn` runs as the forward of an input-less custom op.
 */
function untaped<T>(fn: () => T): T {
  let result: T | undefined;
  let done = false;
  const op = tf.customGrad(() => {
    result = fn();
    done = true;
    return { value: tf.scalar(0), gradFunc: () => [] };
  });
  (op() as tf.Tensor).dispose();
  if (!done) throw new VqlQuantizerError('INTERNAL', 'untaped: the function did not run.');
  return result as T;
}

function nearestCodesGroupedOnTape(keys: tf.Tensor3D, codes: readonly tf.Tensor2D[], blockElements: number): Int32Array {
  const [n, G, d] = keys.shape;
  if (codes.length !== G) {
    throw new VqlQuantizerError('DIMENSION_MISMATCH', `nearestCodesGrouped: keys have ${G} groups but ${codes.length} codebooks were given.`);
  }
  codes.forEach((c, g) => {
    if (c.shape[1] !== d) throw new VqlQuantizerError('DIMENSION_MISMATCH', `nearestCodesGrouped: keys have width ${d} but codebook ${g} has width ${c.shape[1]}.`);
  });
  const out = new Int32Array(n * G);
  if (n === 0) return out;
  const kMax = Math.max(...codes.map((c) => c.shape[0]));
  const host = codes.map((c) => c.dataSync() as Float32Array);
  const weights = new Float32Array(G * d * G * kMax);
  const bias = new Float32Array(G * kMax);
  for (let g = 0; g < G; g++) {
    const K = codes[g]!.shape[0];
    const c = host[g]!;
    for (let j = 0; j < kMax; j++) {
      const col = g * kMax + j;
      if (j >= K) {
        bias[col] = 3.4e38; // padding column: larger than any real score, never the argmin
        continue;
      }
      let norm = 0;
      for (let t = 0; t < d; t++) {
        const x = c[j * d + t]!;
        weights[(g * d + t) * G * kMax + col] = -2 * x;
        norm += x * x;
      }
      bias[col] = norm;
    }
  }
  const w = tf.tensor2d(weights, [G * d, G * kMax]);
  const b = tf.tensor1d(bias);
  try {
    const rows = Math.max(1, Math.floor(blockElements / (G * kMax)));
    const flat = tf.reshape(keys, [n, G * d]);
    try {
      for (let start = 0; start < n; start += rows) {
        const size = Math.min(rows, n - start);
        const z = tf.tidy(() => {
          const block = size === n ? flat : tf.slice(flat, [start, 0], [size, G * d]);
          return tf.argMin(tf.reshape(tf.add(tf.matMul(block, w), b), [size, G, kMax]), 2);
        });
        out.set(z.dataSync() as Int32Array, start * G);
        z.dispose();
      }
    } finally {
      flat.dispose();
    }
  } finally {
    w.dispose();
    b.dispose();
  }
  return out;
}
