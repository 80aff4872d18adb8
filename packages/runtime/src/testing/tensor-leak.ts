import { tf } from '../tf.js';
import { VqlRuntimeError } from '../errors.js';

export interface TensorLeakOptions {
  /** Steps run before the baseline is taken (optimizer slots, lazily created variables). Default 2. */
  warmup?: number;
  /** Steps measured after the baseline. Default 5. */
  steps?: number;
  /** What the step is called in the error message. */
  label?: string;
}

/**
 * Runs `step` `warmup` times, records `tf.memory().numTensors`, runs it `steps` more times and
 * throws when the count grew: the guard for "every step is wrapped in tidy / disposes its outputs".
 */
export async function assertNoTensorLeak(
  step: () => unknown | Promise<unknown>,
  options: TensorLeakOptions = {},
): Promise<void> {
  const { warmup = 2, steps = 5, label = 'step' } = options;
  for (let i = 0; i < warmup; i++) await step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < steps; i++) await step();
  const after = tf.memory().numTensors;
  if (after > before) {
    throw new VqlRuntimeError(
      'TENSOR_LEAK',
      `${label} leaks tensors: ${before} live before ${steps} repeats, ${after} after (+${((after - before) / steps).toFixed(2)} per ${label}).`,
    );
  }
}
