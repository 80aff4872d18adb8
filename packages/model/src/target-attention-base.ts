import { createKernel } from '@vql/temporal-kernel';
import type { KernelConfig, SeparableKernel } from '@vql/temporal-kernel';
import { createRng, tf } from '@vql/runtime';
import type { Rng, Tensor, Variable } from '@vql/runtime';
import { checkAttentionShape, denseVariable } from './attention-core.js';
import type { AttentionShape } from './attention-core.js';
import { VqlModelError } from './errors.js';
import { takeWeight } from './take-weight.js';
import type { InterestBuildContext, InterestInputs } from './interest-module.js';

/** Default temporal kernel: R = 3 decay rates from an hour to a year, dt in seconds. */
export const DEFAULT_KERNEL: KernelConfig = {
  type: 'expDecayMixture',
  timeUnit: 'seconds',
  numRates: 3,
  minTimescale: 3600,
  maxTimescale: 365.25 * 86400,
};

/** Options shared by VQL and full target attention. */
export interface TargetAttentionOptions {
  /** H. Default 4. */
  heads?: number;
  /** G: heads of a group share a key projection. VQL default 2; full attention default H. */
  groups?: number;
  /** d_h. Default fusedDim / heads (at least 1). */
  headDim?: number;
  /** Keys and values see static context (fused embedding + logit bias). Default true. */
  useContext?: boolean;
  /** Temporal kernel added as log-bias; null switches it off. Default `DEFAULT_KERNEL`. */
  kernel?: KernelConfig | null;
}

/**
 * Query / key / value projections, the optional kernel and the weight bookkeeping shared by
 * `VqlAttention` and `FullTargetAttention`; the subclasses decide what happens to keys.
 */
export abstract class TargetAttentionBase {
  readonly shape: AttentionShape;
  readonly outputDim: number;
  readonly useContext: boolean;
  protected readonly inputDim: number;
  protected readonly wq: Variable; // [D, H·dh]
  protected readonly wk: Variable; // [D, G·dh]
  protected readonly wv: Variable; // [D, H·dh]
  protected readonly kernel: SeparableKernel | null;
  protected readonly kernelConfig: KernelConfig | null;
  protected readonly rng: Rng;

  protected constructor(where: string, options: TargetAttentionOptions, context: InterestBuildContext, defaultGroups: (heads: number) => number) {
    const heads = options.heads ?? 4;
    this.useContext = options.useContext ?? true;
    if (typeof this.useContext !== 'boolean') throw new VqlModelError('INVALID_CONFIG', `${where}: useContext must be a boolean.`);
    this.inputDim = this.useContext ? context.fusedDim : context.itemDim;
    const headDim = options.headDim ?? Math.max(1, Math.floor(context.fusedDim / (typeof heads === 'number' && heads > 0 ? heads : 1)));
    this.shape = checkAttentionShape(where, heads, options.groups ?? defaultGroups(heads), headDim);
    const { heads: H, groups: G, headDim: dh } = this.shape;
    this.outputDim = H * dh;
    this.rng = createRng(context.seed);
    this.wq = denseVariable(this.rng, this.inputDim, H * dh);
    this.wk = denseVariable(this.rng, this.inputDim, G * dh);
    this.wv = denseVariable(this.rng, this.inputDim, H * dh);
    this.kernelConfig = options.kernel === undefined ? DEFAULT_KERNEL : options.kernel;
    this.kernel = this.kernelConfig === null ? null : createKernel(this.kernelConfig, `${where}: kernel`);
    if (this.kernel !== null && this.kernel.timeUnit !== 'seconds') {
      // The model hands dt in seconds; a kernel in milliseconds would silently decay 1000× slower.
      this.kernel.dispose();
      throw new VqlModelError('INVALID_CONFIG', `${where}: kernel.timeUnit must be "seconds" (the model's dt unit), got "${this.kernel.timeUnit}".`);
    }
  }

  /** [B, D] target and [U, D] unique rows the projections read, honouring `useContext`. */
  protected embeddings(inputs: InterestInputs): { target: Tensor; unique: Tensor; bias: Tensor | null } {
    return this.useContext
      ? { target: inputs.targetEmbedding, unique: inputs.uniqueEmbedding, bias: inputs.uniqueLogitBias }
      : { target: inputs.targetItemEmbedding, unique: inputs.uniqueItemEmbedding, bias: null };
  }

  /**
   * Keys [U, G·d_h] and values [U, H·d_h] of the unique rows: two matmuls rather than one on
   * [W_K | W_V] and a split, whose backward (a column concat of [U, ·] gradients) is slower on
   * wasm than the second matmul.
   */
  protected projectUnique(unique: Tensor): { keys: Tensor; values: Tensor } {
    return { keys: tf.matMul(unique, this.wk), values: tf.matMul(unique, this.wv) };
  }

  /** Host copies of W_Q [in, H·d_h], W_K [in, G·d_h], W_V [in, H·d_h]; `in` = fused D with context, item d without. */
  projectionsHost(): { wq: Float32Array; wk: Float32Array; wv: Float32Array; inputDim: number } {
    return { wq: Float32Array.from(this.wq.dataSync()), wk: Float32Array.from(this.wk.dataSync()), wv: Float32Array.from(this.wv.dataSync()), inputDim: this.inputDim };
  }

  /** The temporal kernel (null when off), for serving and the cache store. */
  temporalKernel(): SeparableKernel | null {
    return this.kernel;
  }

  protected baseVariables(): Variable[] {
    return [this.wq, this.wk, this.wv, ...(this.kernel?.trainableVariables() ?? [])];
  }

  protected baseWeights(): Record<string, Tensor> {
    const out: Record<string, Tensor> = { wq: this.wq, wk: this.wk, wv: this.wv };
    if (this.kernel !== null) for (const [k, v] of Object.entries(this.kernel.getWeights())) out[`kernel/${k}`] = v;
    return out;
  }

  protected setBaseWeights(owner: string, weights: Record<string, Tensor>): void {
    const checked: Array<[Variable, Tensor]> = [
      [this.wq, takeWeight(owner, weights, 'wq', this.wq.shape)],
      [this.wk, takeWeight(owner, weights, 'wk', this.wk.shape)],
      [this.wv, takeWeight(owner, weights, 'wv', this.wv.shape)],
    ];
    if (this.kernel !== null) {
      const kw: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(this.kernel.getWeights())) kw[k] = takeWeight(owner, weights, `kernel/${k}`, v.shape);
      this.kernel.setWeights(kw);
    }
    for (const [v, t] of checked) v.assign(t);
  }

  protected disposeBase(): void {
    tf.dispose([this.wq, this.wk, this.wv]);
    this.kernel?.dispose();
  }
}
