import { tf } from '../tf.js';

type TensorInfo = tf.TensorInfo;

interface HostBackend {
  readSync(dataId: object): unknown;
}

/**
 * Linear-time UnsortedSegmentSum (the gradient of `gather`, so of every embedding lookup).
 * tfjs's cpu kernel loops over segments with a full mask each time — O(numSegments · N · width),
 * minutes for a 50k-row table — and wasm has none. Ids outside [0, numSegments) are dropped, as
 * in TensorFlow.
 */
function segmentSum(x: TensorInfo, ids: TensorInfo, numSegments: number, backend: HostBackend): { shape: number[]; values: Float32Array | Int32Array } {
  const values = backend.readSync(x.dataId) as Float32Array | Int32Array;
  const segments = backend.readSync(ids.dataId) as Int32Array | Float32Array;
  const n = segments.length;
  const inner = n === 0 ? 0 : values.length / n;
  const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
  for (let i = 0; i < n; i++) {
    const s = segments[i]!;
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let k = 0; k < inner; k++) out[dst + k] += values[src + k]!;
  }
  return { shape: [numSegments, ...x.shape.slice(ids.shape.length)], values: out };
}

function attrsOf(attrs: tf.NamedAttrMap | undefined): number {
  return (attrs as unknown as { numSegments: number }).numSegments;
}

export function registerSegmentSumKernels(): void {
  tf.unregisterKernel('UnsortedSegmentSum', 'cpu');
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'cpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const cpu = backend as unknown as HostBackend & { makeTensorInfo(shape: number[], dtype: string, values: unknown): TensorInfo };
      const { shape, values } = segmentSum(inputs['x']!, inputs['segmentIds']!, attrsOf(attrs), cpu);
      return cpu.makeTensorInfo(shape, inputs['x']!.dtype, values);
    },
  });
  if (tf.getKernel('UnsortedSegmentSum', 'wasm') === undefined) {
    tf.registerKernel({
      kernelName: 'UnsortedSegmentSum',
      backendName: 'wasm',
      kernelFunc: ({ inputs, attrs, backend }) => {
        const wasm = backend as unknown as HostBackend & {
          makeOutput(shape: number[], dtype: string): TensorInfo;
          typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array;
        };
        const { shape, values } = segmentSum(inputs['x']!, inputs['segmentIds']!, attrsOf(attrs), wasm);
        const out = wasm.makeOutput(shape, inputs['x']!.dtype);
        if (values.length > 0) wasm.typedArrayFromHeap(out).set(values);
        return out;
      },
    });
  }
}
