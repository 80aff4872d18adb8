import { tf } from './tf.js';
import type { Tensor } from './tf.js';
import { VqlRuntimeError } from './errors.js';
import { heapView, scratchF32, tensorFromHost } from './host-scratch.js';

/**
 * `tf.gather(table, indices)` along axis 0 with a gradient computed as a host segment sum in
 * O(n·width). tfjs's own gradient goes through `UnsortedSegmentSum`, which wasm lacks and the cpu
 * kernel implements as one masked sum per table row — O(rows·n·width), minutes per step for an
 * item table of 50k rows. `indices` are host integers in [0, rows); the gradient is dense.
 */
export function gatherRows(table: Tensor, indices: Int32Array): Tensor {
  const rows = table.shape[0];
  if (table.dtype !== 'float32') {
    throw new VqlRuntimeError('INVALID_ARGUMENT', `gatherRows(table): table must be float32, got ${table.dtype}.`);
  }
  if (rows === undefined) {
    throw new VqlRuntimeError('INVALID_ARGUMENT', 'gatherRows(table): table must have rank ≥ 1.');
  }
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    if (!(r >= 0 && r < rows)) {
      throw new VqlRuntimeError('INDEX_OUT_OF_RANGE', `gatherRows: indices[${i}] = ${r} is outside the table's ${rows} rows.`);
    }
  }
  const width = table.size / Math.max(rows, 1);
  const outShape = [indices.length, ...table.shape.slice(1)];
  const op = tf.customGrad((...args) => {
    const x = args[0] as Tensor;
    // A host copy loop: tfjs's GatherV2 (wasm and cpu) computes coordinates per element and runs
    // ~20× slower than this for the [B·L, width] gathers of a training step.
    // Read in place from the wasm heap (no copy of the whole table); no tensor is made until the copy is done.
    const src = (heapView(x) ?? x.dataSync()) as Float32Array;
    const out = scratchF32(indices.length * width);
    // Element loop: a `subarray` view per row costs an allocation each (tens of thousands per step).
    for (let i = 0, to = 0; i < indices.length; i++) {
      const from = indices[i]! * width;
      for (let k = 0; k < width; k++) out[to++] = src[from + k]!;
    }
    return {
      value: tensorFromHost(out, outShape),
      gradFunc: (dy: Tensor) => {
        const g = (heapView(dy) ?? dy.dataSync()) as Float32Array;
        const grad = scratchF32(table.size);
        for (let i = 0; i < indices.length; i++) {
          const dst = indices[i]! * width;
          const from = i * width;
          for (let k = 0; k < width; k++) grad[dst + k] += g[from + k]!;
        }
        return tensorFromHost(grad, table.shape);
      },
    };
  });
  return op(table);
}

