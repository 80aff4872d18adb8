import { tf } from './tf.js';
import type { Tensor } from './tf.js';
import { VqlRuntimeError } from './errors.js';

/**
 * Forward value `q`, gradient passed to `x` unchanged and none to `q`: the straight-through
 * estimator `x + sg(q − x)` of VQ-VAE. Shapes must match.
 */
export function straightThrough<T extends Tensor>(x: T, q: T): T {
  if (!tf.util.arraysEqual(x.shape, q.shape)) {
    throw new VqlRuntimeError(
      'SHAPE_MISMATCH',
      `straightThrough(x, q): x has shape [${x.shape.join(', ')}] but q has [${q.shape.join(', ')}].`,
    );
  }
  // customGrad passes (x, q, save); nothing needs saving for an identity gradient.
  const op = tf.customGrad((...args) => {
    const qIn = args[1] as Tensor;
    return { value: tf.clone(qIn), gradFunc: (dy: Tensor) => [dy, tf.zerosLike(qIn)] };
  });
  return op(x, q) as T;
}

/** Identity in the forward pass, zero gradient: tfjs has no `stopGradient`. */
export function stopGradient<T extends Tensor>(x: T): T {
  const op = tf.customGrad((...args) => ({
    value: tf.clone(args[0] as Tensor),
    gradFunc: (dy: Tensor) => tf.zerosLike(dy),
  }));
  return op(x) as T;
}
