import { tf } from '@vql/runtime';

/**
 * Host-side pieces of `GroupedQuantizer.quantize` for keys [n, G, d] whose codes are already
 * chosen (`codes` [n·G], item-major), group g reading codebook `bookOf[g]`. Each replaces a
 * per-group chain of tfjs ops (unstack, gather, sub, square, weighted sums, stack: ~15 ops and
 * their gradients per group, each a pass over [n, d] at ~15 µs + memory speed on wasm) by one
 * O(n·G·d) loop, with the same values and gradients up to float rounding.
 */
export interface FusedCodes {
  readonly codes: Int32Array; // [n·G]
  readonly bookOf: readonly number[]; // [G] codebook index of each group
  readonly weight: Float32Array | null; // [n] 1 = item, 0 = padding; null = all items
}

/**
 * Straight-through quantized keys: forward = the chosen codes c_{z} ([n, G, d], exact copies
 * of the codebook rows), gradient = identity to `keys` (none to the codes), like
 * `straightThrough(keys, gather(codes, z))`.
 */
export function straightThroughCodes(keys: tf.Tensor3D, books: readonly tf.Tensor2D[], f: FusedCodes): tf.Tensor3D {
  const [n, G, d] = keys.shape;
  const values = books.map((b) => b.dataSync() as Float32Array);
  const out = new Float32Array(n * G * d);
  for (let i = 0; i < n; i++) {
    for (let g = 0; g < G; g++) {
      const src = values[f.bookOf[g]!]!;
      const from = f.codes[i * G + g]! * d;
      const to = (i * G + g) * d;
      for (let t = 0; t < d; t++) out[to + t] = src[from + t]!;
    }
  }
  const op = tf.customGrad((...args) => ({
    value: tf.tensor3d(out, [n, G, d]),
    gradFunc: (dy: tf.Tensor) => [tf.clone(dy) as tf.Tensor, ...(args.slice(1, -1) as tf.Tensor[]).map((b) => tf.zerosLike(b))],
  }));
  // The codebooks are passed only so the op lists them; their gradient here is zero.
  return op(keys, ...books) as tf.Tensor3D;
}

/**
 * [Σ w·||sg(k) − c_z||², Σ w·||k − sg(c_z)||²] summed over items, groups and dimensions: the
 * codebook-loss numerator (gradient to the codes only) and the commitment numerator (gradient to
 * the keys only).
 */
export function quantizationErrorSums(keys: tf.Tensor3D, books: readonly tf.Tensor2D[], f: FusedCodes): tf.Tensor1D {
  const [n, G, d] = keys.shape;
  const op = tf.customGrad((...args) => {
    const k = (args[0] as tf.Tensor).dataSync() as Float32Array;
    const values = (args.slice(1, 1 + books.length) as tf.Tensor[]).map((b) => b.dataSync() as Float32Array);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const w = f.weight === null ? 1 : f.weight[i]!;
      if (w === 0) continue;
      for (let g = 0; g < G; g++) {
        const c = values[f.bookOf[g]!]!;
        const from = f.codes[i * G + g]! * d;
        const ko = (i * G + g) * d;
        let s = 0;
        for (let t = 0; t < d; t++) {
          const diff = k[ko + t]! - c[from + t]!;
          s += diff * diff;
        }
        sum += w * s;
      }
    }
    return {
      // Both numerators have the same value; only their gradients differ.
      value: tf.tensor1d([sum, sum]),
      gradFunc: (dy: tf.Tensor) => {
        const [gCodebook, gCommit] = Array.from(dy.dataSync());
        const dk = new Float32Array(n * G * d);
        const dc = values.map((v) => new Float32Array(v.length));
        for (let i = 0; i < n; i++) {
          const w = f.weight === null ? 1 : f.weight[i]!;
          if (w === 0) continue;
          for (let g = 0; g < G; g++) {
            const cb = f.bookOf[g]!;
            const c = values[cb]!;
            const dcb = dc[cb]!;
            const from = f.codes[i * G + g]! * d;
            const ko = (i * G + g) * d;
            for (let t = 0; t < d; t++) {
              const diff = 2 * w * (k[ko + t]! - c[from + t]!);
              dk[ko + t] = gCommit! * diff;
              dcb[from + t] -= gCodebook! * diff;
            }
          }
        }
        return [tf.tensor3d(dk, [n, G, d]), ...dc.map((v, j) => tf.tensor2d(v, books[j]!.shape))];
      },
    };
  });
  return op(keys, ...books) as tf.Tensor1D;
}
