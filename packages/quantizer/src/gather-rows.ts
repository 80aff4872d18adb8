import { tf } from '@vql/runtime';

/**
 * `tf.gather(table, rows)` whose gradient is a host segment sum. tfjs's gather gradient is
 * UnsortedSegmentSum, which wasm lacks and the cpu bridge runs as one masked pass per code
 * (O(K·N·d), ~140 ms for N=512, K=256); summing rows on the host is O(N·d).
 */
export function gatherRows(table: tf.Tensor2D, rows: Int32Array): tf.Tensor2D {
  const [k, d] = table.shape;
  const op = tf.customGrad((...args) => {
    const t = args[0] as tf.Tensor2D;
    const value = tf.tidy(() => tf.gather(t, tf.tensor1d(rows, 'int32')));
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        const g = dy.dataSync();
        const out = new Float32Array(k * d);
        for (let i = 0; i < rows.length; i++) {
          const o = rows[i]! * d;
          const s = i * d;
          for (let c = 0; c < d; c++) out[o + c] = out[o + c]! + g[s + c]!;
        }
        return tf.tensor2d(out, [k, d]);
      },
    };
  });
  return op(table) as tf.Tensor2D;
}
