import type { Tensor } from '@vql/runtime';
import { VqlTemporalKernelError } from './errors.js';
import type { SeparableKernel } from './separable-kernel.js';
import type { TimeUnit } from './time-unit.js';

/** Checks a combinator's children: at least two kernels, one shared time unit. */
export function checkChildren(where: string, kernels: unknown): SeparableKernel[] {
  if (!Array.isArray(kernels) || kernels.length < 2) {
    throw new VqlTemporalKernelError('INVALID_ARGUMENT', `${where}: kernels must be an array of at least 2 kernels.`);
  }
  kernels.forEach((k, i) => {
    if (k == null || typeof (k as SeparableKernel).logWeight !== 'function' || typeof (k as SeparableKernel).rank !== 'number') {
      throw new VqlTemporalKernelError('INVALID_ARGUMENT', `${where}: kernels[${i}] is not a SeparableKernel.`);
    }
  });
  const list = kernels as SeparableKernel[];
  const unit: TimeUnit = list[0]!.timeUnit;
  list.forEach((k, i) => {
    if (k.timeUnit !== unit) {
      throw new VqlTemporalKernelError(
        'TIME_UNIT_MISMATCH',
        `${where}: kernels[${i}] uses timeUnit '${k.timeUnit}' but kernels[0] uses '${unit}'; combine kernels of one unit.`,
      );
    }
  });
  if (new Set(list).size !== list.length) {
    throw new VqlTemporalKernelError('INVALID_ARGUMENT', `${where}: the same kernel instance appears twice; build a separate one.`);
  }
  return [...list];
}

/** Child weights under "<index>/<name>", so nested composites stay unambiguous. */
export function prefixedWeights(kernels: SeparableKernel[]): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  kernels.forEach((k, i) => {
    for (const [name, t] of Object.entries(k.getWeights())) out[`${i}/${name}`] = t;
  });
  return out;
}

export function splitWeights(where: string, kernels: SeparableKernel[], weights: Record<string, Tensor>): Array<Record<string, Tensor>> {
  if (weights == null || typeof weights !== 'object') {
    throw new VqlTemporalKernelError('INVALID_WEIGHTS', `${where}: weights must be a record of named tensors.`);
  }
  const parts: Array<Record<string, Tensor>> = kernels.map(() => ({}));
  for (const [name, t] of Object.entries(weights)) {
    const m = /^(\d+)\/(.+)$/.exec(name);
    const index = m === null ? -1 : Number(m[1]);
    if (m === null || index >= kernels.length) {
      throw new VqlTemporalKernelError('UNKNOWN_WEIGHT', `${where}: unexpected weight "${name}"; expected "<child index>/<name>" for ${kernels.length} children.`);
    }
    parts[index]![m[2]!] = t;
  }
  return parts;
}

/** out[a*|y| + b] = x[a]·y[b]. */
export function kron(x: Float64Array, y: Float64Array): Float64Array {
  const out = new Float64Array(x.length * y.length);
  for (let a = 0; a < x.length; a++) {
    const xa = x[a]!;
    for (let b = 0; b < y.length; b++) out[a * y.length + b] = xa * y[b]!;
  }
  return out;
}
