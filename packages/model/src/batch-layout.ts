import { batchCount, batches, userBatchCount, userBatches } from '@vql/data';
import type { CtrBatch, CtrSampleSet, UserBatch } from '@vql/data';
import type { CtrModel } from './ctr-model.js';
import { VqlModelError } from './errors.js';

/**
 * How training and evaluation batch a sample set: `sample` = padded per-sample rows of the
 * newest `maxLen` behaviours; `user` = user-grouped batches (DESIGN §2b) carrying the model's
 * history policy (whole histories, or its newest L): VQL then trains and scores each target on
 * the same behaviours a per-user cache serves it from, in one scan per user.
 */
export type BatchLayout = 'sample' | 'user';

export interface LayoutBatchOptions {
  readonly layout: BatchLayout;
  readonly batchSize: number;
  /** Newest behaviours per sample row (`sample` layout only; `user` follows the model's policy). */
  readonly maxLen: number;
  /** `user` layout: at most this many targets of one user per batch (default batchSize; see `userBatches`). */
  readonly userChunk?: number | null;
  readonly shuffle?: boolean;
  readonly seed?: number;
}

export function checkLayout(where: string, layout: unknown): BatchLayout {
  if (layout !== 'sample' && layout !== 'user') throw new VqlModelError('INVALID_ARGUMENT', `${where}: layout must be 'sample' or 'user', got ${JSON.stringify(layout)}.`);
  return layout;
}

function userWindow(model: CtrModel): number | null {
  const p = model.config.historyPolicy;
  return p.kind === 'whole' ? null : p.length;
}

/** The batches of `samples` in the chosen layout; each has `size` targets and `label`s. */
export function layoutBatches(model: CtrModel, samples: CtrSampleSet, o: LayoutBatchOptions): Iterable<CtrBatch | UserBatch> {
  const shuffle = o.shuffle ?? false;
  const seed = o.seed ?? 0;
  if (o.layout === 'user') {
    return userBatches(samples, { batchSize: o.batchSize, maxLen: userWindow(model), shuffle, seed, ...(o.userChunk != null ? { userChunk: o.userChunk } : {}) });
  }
  return batches(samples, { batchSize: o.batchSize, maxLen: o.maxLen, shuffle, seed });
}

export function layoutBatchCount(samples: CtrSampleSet, o: Pick<LayoutBatchOptions, 'layout' | 'batchSize' | 'userChunk'>): number {
  if (o.layout === 'user') return userBatchCount(samples, { batchSize: o.batchSize, ...(o.userChunk != null ? { userChunk: o.userChunk } : {}) });
  return batchCount(samples, { batchSize: o.batchSize });
}

/** Sample index of every row of a batch (user batches reorder; per-sample batches are in order from `offset`). */
export function rowSamples(batch: CtrBatch | UserBatch, offset: number): ArrayLike<number> {
  if ('layout' in batch && batch.layout === 'user') return batch.sampleIndex;
  return Int32Array.from({ length: batch.size }, (_, i) => offset + i);
}
