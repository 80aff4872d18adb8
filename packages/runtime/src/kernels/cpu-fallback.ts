import { tf } from '../tf.js';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { registerBatchMatMulTransposeKernel } from './batch-matmul-transpose.js';
import { registerSegmentSumKernels } from './unsorted-segment-sum.js';

type TensorInfo = tf.TensorInfo;

// Kernels that make no sense to bridge: complex/string dtypes and browser drawing.
const NOT_BRIDGED = new Set([
  'Complex', 'ComplexAbs', 'Real', 'Imag', 'FFT', 'IFFT', 'Draw', 'StaticRegexReplace',
  'RaggedGather', 'RaggedRange', 'RaggedTensorToTensor',
]);

let cpu: MathBackendCPU | null = null;
const registered: string[] = [];

function toCpu(backend: BackendWasm, info: TensorInfo): TensorInfo {
  const values = backend.readSync(info.dataId) as tf.TypedArray;
  return { dataId: cpu!.write(values.slice(), info.shape, info.dtype), shape: info.shape, dtype: info.dtype };
}

function toWasm(backend: BackendWasm, info: TensorInfo): TensorInfo {
  const values = cpu!.readSync(info.dataId) as tf.TypedArray;
  const out = backend.makeOutput(info.shape, info.dtype);
  if (values.length > 0) backend.typedArrayFromHeap(out).set(values);
  cpu!.disposeData(info.dataId, true);
  return out;
}

/**
 * Registers a linear-time UnsortedSegmentSum (the gradient of `gather`) for cpu and wasm, then,
 * for every kernel the cpu backend has and wasm still lacks (Einsum among them), a wasm kernel
 * that runs the cpu implementation on copies of the inputs. Same numbers as cpu; costs one copy
 * each way.
 * Returns the names of the kernels it bridged (idempotent).
 */
export function registerCpuFallbackKernels(): readonly string[] {
  if (cpu !== null) return registered;
  // Native (linear-time) kernels first; the bridge then only covers what is still missing.
  registerSegmentSumKernels();
  registerBatchMatMulTransposeKernel();
  cpu = new MathBackendCPU();
  const wasmKernels = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
  for (const kernel of tf.getKernelsForBackend('cpu')) {
    if (wasmKernels.has(kernel.kernelName) || NOT_BRIDGED.has(kernel.kernelName)) continue;
    const cpuKernel = kernel.kernelFunc;
    tf.registerKernel({
      kernelName: kernel.kernelName,
      backendName: 'wasm',
      kernelFunc: ({ inputs, attrs, backend }) => {
        const wasm = backend as BackendWasm;
        // Most kernels take named inputs; a few (Einsum, AddN) take an array.
        const cpuInputs = (Array.isArray(inputs) ? [] : {}) as Record<string, TensorInfo>;
        for (const [name, info] of Object.entries(inputs as Record<string, TensorInfo | undefined>)) {
          if (info != null) cpuInputs[name] = toCpu(wasm, info);
        }
        try {
          const result = cpuKernel({ inputs: cpuInputs as tf.NamedTensorInfoMap, attrs: attrs ?? {}, backend: cpu! }) as
            | TensorInfo
            | TensorInfo[];
          return Array.isArray(result) ? result.map((r) => toWasm(wasm, r)) : toWasm(wasm, result);
        } finally {
          for (const info of Object.values(cpuInputs)) cpu!.disposeData(info.dataId, true);
        }
      },
    });
    registered.push(kernel.kernelName);
  }
  return registered;
}
