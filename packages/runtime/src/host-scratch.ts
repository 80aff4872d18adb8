import { tf } from './tf.js';
import type { Tensor } from './tf.js';
import { VqlRuntimeError } from './errors.js';

/**
 * Reused host buffers for the typed-array kernels of a training step. A step allocates tens of
 * MB of short-lived typed arrays (the item table's dense gradient, key/value copies and their
 * gradients, attention weights); fresh ones cost page faults, zeroing and GC, and two threads of
 * one process doing that slow each other down (data-parallel workers). Inside `withHostScratch`
 * the kernels take their buffers from a per-thread pool instead, and every buffer handed out
 * returns to the pool when the outermost scope ends, so the next step reuses them. Outside a
 * scope (inference, evaluation) the helpers allocate as before.
 */
class Pool<A extends Float32Array | Float64Array> {
  private free: A[] = [];
  private used: A[] = [];
  constructor(private readonly make: (n: number) => A) {}

  /** The first `n` elements of the smallest free buffer that holds them, contents undefined. */
  take(n: number): A {
    let best = -1;
    let largest = -1;
    for (let i = 0; i < this.free.length; i++) {
      const len = this.free[i]!.length;
      if (len >= n && (best < 0 || len < this.free[best]!.length)) best = i;
      if (largest < 0 || len > this.free[largest]!.length) largest = i;
    }
    let buf: A;
    if (best >= 0) {
      buf = this.free.splice(best, 1)[0]!;
    } else {
      // Nothing fits: the largest free buffer is too small for this use, so it is replaced (the
      // pool holds at most as many buffers as a step uses at once). 1/8 headroom: batches differ a little.
      if (largest >= 0) this.free.splice(largest, 1);
      buf = this.make(n + (n >> 3));
    }
    this.used.push(buf);
    return buf.length === n ? buf : (buf.subarray(0, n) as A);
  }

  releaseAll(): void {
    for (const b of this.used) this.free.push(b);
    this.used = [];
  }
}

const f32 = new Pool((n) => new Float32Array(n));
const f64 = new Pool((n) => new Float64Array(n));
let depth = 0;

/** Runs `fn` with the kernels' host buffers taken from (and afterwards returned to) this thread's pool. */
export function withHostScratch<T>(fn: () => T): T {
  depth++;
  try {
    return fn();
  } finally {
    if (--depth === 0) {
      f32.releaseAll();
      f64.releaseAll();
    }
  }
}

/** Zero-filled Float32Array of `n` elements: pooled inside `withHostScratch`, fresh outside. */
export function scratchF32(n: number): Float32Array {
  return depth === 0 ? new Float32Array(n) : f32.take(n).fill(0);
}

/** Zero-filled Float64Array of `n` elements: pooled inside `withHostScratch`, fresh outside. */
export function scratchF64(n: number): Float64Array {
  return depth === 0 ? new Float64Array(n) : f64.take(n).fill(0);
}

interface HeapBackend {
  typedArrayFromHeap(t: { dataId: object; shape: number[]; dtype: string }): Float32Array | Int32Array | Uint8Array;
}

/** The wasm backend's view of a tensor's memory (valid until its heap next grows), or null on other backends. */
export function heapView(t: Tensor): Float32Array | Int32Array | null {
  if (t.isDisposed) throw new VqlRuntimeError('INVALID_ARGUMENT', 'heapView(t): the tensor t is disposed.');
  if (tf.getBackend() !== 'wasm') return null;
  const view = (tf.backend() as unknown as HeapBackend).typedArrayFromHeap(t);
  return view instanceof Uint8Array ? null : view;
}

/**
 * A host copy of a float32 tensor's values that the caller owns until the scope ends (pooled
 * inside `withHostScratch`): one copy out of the wasm heap into a reused buffer, not `dataSync`'s
 * fresh array per call. Read-only use; on other backends `dataSync()` (already a host array).
 */
export function hostF32(t: Tensor): Float32Array {
  if (depth === 0) return t.dataSync() as Float32Array;
  const view = heapView(t);
  if (view === null) return t.dataSync() as Float32Array;
  const out = f32.take(view.length);
  out.set(view);
  return out;
}

/**
 * A float32 tensor holding a copy of `values`, which the caller may overwrite afterwards (a pooled
 * buffer, shared memory): the wasm backend copies values into its heap when the tensor is made;
 * other backends keep the array itself, so they get a copy.
 */
export function tensorCopyOf(values: Float32Array, shape: number[]): Tensor {
  return tf.tensor(tf.getBackend() === 'wasm' ? values : values.slice(), shape, 'float32');
}

/** A float32 tensor from host values that may be a pooled buffer (`scratchF32`, `hostF32`). */
export function tensorFromHost(values: Float32Array, shape: number[]): Tensor {
  return depth === 0 ? tf.tensor(values, shape, 'float32') : tensorCopyOf(values, shape);
}
