import { checkKnownKeys } from '@vql/runtime';
import { VqlTemporalKernelError } from './errors.js';
import { ExpDecayMixtureKernel } from './exp-decay-mixture-kernel.js';
import { PeriodicKernel } from './periodic-kernel.js';
import { ProductKernel } from './product-kernel.js';
import type { KernelConfig, SeparableKernel } from './separable-kernel.js';
import { SumKernel } from './sum-kernel.js';

const CONFIG_KEYS = {
  expDecayMixture: ['type', 'timeUnit', 'numRates', 'minTimescale', 'maxTimescale', 'initialRates', 'initialWeights'],
  periodic: ['type', 'timeUnit', 'periods', 'initialAmplitude'],
  product: ['type', 'kernels'],
  sum: ['type', 'kernels'],
} as const;

/** Rebuilds a kernel from `toConfig()` output (fresh initial parameters: load weights after). */
export function createKernel(config: KernelConfig, path = 'config'): SeparableKernel {
  if (config == null || typeof config !== 'object') {
    throw new VqlTemporalKernelError('INVALID_CONFIG', `createKernel: ${path} must be a kernel config object.`);
  }
  const keys = CONFIG_KEYS[config.type as keyof typeof CONFIG_KEYS];
  if (keys !== undefined) checkKnownKeys(`createKernel: ${path}`, config, keys, (m) => new VqlTemporalKernelError('UNKNOWN_OPTION', m));
  switch (config.type) {
    case 'expDecayMixture': {
      return new ExpDecayMixtureKernel({
        timeUnit: config.timeUnit,
        numRates: config.numRates,
        minTimescale: config.minTimescale,
        maxTimescale: config.maxTimescale,
        ...(config.initialRates !== undefined ? { initialRates: config.initialRates } : {}),
        ...(config.initialWeights !== undefined ? { initialWeights: config.initialWeights } : {}),
      });
    }
    case 'periodic':
      return new PeriodicKernel({ timeUnit: config.timeUnit, periods: config.periods, initialAmplitude: config.initialAmplitude });
    case 'product':
    case 'sum': {
      if (!Array.isArray(config.kernels)) {
        throw new VqlTemporalKernelError('INVALID_CONFIG', `createKernel: ${path}.kernels must be an array.`);
      }
      const children: SeparableKernel[] = [];
      try {
        config.kernels.forEach((c, i) => children.push(createKernel(c, `${path}.kernels[${i}]`)));
        return config.type === 'product' ? new ProductKernel(children) : new SumKernel(children);
      } catch (err) {
        for (const c of children) c.dispose();
        throw err;
      }
    }
    default:
      throw new VqlTemporalKernelError(
        'INVALID_CONFIG',
        `createKernel: ${path}.type ${JSON.stringify((config as { type?: unknown }).type)} is not one of expDecayMixture, periodic, product, sum.`,
      );
  }
}
