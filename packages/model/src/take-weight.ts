import { tf } from '@vql/runtime';
import type { Tensor } from '@vql/runtime';
import { VqlModelError } from './errors.js';

/**
 * Helper for `setWeights`: takes `name` from `weights`, checking that it exists and has `shape`;
 * the message names the module and the tensor.
 */
export function takeWeight(owner: string, weights: Record<string, Tensor>, name: string, shape: readonly number[]): Tensor {
  const t = weights[name];
  if (t === undefined) {
    throw new VqlModelError('MISSING_WEIGHT', `${owner}.setWeights: weight "${name}" is missing.`);
  }
  if (!tf.util.arraysEqual(t.shape, shape as number[])) {
    throw new VqlModelError(
      'SHAPE_MISMATCH',
      `${owner}.setWeights: weight "${name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}].`,
    );
  }
  return t;
}
