import { tf, type Tensor, type Variable } from '@vql/runtime';
import { takeWeight } from '@vql/model/module-kit';
import type { InterestBuildContext, InterestInputs, InterestModuleConfig } from '@vql/model';
import { emptySelection, fillSelection, ownedVariable } from '../attention.js';
import type { AttentionOptions } from '../attention.js';
import { intOption } from '../config.js';
import { hamming, packSigns, randomRotation, signatureWords } from '../simhash.js';
import { topKIndices } from '../top-k.js';
import { TopKModule, realPositions } from './topk-base.js';
import type { SelectResult } from './topk-base.js';

export const ETA_MAX_BITS = 1024;

export interface EtaOptions extends AttentionOptions {
  /** Behaviours retrieved per request. Default 50; k > L takes all. */
  k?: number;
  /** m: SimHash signature bits, 1..1024. Default 64. */
  hashBits?: number;
}

/**
 * ETA: SimHash the item embeddings with a fixed random rotation (m bits, drawn from the seed, never
 * trained), keep the k behaviours nearest the target in Hamming distance (ties → newer), then
 * target attention over them. The hash reads the item embedding only, never the context-fused one:
 * a target and its own past behaviours differ in the behaviour-context slots of the fused rows,
 * which would scatter identical items across signatures. Signatures follow the embeddings as they train.
 */
export class Eta extends TopKModule {
  static readonly kind = 'eta';
  readonly kind = Eta.kind;
  readonly hashBits: number;
  /** d: width of the item embeddings the hash reads. */
  readonly hashDim: number;
  /** R [d, m] over the item embedding, not trained; part of the weights so a restored model hashes identically. */
  private readonly rotation: Variable;

  constructor(options: EtaOptions, context: InterestBuildContext) {
    super('Eta', Eta.kind, options as Record<string, unknown>, context, ['hashBits']);
    this.hashBits = intOption('Eta', 'hashBits', options.hashBits, 64, 1, ETA_MAX_BITS);
    this.hashDim = context.itemDim;
    const r = randomRotation(this.rng.fork(), this.hashDim, this.hashBits);
    this.rotation = ownedVariable(tf.tensor2d(r, [this.hashDim, this.hashBits]), false);
    this.extendConfig({ hashBits: this.hashBits });
  }

  static fromConfig(config: InterestModuleConfig, context: InterestBuildContext): Eta {
    return new Eta(config as EtaOptions, context);
  }

  /** Signatures [n, ⌈m/32⌉] of item embeddings [n, d] (host arrays; serving uses the same bits). */
  signatures(embeddings: Tensor): Uint32Array {
    const n = embeddings.shape[0]!;
    const projected = tf.tidy(() => tf.matMul(embeddings, this.rotation));
    const values = projected.dataSync() as Float32Array;
    projected.dispose();
    return packSigns(values, n, this.hashBits);
  }

  protected select(inputs: InterestInputs): SelectResult {
    const B = inputs.batchSize;
    const L = inputs.maxLen;
    const tSig = this.signatures(inputs.targetItemEmbedding);
    const uSig = this.signatures(inputs.uniqueItemEmbedding);
    const words = signatureWords(this.hashBits);
    const k = Math.min(this.k, L);
    const sel = emptySelection(B, k);
    const positions = new Int32Array(L);
    const picked = new Int32Array(k);
    const chosen = new Int32Array(k);
    for (let b = 0; b < B; b++) {
      const n = realPositions(inputs, b, positions);
      const count = topKIndices(n, k, (i) => -hamming(tSig, b, uSig, inputs.inverseHost[b * L + positions[i]!]!, words), picked);
      for (let j = 0; j < count; j++) chosen[j] = positions[picked[j]!]!;
      fillSelection(sel, inputs, b, chosen, count);
    }
    return { selection: sel };
  }

  /** Host copy of R [d·m] (for the online scorer). */
  rotationValues(): Float32Array {
    return this.rotation.dataSync() as Float32Array;
  }

  protected override extraWeights(): Record<string, Tensor> {
    return { 'hash/rotation': this.rotation };
  }

  protected override checkedExtraWeights(weights: Record<string, Tensor>): Array<[Variable, Tensor]> {
    return [[this.rotation, takeWeight('Eta', weights, 'hash/rotation', this.rotation.shape)]];
  }

  override dispose(): void {
    super.dispose();
    this.rotation.dispose();
  }
}
