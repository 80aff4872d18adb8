import { VqlError } from '@vql/errors';
import { isBackendFailure } from './execute.js';

// Node's WebAssembly global, typed for what the test uses (the package compiles without the DOM lib).
const wasm = (globalThis as unknown as {
  WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (module: object) => { exports: Record<string, unknown> }; RuntimeError: ErrorConstructor };
}).WebAssembly;

describe('isBackendFailure', () => {
  it('is a WebAssembly trap or a failed allocation, never a code or config error', () => {
    // (module (func (export "f") unreachable)): calling f traps like tfjs-wasm out of bounds.
    const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 5, 1, 3, 0, 0, 11]);
    const f = new wasm.Instance(new wasm.Module(bytes)).exports['f'] as () => void;
    let trap: unknown;
    try {
      f();
    } catch (error) {
      trap = error;
    }
    expect(trap).toBeInstanceOf(wasm.RuntimeError);
    expect(isBackendFailure(trap)).toBe(true);
    let allocation: unknown;
    try {
      new Float32Array(2 ** 40);
    } catch (error) {
      allocation = error;
    }
    expect(isBackendFailure(allocation)).toBe(true);
    expect(isBackendFailure(new VqlError('@vql/model', 'BAD_CONFIG', 'heads must divide embeddingDim'))).toBe(false);
    expect(isBackendFailure(new TypeError('x is undefined'))).toBe(false);
    expect(isBackendFailure(new RangeError('Maximum call stack size exceeded'))).toBe(false);
  });
});
