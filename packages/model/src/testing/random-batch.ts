import { createRng, tf } from '@vql/runtime';
import type { Tensor } from '@vql/runtime';
import { featureWidth } from '@vql/context';
import type { ContextFeatureSpec } from '@vql/context';
import type { CtrBatch } from '@vql/data';
import type { PreparedBatch } from '../batch-adapter.js';
import { prepareBatch } from '../batch-adapter.js';
import type { EmbeddedBatch } from '../interest-inputs.js';
import { makeInterestInputs } from '../interest-inputs.js';
import type { InterestInputs } from '../interest-module.js';

export interface RandomBatchOptions {
  size?: number; // B, default 8
  maxLen?: number; // L, default 12
  numItems?: number; // default 30
  /** Context features to fill (categorical/multi ids in 1..vocabSize, numeric uniform in [0, 1)). */
  features?: ReadonlyArray<ContextFeatureSpec & { vocabSize?: number }>;
  /** Rows whose history is empty (historyLength 0). Default [0]? none. */
  emptyRows?: readonly number[];
  seed?: number;
}

/**
 * A small random `CtrBatch`-shaped batch: ragged histories (some rows full, some short, the
 * listed rows empty), times in epoch seconds around 1.7e9 with strictly earlier histories.
 * For unit tests of interest modules; `@vql/data` has the realistic synthetic generator.
 */
export function randomCtrBatch(options: RandomBatchOptions = {}): CtrBatch {
  const { size: B = 8, maxLen: L = 12, numItems = 30, features = [], emptyRows = [], seed = 1 } = options;
  const rng = createRng(seed);
  const targetItem = new Int32Array(B);
  const targetTime = new Float64Array(B);
  const label = new Float32Array(B);
  const historyItem = new Int32Array(B * L);
  const historyTime = new Float64Array(B * L);
  const historyMask = new Float32Array(B * L);
  const historyLength = new Int32Array(B);
  const user = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    user[b] = b + 1;
    targetItem[b] = 1 + rng.int(numItems);
    targetTime[b] = 1.7e9 + rng.int(86400 * 30);
    label[b] = b % 2;
    const len = emptyRows.includes(b) ? 0 : b % 3 === 0 ? L : 1 + rng.int(Math.max(L, 1));
    historyLength[b] = Math.min(len, L);
    let t = targetTime[b]! - 1 - rng.int(86400 * 400);
    for (let l = 0; l < historyLength[b]!; l++) {
      historyItem[b * L + l] = 1 + rng.int(numItems);
      historyMask[b * L + l] = 1;
      t += rng.int(Math.floor((targetTime[b]! - t) / 2));
      historyTime[b * L + l] = t;
    }
  }
  const targetContext: Record<string, Int32Array | Float32Array> = {};
  const historyContext: Record<string, Int32Array | Float32Array> = {};
  const itemCtx = new Map<string, Float64Array>();
  for (const f of features) {
    const w = featureWidth(f);
    const draw = (): number => (f.kind === 'numeric' ? rng.next() : 1 + rng.int(f.vocabSize ?? 5));
    const make = (n: number): Int32Array | Float32Array => (f.kind === 'numeric' ? new Float32Array(n) : new Int32Array(n));
    if (f.scope === 'item') {
      // Item-scope values are a function of the item, as in real data.
      const perItem = new Float64Array((numItems + 1) * w);
      for (let i = w; i < perItem.length; i++) perItem[i] = draw();
      itemCtx.set(f.name, perItem);
      const t = make(B * w);
      for (let b = 0; b < B; b++) for (let k = 0; k < w; k++) t[b * w + k] = perItem[targetItem[b]! * w + k]!;
      targetContext[f.name] = t;
      const h = make(B * L * w);
      for (let i = 0; i < B * L; i++) for (let k = 0; k < w; k++) h[i * w + k] = perItem[historyItem[i]! * w + k]!;
      historyContext[f.name] = h;
    } else {
      const h = make(B * L * w);
      for (let i = 0; i < B * L; i++) if (historyMask[i] === 1) for (let k = 0; k < w; k++) h[i * w + k] = draw();
      historyContext[f.name] = h;
    }
  }
  return { size: B, maxLen: L, user, targetItem, targetTime, label, historyItem, historyTime, historyMask, historyLength, targetContext, historyContext };
}

/**
 * `InterestInputs` for a random batch with random (non-trainable) embeddings of width
 * `fusedDim` (fused) and `itemDim` (item only), no context tensors: enough to run any
 * `InterestModule.forward` in a unit test. Call inside `tf.tidy`.
 */
export function randomInterestInputs(
  batch: CtrBatch,
  dims: { itemDim: number; fusedDim: number; numItems?: number; seed?: number; withBias?: boolean },
): { inputs: InterestInputs; prepared: PreparedBatch } {
  const prepared = prepareBatch(batch, { numItems: dims.numItems ?? 1000, features: [], historyWindow: null, shortTermLength: 0 });
  const rng = createRng(dims.seed ?? 3);
  const table = (rows: number, cols: number): Tensor => {
    const v = new Float32Array(rows * cols);
    for (let i = 0; i < v.length; i++) v[i] = rng.normal();
    return tf.tensor2d(v, [rows, cols]);
  };
  const U = prepared.uniqueItem.length;
  const embedded: EmbeddedBatch = {
    targetEmbedding: table(batch.size, dims.fusedDim),
    targetItemEmbedding: table(batch.size, dims.itemDim),
    uniqueEmbedding: table(U, dims.fusedDim),
    uniqueItemEmbedding: table(U, dims.itemDim),
    uniqueLogitBias: dims.withBias === true ? tf.reshape(table(U, 1), [U]) : null,
    targetContext: {},
    uniqueContext: {},
  };
  return { inputs: makeInterestInputs(prepared, embedded, false), prepared };
}
