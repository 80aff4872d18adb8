import { checkKnownKeys, tf } from '@vql/runtime';
import type { JsonValue } from '@vql/runtime';
import { GroupedQuantizer } from './grouped-quantizer.js';
import type { QuantizeOptions } from './grouped-quantizer.js';
import type { GroupedQuantizerOptions } from './grouped-quantizer-options.js';
import type { GroupStats } from './window-stats.js';
import { checkPositiveInteger } from './codebook.js';
import { VqlQuantizerError } from './errors.js';

export interface VectorQuantizerOptions extends Omit<GroupedQuantizerOptions, 'codebookSizes' | 'shared'> {
  /** K: number of codes. */
  size: number;
}

export interface VectorQuantizeResult {
  /** [N,d] straight-through output. */
  quantized: tf.Tensor2D;
  /** [N] int32 code indices. */
  codes: tf.Tensor1D;
  codebookLoss: tf.Scalar;
  /** NOT multiplied by beta. */
  commitmentLoss: tf.Scalar;
}

/**
 * One codebook for keys [N,d]: the single-group case of `GroupedQuantizer`, with the same
 * training semantics (see there). Weights are named `codebook/codes` (…/emaCount, …/emaSum,
 * …/basis, …/linear).
 */
const VECTOR_KEYS = [
  'size', 'dim', 'beta', 'update', 'decay', 'eps', 'metric', 'init', 'initStd', 'kmeansIterations',
  'initBatches', 'initSamples', 'deadCodeSteps', 'simvq', 'checkFinite', 'seed',
] as const;

export class VectorQuantizer {
  readonly size: number;
  readonly dim: number;
  readonly beta: number;
  private readonly inner: GroupedQuantizer;

  constructor(options: VectorQuantizerOptions) {
    if (options === null || typeof options !== 'object') {
      throw new VqlQuantizerError('INVALID_ARGUMENT', 'VectorQuantizer: options must be an object.');
    }
    // The grouped quantizer checks the rest; `shared` and `codebookSizes` are not options here.
    checkKnownKeys('VectorQuantizer: options', options, VECTOR_KEYS, (m) => new VqlQuantizerError('UNKNOWN_OPTION', m));
    const { size, ...rest } = options;
    checkPositiveInteger(size, 'VectorQuantizer: options.size (K)');
    this.inner = new GroupedQuantizer(
      { ...rest, codebookSizes: [size] },
      { label: 'VectorQuantizer', weightPrefix: () => 'codebook/' },
    );
    this.size = size;
    this.dim = this.inner.dim;
    this.beta = this.inner.beta;
  }

  get initialized(): boolean {
    return this.inner.initialized;
  }

  private lift(keys: tf.Tensor2D, where: string): tf.Tensor3D {
    if (!(keys instanceof tf.Tensor) || keys.rank !== 2 || keys.shape[1] !== this.dim) {
      throw new VqlQuantizerError(
        'DIMENSION_MISMATCH',
        `VectorQuantizer.${where}: keys must have shape [N, ${this.dim}], got ${keys instanceof tf.Tensor ? `[${keys.shape.join(', ')}]` : typeof keys}.`,
      );
    }
    return tf.expandDims(keys, 1) as tf.Tensor3D;
  }

  quantize(keys: tf.Tensor2D, options: QuantizeOptions = {}): VectorQuantizeResult {
    return tf.tidy(() => {
      const out = this.inner.quantize(this.lift(keys, 'quantize'), options);
      return {
        quantized: tf.squeeze(out.quantized, [1]) as tf.Tensor2D,
        codes: tf.reshape(out.codes, [-1]) as tf.Tensor1D,
        codebookLoss: out.codebookLoss,
        commitmentLoss: out.commitmentLoss,
      };
    });
  }

  initialize(keys: tf.Tensor2D, options: { mask?: tf.Tensor1D } = {}): void {
    const lifted = this.lift(keys, 'initialize');
    try {
      this.inner.initialize(lifted, options);
    } finally {
      lifted.dispose();
    }
  }

  update(): number {
    return this.inner.update();
  }

  stats(): GroupStats {
    return this.inner.stats()[0]!;
  }

  resetStats(): void {
    this.inner.resetStats();
  }

  codebookValues(): Float32Array {
    return this.inner.codebookValues(0);
  }

  assign(keys: Float32Array): Int32Array {
    return this.inner.assign(keys, 0);
  }

  trainableVariables(): tf.Variable[] {
    return this.inner.trainableVariables();
  }

  getWeights(): Record<string, tf.Tensor> {
    return this.inner.getWeights();
  }

  setWeights(weights: Record<string, tf.Tensor>): void {
    this.inner.setWeights(weights);
  }

  fingerprint(): string {
    return this.inner.fingerprint();
  }

  toJSON(): { [key: string]: JsonValue } {
    return this.inner.toJSON();
  }

  dispose(): void {
    this.inner.dispose();
  }
}
