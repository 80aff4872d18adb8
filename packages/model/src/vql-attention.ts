import { GroupedQuantizer } from '@vql/quantizer';
import type { GroupedQuantizerOptions, GroupStats } from '@vql/quantizer';
import { tf } from '@vql/runtime';
import type { JsonValue, Tensor, Variable } from '@vql/runtime';
import type { KernelConfig } from '@vql/temporal-kernel';
import { attend } from './attention-core.js';
import { causalCacheAttention } from './causal-cache-attention.js';
import { VqlModelError } from './errors.js';
import { checkKnownOptions } from './full-target-attention.js';
import type { InterestBuildContext, InterestInputs, InterestModule, InterestModuleConfig, InterestOutput, InterestStats } from './interest-module.js';
import { TargetAttentionBase } from './target-attention-base.js';
import type { TargetAttentionOptions } from './target-attention-base.js';

/** Quantizer settings passed through to `GroupedQuantizer` (dim, sizes, shared and seed are set here). */
export type VqlQuantizerOptions = Omit<GroupedQuantizerOptions, 'dim' | 'codebookSizes' | 'shared' | 'beta' | 'seed'>;

export interface VqlAttentionOptions extends TargetAttentionOptions {
  /** K_g per head group (length G, coarse to fine). Default 64 for every group. */
  codebookSizes?: number[];
  /** One codebook of Σ K_g codes shared by all groups: the "no multi-scale" ablation. Default false. */
  sharedCodebook?: boolean;
  /** Commitment weight β (aux loss = codebook + β·commitment). Default 0.25. */
  beta?: number;
  /** Quantize values too (one codebook per head, K of its group): the "no key-only" ablation. Default false. */
  quantizeValues?: boolean;
  /** Extra `GroupedQuantizer` options (update: 'ema', metric, init, deadCodeSteps, ...). */
  quantizer?: VqlQuantizerOptions;
}

const KNOWN = new Set(['kind', 'heads', 'groups', 'headDim', 'useContext', 'kernel', 'codebookSizes', 'sharedCodebook', 'beta', 'quantizeValues', 'quantizer']);

/**
 * VQL target attention (DESIGN §1): keys of the U unique behaviour rows go through a
 * `GroupedQuantizer` (one codebook per head group, heads of a group share the key projection and
 * hence one code per item), values stay exact, static context is fused before the projections and
 * may add a logit bias, and the separable temporal kernel enters as log κ(dt). The VQ losses
 * (codebook + β·commitment, averaged over valid rows) are returned as `auxLoss`.
 */
export class VqlAttention extends TargetAttentionBase implements InterestModule {
  static readonly kind = 'vql';
  readonly kind = VqlAttention.kind;
  readonly config: InterestModuleConfig;
  readonly quantizer: GroupedQuantizer;
  readonly valueQuantizer: GroupedQuantizer | null;
  readonly beta: number;
  private weightCopies: Tensor[] = [];

  constructor(options: VqlAttentionOptions, context: InterestBuildContext) {
    checkKnownOptions('VqlAttention', options as Record<string, unknown>, KNOWN);
    super('VqlAttention', options, context, (h) => (h % 2 === 0 ? 2 : 1));
    const { heads: H, groups: G, headDim: dh } = this.shape;
    const sizes = options.codebookSizes ?? new Array<number>(G).fill(64);
    if (!Array.isArray(sizes) || sizes.length !== G) {
      this.disposeBase();
      throw new VqlModelError('INVALID_CONFIG', `VqlAttention: codebookSizes must list one size per head group (${G}), got ${JSON.stringify(sizes)}.`);
    }
    this.beta = options.beta ?? 0.25;
    if (typeof this.beta !== 'number' || !(this.beta >= 0)) {
      this.disposeBase();
      throw new VqlModelError('INVALID_CONFIG', `VqlAttention: beta must be a number ≥ 0, got ${String(options.beta)}.`);
    }
    const shared = options.sharedCodebook ?? false;
    const quantizeValues = options.quantizeValues ?? false;
    const extra = options.quantizer ?? {};
    try {
      this.quantizer = new GroupedQuantizer({ ...extra, dim: dh, codebookSizes: [...sizes], shared, beta: this.beta, seed: this.rng.uint32() });
      const per = H / G;
      this.valueQuantizer = quantizeValues
        ? new GroupedQuantizer({
            ...extra,
            dim: dh,
            codebookSizes: Array.from({ length: H }, (_, h) => sizes[Math.floor(h / per)]!),
            shared,
            beta: this.beta,
            seed: this.rng.uint32(),
          })
        : null;
    } catch (err) {
      this.disposeBase();
      throw err;
    }
    this.config = {
      kind: this.kind,
      heads: H,
      groups: G,
      headDim: dh,
      useContext: this.useContext,
      kernel: this.kernelConfig as unknown as JsonValue,
      codebookSizes: [...sizes],
      sharedCodebook: shared,
      beta: this.beta,
      quantizeValues,
      quantizer: extra as unknown as JsonValue,
    };
  }

