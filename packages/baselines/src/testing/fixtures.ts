// Test helpers (not exported): hand-made batches and the InterestInputs a CtrModel would build
// for them, with an embedding table the test controls, so retrieval can be checked exactly.
import { createRng, tf, type Tensor } from '@vql/runtime';
import { gatherRows, makeInterestInputs, prepareBatch } from '@vql/model/module-kit';
import type { ContextFeatureSpec } from '@vql/context';
import type { CtrBatch } from '@vql/data';
import type { InterestBuildContext, InterestInputs } from '@vql/model';

export const CATEGORY_FEATURE = { name: 'category', kind: 'categorical', scope: 'item', vocabSize: 10 } as const;

export interface HandBatchOptions {
  histories: number[][]; // item ids per row, oldest → newest
  targets: number[];
  /** Category of item i at index i (index 0 = padding); adds the 'category' context feature. */
  itemCategory?: number[];
  /** Pad every row to this L (default: the longest history). */
  maxLen?: number;
}

export function handBatch(o: HandBatchOptions): CtrBatch {
  const B = o.targets.length;
  const L = o.maxLen ?? Math.max(0, ...o.histories.map((h) => h.length));
  const historyItem = new Int32Array(B * L);
  const historyTime = new Float64Array(B * L);
  const historyMask = new Float32Array(B * L);
  const historyLength = new Int32Array(B);
  const targetTime = new Float64Array(B).fill(1e6);
  for (let b = 0; b < B; b++) {
    const h = o.histories[b]!;
    historyLength[b] = h.length;
    h.forEach((it, l) => {
      historyItem[b * L + l] = it;
      historyTime[b * L + l] = 1e6 - (h.length - l) * 3600; // one behaviour an hour
      historyMask[b * L + l] = 1;
    });
  }
  const targetContext: Record<string, Int32Array> = {};
  const historyContext: Record<string, Int32Array> = {};
  if (o.itemCategory !== undefined) {
    const cat = o.itemCategory;
    targetContext.category = Int32Array.from(o.targets, (t) => cat[t] ?? 0);
    historyContext.category = Int32Array.from(historyItem, (t) => cat[t] ?? 0);
  }
  return {
    size: B,
    maxLen: L,
    user: Int32Array.from({ length: B }, (_, b) => b + 1),
    targetItem: Int32Array.from(o.targets),
    targetTime,
    label: Float32Array.from({ length: B }, (_, b) => b % 2),
    historyItem,
    historyTime,
    historyMask,
    historyLength,
    targetContext,
    historyContext,
  };
}

/** Random ragged batch over items 1..numItems (row lengths in [0, maxLen]). */
export function randomBatch(seed: number, size: number, maxLen: number, numItems: number, itemCategory?: number[]): CtrBatch {
  const rng = createRng(seed);
  const histories = Array.from({ length: size }, (_, b) => {
    const len = b === 0 ? maxLen : rng.int(maxLen + 1);
    return Array.from({ length: len }, () => 1 + rng.int(numItems));
  });
  const targets = Array.from({ length: size }, () => 1 + rng.int(numItems));
  return handBatch(itemCategory === undefined ? { histories, targets, maxLen } : { histories, targets, maxLen, itemCategory });
}

export function buildContext(dim: number, maxLen: number, withCategory: boolean, seed = 5): InterestBuildContext {
  return { itemDim: dim, fusedDim: dim, maxLen, contextFeatures: withCategory ? [CATEGORY_FEATURE] : [], seed };
}

/**
 * The InterestInputs of `batch` with item embeddings = rows of `table` [numItems + 1, d] and fused
 * embeddings = rows of `fusedTable` (default `table`: no context encoder). Call inside tf.tidy / a tape.
 */
export function inputsFor(batch: CtrBatch, table: Tensor, numItems: number, training = false, fusedTable: Tensor = table): InterestInputs {
  // Every context column of a hand-made batch is an item-scope category (ids up to the largest seen).
  const features: ContextFeatureSpec[] = Object.keys(batch.targetContext).map((name) => ({
    name,
    kind: 'categorical',
    scope: 'item',
    vocabSize: Math.max(1, ...batch.targetContext[name]!, ...(batch.historyContext[name] ?? [])),
  }));
  const prepared = prepareBatch(batch, { numItems, features, historyWindow: null, shortTermLength: 0 });
  const target = gatherRows(table, prepared.host.targetItem);
  const unique = gatherRows(table, prepared.uniqueItem);
  const fusedTarget = fusedTable === table ? target : gatherRows(fusedTable, prepared.host.targetItem);
  const fusedUnique = fusedTable === table ? unique : gatherRows(fusedTable, prepared.uniqueItem);
  const targetContext: Record<string, Tensor> = {};
  const uniqueContext: Record<string, Tensor> = {};
  for (const f of features) {
    targetContext[f.name] = tf.tensor2d(prepared.host.targetContext[f.name]!, [batch.size, 1], 'int32');
    uniqueContext[f.name] = tf.tensor2d(prepared.uniqueContext[f.name]!, [prepared.uniqueItem.length, 1], 'int32');
  }
  return makeInterestInputs(
    prepared,
    { targetEmbedding: fusedTarget, targetItemEmbedding: target, uniqueEmbedding: fusedUnique, uniqueItemEmbedding: unique, uniqueLogitBias: null, targetContext, uniqueContext },
    training,
  );
}

/** [numItems + 1, d] table with N(0, 1) rows (row 0 = zeros) as a host array. */
export function randomTable(seed: number, numItems: number, d: number): Float32Array {
  const rng = createRng(seed);
  const t = new Float32Array((numItems + 1) * d);
  for (let i = d; i < t.length; i++) t[i] = rng.normal();
  return t;
}

/** Host rows of `table` for the given item ids, concatenated. */
export function rowsOf(table: Float32Array, d: number, items: ArrayLike<number>): Float32Array {
  const out = new Float32Array(items.length * d);
  for (let i = 0; i < items.length; i++) out.set(table.subarray(items[i]! * d, (items[i]! + 1) * d), i * d);
  return out;
}
