import { tf } from '@vql/runtime';
import type { Tensor, Variable } from '@vql/runtime';
import { VqlTemporalKernelError } from './errors.js';

export function checkTime(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new VqlTemporalKernelError('INVALID_TIME', `${where}: ${name} must be a finite number, got ${String(value)}.`);
  }
  return value;
}

export function checkPositiveInt(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new VqlTemporalKernelError('INVALID_ARGUMENT', `${where}: ${name} must be a positive integer, got ${String(value)}.`);
  }
  return value;
}

export function checkPositive(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new VqlTemporalKernelError('INVALID_ARGUMENT', `${where}: ${name} must be a finite number > 0, got ${String(value)}.`);
  }
  return value;
}

/** Reads a variable as float64 and refuses non-finite values (they would poison every factor). */
export function readFinite(where: string, name: string, v: Variable): Float64Array {
  const data = v.dataSync();
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (!Number.isFinite(x)) {
      throw new VqlTemporalKernelError('NON_FINITE_PARAMETER', `${where}: parameter ${name}[${i}] is ${x}.`);
    }
    out[i] = x;
  }
  return out;
}

/** Assigns named tensors to variables after checking names, shapes, dtype and finiteness. */
export function assignNamed(where: string, vars: Record<string, Variable>, weights: Record<string, Tensor>): void {
  if (weights == null || typeof weights !== 'object') {
    throw new VqlTemporalKernelError('INVALID_WEIGHTS', `${where}: weights must be a record of named tensors.`);
  }
  for (const name of Object.keys(vars)) {
    const w = weights[name];
    const v = vars[name]!;
    if (!(w instanceof tf.Tensor)) {
      throw new VqlTemporalKernelError('MISSING_WEIGHT', `${where}: weight "${name}" is missing (expected shape [${v.shape.join(', ')}]).`);
    }
    if (!tf.util.arraysEqual(w.shape, v.shape)) {
      throw new VqlTemporalKernelError(
        'WEIGHT_SHAPE_MISMATCH',
        `${where}: weight "${name}" has shape [${w.shape.join(', ')}], expected [${v.shape.join(', ')}].`,
      );
    }
    const values = w.dataSync();
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) {
        throw new VqlTemporalKernelError('NON_FINITE_PARAMETER', `${where}: weight "${name}"[${i}] is ${values[i]}.`);
      }
    }
  }
  for (const name of Object.keys(weights)) {
    if (!(name in vars)) {
      throw new VqlTemporalKernelError(
        'UNKNOWN_WEIGHT',
        `${where}: unexpected weight "${name}"; expected ${Object.keys(vars).map((n) => `"${n}"`).join(', ')}.`,
      );
    }
  }
  for (const name of Object.keys(vars)) {
    const w = weights[name]!;
    if (w.dtype === 'float32') {
      vars[name]!.assign(w);
    } else {
      // assign shares the data buffer (ref-counted), so the cast can be released right away.
      const cast = tf.cast(w, 'float32');
      vars[name]!.assign(cast);
      cast.dispose();
    }
  }
}

export function checkFiniteOutput(where: string, values: Float64Array, hint: string): Float64Array {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new VqlTemporalKernelError('NON_FINITE_FACTOR', `${where}: factor ${i} is ${values[i]}; ${hint}`);
    }
  }
  return values;
}

/** Refuses scaled factors with a non-finite entry or scale (only for gaps beyond float64). */
export function checkFiniteScaled<T extends { factors: Float64Array; logScale: number }>(where: string, scaled: T, hint: string): T {
  if (!Number.isFinite(scaled.logScale)) {
    throw new VqlTemporalKernelError('NON_FINITE_FACTOR', `${where}: log scale is ${scaled.logScale}; ${hint}`);
  }
  checkFiniteOutput(where, scaled.factors, hint);
  return scaled;
}