  static fromConfig(config: InterestModuleConfig, context: InterestBuildContext): VqlAttention {
    const options: Record<string, unknown> = { ...(config as InterestModuleConfig & { kernel?: KernelConfig | null }) };
    delete options['kind'];
    return new VqlAttention(options as VqlAttentionOptions, context);
  }

  /**
   * User batches (whole histories or the newest L) run as causal-cache scans (DESIGN §2b) when
   * values are exact and the kernel is the exponential-decay mixture (or off); other variants
   * get per-sample rows.
   */
  get causalHistory(): boolean {
    return this.valueQuantizer === null && (this.kernelConfig === null || this.kernelConfig.type === 'expDecayMixture');
  }

  /** The codebooks still wait for their k-means initialisation from training keys. */
  get initializing(): boolean {
    return !this.quantizer.initialized || (this.valueQuantizer !== null && !this.valueQuantizer.initialized);
  }

  forward(inputs: InterestInputs): InterestOutput {
    if (inputs.causal !== undefined) return this.forwardCausal(inputs);
    const { heads: H, groups: G, headDim: dh } = this.shape;
    const B = inputs.batchSize;
    const U = inputs.uniqueCount;
    if (inputs.maxLen === 0 || U <= 1) {
      // No behaviour in the whole batch: nothing to quantize, interest is zeros.
      return { interest: tf.zeros([B, H * dh]), auxLoss: tf.scalar(0) };
    }
    const { target, unique, bias } = this.embeddings(inputs);
    const valid = new Float32Array(U).fill(1);
    valid[0] = 0; // row 0 is padding: out of the VQ losses, statistics and code updates
    const mask = tf.tensor1d(valid) as tf.Tensor1D;
    const projected = this.projectUnique(unique);
    const keys = tf.reshape(projected.keys, [U, G, dh]) as tf.Tensor3D;
    const q = this.quantizer.quantize(keys, { mask, training: inputs.training });
    let aux = tf.add(q.codebookLoss, tf.mul(q.commitmentLoss, this.beta));
    let values = projected.values;
    if (this.valueQuantizer !== null) {
      const v = this.valueQuantizer.quantize(tf.reshape(values, [U, H, dh]) as tf.Tensor3D, { mask, training: inputs.training });
      values = tf.reshape(v.quantized, [U, H * dh]);
      aux = tf.add(aux, tf.add(v.codebookLoss, tf.mul(v.commitmentLoss, this.beta)));
    }
    const interest = attend({
      inputs,
      shape: this.shape,
      query: tf.matMul(target, this.wq),
      uniqueKeys: tf.reshape(q.quantized, [U, G * dh]),
      uniqueValues: values,
      uniqueBias: bias,
      kernel: this.kernel,
      // Rows of one code share one key: the attention runs per code (DESIGN §2 grouped form).
      uniqueCodes: q.codes.dataSync() as Int32Array,
    });
    return { interest, auxLoss: aux };
  }

