import { tf } from '../tf.js';

type TensorInfo = tf.TensorInfo;

interface WasmBackendLike {
  disposeData(dataId: object): void;
}

// Below this many multiply-adds the extra Transpose kernel costs more than it saves.
const MIN_WORK = 1 << 16;

let installed = false;

/**
 * Wraps wasm's BatchMatMul so that a transposed operand is transposed explicitly (one Transpose
 * kernel) before a plain matmul. XNNPACK runs `transposeA`/`transposeB` products 6–10× slower
 * than the plain layout on tall operands (`[32k,48]·[32,48]ᵀ`: 46 ms vs 6 ms), and every MatMul
 * gradient asks for one of them. Same products, summed in a different order (float rounding only).
 * Idempotent; no-op when wasm has no BatchMatMul.
 */
export function registerBatchMatMulTransposeKernel(): void {
  if (installed) return;
  const original = tf.getKernel('BatchMatMul', 'wasm');
  const transposeKernel = tf.getKernel('Transpose', 'wasm');
  if (original === undefined || transposeKernel === undefined) return;
  installed = true;
  const matmul = original.kernelFunc;
  const transpose = transposeKernel.kernelFunc;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
      const attrs = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
      if (!attrs.transposeA && !attrs.transposeB) return matmul(args);
      const ra = a.shape.length;
      const rb = b.shape.length;
      const m = attrs.transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
      const k = attrs.transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
      const n = attrs.transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
      const batch = Math.max(tf.util.sizeFromShape(a.shape.slice(0, -2)), tf.util.sizeFromShape(b.shape.slice(0, -2)));
      if (batch * m * n * k < MIN_WORK) return matmul(args);
      const backend = args.backend as unknown as WasmBackendLike;
      const swapLast = (x: TensorInfo): TensorInfo => {
        const perm = x.shape.map((_, i) => i);
        perm[perm.length - 1] = perm.length - 2;
        perm[perm.length - 2] = perm.length - 1;
        return transpose({ inputs: { x }, attrs: { perm }, backend: args.backend }) as TensorInfo;
      };
      const ta = attrs.transposeA ? swapLast(a) : a;
      const tb = attrs.transposeB ? swapLast(b) : b;
      try {
        return matmul({ ...args, inputs: { a: ta, b: tb }, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
      } finally {
        if (ta !== a) backend.disposeData(ta.dataId);
        if (tb !== b) backend.disposeData(tb.dataId);
      }
    },
  });
}
