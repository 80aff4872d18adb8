import { tf } from '@vql/runtime';
import type { JsonValue, Tensor, Variable } from '@vql/runtime';
import type { KernelConfig } from '@vql/temporal-kernel';
import { attend } from './attention-core.js';
import { VqlModelError } from './errors.js';
import type { InterestBuildContext, InterestInputs, InterestModule, InterestModuleConfig, InterestOutput } from './interest-module.js';
import { TargetAttentionBase } from './target-attention-base.js';
import type { TargetAttentionOptions } from './target-attention-base.js';

export type FullTargetAttentionOptions = TargetAttentionOptions;

const KNOWN = new Set(['kind', 'heads', 'groups', 'headDim', 'useContext', 'kernel']);

export function checkKnownOptions(where: string, config: Record<string, unknown>, known: ReadonlySet<string>): void {
  for (const key of Object.keys(config)) {
    if (!known.has(key)) {
      throw new VqlModelError('INVALID_CONFIG', `${where}: unknown option "${key}"; known: ${[...known].sort().join(', ')}.`);
    }
  }
}

/**
 * DIN-style multi-head dot-product target attention over all L behaviours, with the same
 * static-context and temporal-kernel options as VQL: the exact reference VQL approximates.
 * Keys and values are projected once per unique (item, context) row and gathered per position.
 * Heads have their own key projection unless `groups` < `heads`.
 */
export class FullTargetAttention extends TargetAttentionBase implements InterestModule {
  static readonly kind = 'full-attention';
  readonly kind = FullTargetAttention.kind;
  readonly config: InterestModuleConfig;

  constructor(options: FullTargetAttentionOptions, context: InterestBuildContext) {
    checkKnownOptions('FullTargetAttention', options as Record<string, unknown>, KNOWN);
    super('FullTargetAttention', options, context, (h) => h);
    this.config = {
      kind: this.kind,
      heads: this.shape.heads,
      groups: this.shape.groups,
      headDim: this.shape.headDim,
      useContext: this.useContext,
      kernel: this.kernelConfig as unknown as JsonValue,
    };
  }

  /** Factory for the registry: `{ kind: 'full-attention', heads, groups, headDim, useContext, kernel }`. */
  static fromConfig(config: InterestModuleConfig, context: InterestBuildContext): FullTargetAttention {
    const options: Record<string, unknown> = { ...(config as InterestModuleConfig & { kernel?: KernelConfig | null }) };
    delete options['kind'];
    return new FullTargetAttention(options as FullTargetAttentionOptions, context);
  }

  forward(inputs: InterestInputs): InterestOutput {
    const { target, unique, bias } = this.embeddings(inputs);
    const { keys, values } = this.projectUnique(unique);
    const interest = attend({
      inputs,
      shape: this.shape,
      query: tf.matMul(target, this.wq),
      uniqueKeys: keys,
      uniqueValues: values,
      uniqueBias: bias,
      kernel: this.kernel,
    });
    return { interest };
  }

  trainableVariables(): Variable[] {
    return this.baseVariables();
  }

  getWeights(): Record<string, Tensor> {
    return this.baseWeights();
  }

  setWeights(weights: Record<string, Tensor>): void {
    this.setBaseWeights('FullTargetAttention', weights);
  }

  dispose(): void {
    this.disposeBase();
  }
}
