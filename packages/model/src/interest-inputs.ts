import { tf, gatherRows } from '@vql/runtime';
import type { Tensor } from '@vql/runtime';
import type { PreparedBatch } from './batch-adapter.js';
import type { InterestInputs } from './interest-module.js';

/** The differentiable embeddings the model computed for a prepared batch. */
export interface EmbeddedBatch {
  readonly targetEmbedding: Tensor; // [B, D]
  readonly targetItemEmbedding: Tensor; // [B, d]
  readonly uniqueEmbedding: Tensor; // [U, D]
  readonly uniqueItemEmbedding: Tensor; // [U, d]
  readonly uniqueLogitBias: Tensor | null; // [U]
  readonly targetContext: Readonly<Record<string, Tensor>>; // [B, width]
  readonly uniqueContext: Readonly<Record<string, Tensor>>; // [U, width]
}

/**
 * Assembles the `InterestInputs` of a batch. Must run inside the caller's `tf.tidy` (or gradient
 * tape): the index tensors it creates are left to that scope.
 */
export function makeInterestInputs(prepared: PreparedBatch, embedded: EmbeddedBatch, training: boolean): InterestInputs {
  const B = prepared.batchSize;
  const L = prepared.maxLen;
  const inverseHost = prepared.inverse;
  let historyEmbedding: Tensor | null = null;
  const cache = new Map<string, Tensor>();
  const lazy = (name: string, make: () => Tensor): Tensor => {
    let t = cache.get(name);
    if (t === undefined) {
      t = make();
      cache.set(name, t);
    }
    return t;
  };
  const gatherHistory = (unique: Tensor): Tensor => {
    const rest = unique.shape.slice(1);
    return tf.reshape(gatherRows(unique, inverseHost), [B, L, ...rest]);
  };
  return {
    batchSize: B,
    maxLen: L,
    training,
    host: prepared.host,
    // Index tensors few modules read are built on first access (still inside the caller's scope).
    get targetItem() {
      return lazy('targetItem', () => tf.tensor1d(prepared.host.targetItem, 'int32'));
    },
    targetEmbedding: embedded.targetEmbedding,
    targetItemEmbedding: embedded.targetItemEmbedding,
    targetContext: embedded.targetContext,
    get historyItem() {
      return lazy('historyItem', () => tf.tensor2d(prepared.host.historyItem, [B, L], 'int32'));
    },
    get historyMask() {
      return lazy('historyMask', () => tf.tensor2d(prepared.mask, [B, L]));
    },
    get dt() {
      return lazy('dt', () => tf.tensor2d(prepared.dt32, [B, L]));
    },
    dtHost: prepared.dt,
    uniqueCount: prepared.uniqueItem.length,
    get uniqueItem() {
      return lazy('uniqueItem', () => tf.tensor1d(prepared.uniqueItem, 'int32'));
    },
    uniqueItemHost: prepared.uniqueItem,
    get inverse() {
      return lazy('inverse', () => tf.tensor1d(inverseHost, 'int32'));
    },
    inverseHost,
    uniqueEmbedding: embedded.uniqueEmbedding,
    uniqueItemEmbedding: embedded.uniqueItemEmbedding,
    uniqueContext: embedded.uniqueContext,
    uniqueLogitBias: embedded.uniqueLogitBias,
    gatherHistory,
    historyEmbedding: () => {
      historyEmbedding ??= gatherHistory(embedded.uniqueEmbedding);
      return historyEmbedding;
    },
    ...(prepared.causal !== undefined ? { causal: prepared.causal } : {}),
  };
}