  /** Every target attends over its user's behaviours before it (all, or the newest L), as one scan per user. */
  private forwardCausal(inputs: InterestInputs): InterestOutput {
    const causal = inputs.causal!;
    if (!this.causalHistory) {
      throw new VqlModelError('INVALID_BATCH', 'VqlAttention: this variant (quantizeValues or a non-decay kernel) has no causal-cache form; pass per-sample batches.');
    }
    const { groups: G, headDim: dh } = this.shape;
    const B = inputs.batchSize;
    const U = inputs.uniqueCount;
    if (U <= 1) return { interest: tf.zeros([B, this.outputDim]), auxLoss: tf.scalar(0) };
    const { target, unique, bias } = this.embeddings(inputs);
    const valid = new Float32Array(U).fill(1);
    valid[0] = 0; // row 0 is padding, as in per-sample batches
    const mask = tf.tensor1d(valid) as tf.Tensor1D;
    const projected = this.projectUnique(unique);
    const q = this.quantizer.quantize(tf.reshape(projected.keys, [U, G, dh]) as tf.Tensor3D, { mask, training: inputs.training });
    const aux = tf.add(q.codebookLoss, tf.mul(q.commitmentLoss, this.beta));
    const kw = this.kernel === null ? null : this.kernel.getWeights();
    const interest = causalCacheAttention(
      tf.matMul(target, this.wq),
      tf.reshape(q.quantized, [U, G * dh]),
      projected.values,
      bias === null ? null : tf.reshape(bias, [U]),
      kw === null ? null : kw['logRate']!,
      kw === null ? null : kw['logBeta']!,
      { layout: causal, codes: q.codes.dataSync() as Int32Array, shape: this.shape, scale: 1 / Math.sqrt(dh), kernelUnit: 1 },
    );
    return { interest, auxLoss: aux };
  }

  afterStep(): void {
    this.quantizer.update();
    this.valueQuantizer?.update();
  }

  /** Mean codebook perplexity, dead-code fraction and relative key error since the previous call. */
  stats(): InterestStats {
    const summarise = (s: GroupStats[], prefix: string): Record<string, number> => {
      const mean = (f: (g: GroupStats) => number): number => s.reduce((a, g) => a + f(g), 0) / Math.max(s.length, 1);
      const out: Record<string, number> = {
        [`${prefix}perplexity`]: mean((g) => g.perplexity),
        [`${prefix}deadFraction`]: mean((g) => g.deadFraction),
        [`${prefix}relativeError`]: mean((g) => g.relativeError),
      };
      s.forEach((g, i) => (out[`${prefix}perplexity/${i}`] = g.perplexity));
      return out;
    };
    const out = summarise(this.quantizer.stats(), '');
    this.quantizer.resetStats();
    if (this.valueQuantizer !== null) {
      Object.assign(out, summarise(this.valueQuantizer.stats(), 'value/'));
      this.valueQuantizer.resetStats();
    }
    return out;
  }

  trainableVariables(): Variable[] {
    return [...this.baseVariables(), ...this.quantizer.trainableVariables(), ...(this.valueQuantizer?.trainableVariables() ?? [])];
  }

  /**
   * Projections, kernel and codebooks (`quantizer/...`, `valueQuantizer/...`). The codebook
   * tensors are copies owned by this module (freed on the next call or on `dispose`).
   */
  getWeights(): Record<string, Tensor> {
    tf.dispose(this.weightCopies);
    const out = this.baseWeights();
    const copies: Tensor[] = [];
    for (const [k, v] of Object.entries(this.quantizer.getWeights())) {
      out[`quantizer/${k}`] = v;
      copies.push(v);
    }
    if (this.valueQuantizer !== null) {
      for (const [k, v] of Object.entries(this.valueQuantizer.getWeights())) {
        out[`valueQuantizer/${k}`] = v;
        copies.push(v);
      }
    }
    this.weightCopies = copies;
    return out;
  }

  setWeights(weights: Record<string, Tensor>): void {
    const pick = (prefix: string): Record<string, Tensor> => {
      const out: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(weights)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
      return out;
    };
    this.setBaseWeights('VqlAttention', weights);
    this.quantizer.setWeights(pick('quantizer/'));
    this.valueQuantizer?.setWeights(pick('valueQuantizer/'));
  }

  dispose(): void {
    tf.dispose(this.weightCopies);
    this.weightCopies = [];
    this.disposeBase();
    this.quantizer.dispose();
    this.valueQuantizer?.dispose();
  }
}
