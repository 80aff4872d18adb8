import { expandUserBatch } from '@vql/data';
import type { UserBatch } from '@vql/data';
import { featureWidth, prepareBatch } from './batch-adapter.js';
import type { AdapterOptions, CtrBatchLike, PreparedBatch } from './batch-adapter.js';
import type { CausalLayout } from './causal-cache-attention.js';
import { VqlModelError } from './errors.js';

function fail(message: string): never {
  throw new VqlModelError('INVALID_BATCH', `user batch: ${message}`);
}

/** Checks the user-batch invariants the causal scan relies on; messages name the field and index. */
export function validateUserBatch(batch: UserBatch, options: AdapterOptions): void {
  const T = batch.size;
  const Bu = batch.numUsers;
  if (!Number.isInteger(T) || T < 1) fail(`size must be a positive integer, got ${T}.`);
  const len = (name: string, a: { length: number }, n: number): void => {
    if (a.length !== n) fail(`${name} has ${a.length} entries, expected ${n}.`);
  };
  len('eventOffsets', batch.eventOffsets, Bu + 1);
  len('targetOffsets', batch.targetOffsets, Bu + 1);
  const E = batch.eventOffsets[Bu]!;
  len('historyItem', batch.historyItem, E);
  len('historyTime', batch.historyTime, E);
  for (const name of ['user', 'targetItem', 'targetTime', 'label', 'historyStart', 'historyEnd', 'sampleIndex'] as const) len(name, batch[name], T);
  if (batch.targetOffsets[Bu] !== T || batch.targetOffsets[0] !== 0 || batch.eventOffsets[0] !== 0) fail('targetOffsets / eventOffsets must start at 0 and end at size / the event count.');
  for (const f of options.features) {
    if (f.scope !== 'item') continue;
    const col = batch.targetContext[f.name];
    if (col === undefined) fail(`targetContext is missing item-scope feature "${f.name}".`);
    len(`targetContext.${f.name}`, col, T * featureWidth(f));
  }
  for (let k = 0; k < Bu; k++) {
    const e0 = batch.eventOffsets[k]!;
    const n = batch.eventOffsets[k + 1]! - e0;
    if (n < 0) fail(`eventOffsets must be non-decreasing (user row ${k}).`);
    for (let i = e0 + 1; i < e0 + n; i++) {
      if (!(batch.historyTime[i]! >= batch.historyTime[i - 1]!)) fail(`historyTime[${i}] = ${batch.historyTime[i]} is before the previous event of its user; events must be in time order.`);
    }
    let prev = 0;
    for (let j = batch.targetOffsets[k]!; j < batch.targetOffsets[k + 1]!; j++) {
      const end = batch.historyEnd[j]!;
      if (!(end >= prev && end <= n)) fail(`historyEnd[${j}] = ${end} must lie in ${prev}..${n} (targets in time order, ends within the user's ${n} events).`);
      prev = end;
      if (end > 0 && !(batch.historyTime[e0 + end - 1]! <= batch.targetTime[j]!)) {
        fail(`target ${j} at time ${batch.targetTime[j]} sees an event at ${batch.historyTime[e0 + end - 1]}; histories must precede the target.`);
      }
    }
  }
}

/**
 * A whole-history user batch as the model's `PreparedBatch` for the causal scan: the unique
 * behaviour rows of all events (deduplicated exactly as per-sample batches are, through
 * `prepareBatch` on the events as one row), the targets as the batch rows, no per-position
 * arrays (L = 0) and the `causal` layout that `VqlAttention` reads.
 */
export function prepareUserBatch(batch: UserBatch, options: AdapterOptions): PreparedBatch {
  if (batch.window !== null) {
    throw new VqlModelError('INVALID_BATCH', `prepareUserBatch: the causal scan needs a whole-history user batch (window null), got window ${batch.window}; expand it with expandUserBatch instead.`);
  }
  validateUserBatch(batch, options);
  const T = batch.size;
  const E = batch.historyItem.length;
  let tMax = 0;
  for (let i = 0; i < E; i++) tMax = Math.max(tMax, batch.historyTime[i]!);
  // Every event as one row: the same validation and deduplication as per-sample batches.
  const events: CtrBatchLike = {
    size: 1,
    maxLen: E,
    user: Int32Array.of(0),
    targetItem: Int32Array.of(batch.targetItem[0]!),
    targetTime: Float64Array.of(tMax),
    label: Float32Array.of(0),
    historyItem: batch.historyItem,
    historyTime: batch.historyTime,
    historyMask: new Float32Array(E).fill(1),
    historyLength: Int32Array.of(E),
    targetContext: Object.fromEntries(options.features.filter((f) => f.scope === 'item').map((f) => [f.name, batch.targetContext[f.name]!.subarray(0, featureWidth(f))])),
    historyContext: batch.historyContext,
  };
  const rows = prepareBatch(events, { ...options, historyWindow: null, shortTermLength: 0 });
  // The targets, as the rows of the batch (validated through the same checks, with L = 0).
  const emptyContext: Record<string, Int32Array | Float32Array> = {};
  for (const f of options.features) emptyContext[f.name] = batch.historyContext[f.name] instanceof Float32Array ? new Float32Array(0) : new Int32Array(0);
  const historyLength = new Int32Array(T);
  const hasHistory = new Float32Array(T);
  for (let j = 0; j < T; j++) {
    historyLength[j] = batch.historyEnd[j]!;
    hasHistory[j] = historyLength[j]! > 0 ? 1 : 0;
  }
  const host: CtrBatchLike = {
    size: T,
    maxLen: 0,
    user: batch.user,
    targetItem: batch.targetItem,
    targetTime: batch.targetTime,
    label: batch.label,
    historyItem: new Int32Array(0),
    historyTime: new Float64Array(0),
    historyMask: new Float32Array(0),
    historyLength,
    targetContext: batch.targetContext,
    historyContext: emptyContext,
  };
  const targets = prepareBatch({ ...host, historyLength: new Int32Array(T) }, { ...options, historyWindow: null, shortTermLength: 0 });
  const causal: CausalLayout = {
    numUsers: batch.numUsers,
    eventOffsets: batch.eventOffsets,
    eventRow: rows.inverse,
    eventTime: batch.historyTime,
    targetOffsets: batch.targetOffsets,
    targetTime: batch.targetTime,
    historyEnd: batch.historyEnd,
  };
  return {
    ...targets,
    host,
    uniqueItem: rows.uniqueItem,
    uniqueContext: rows.uniqueContext,
    hasHistory,
    causal,
  };
}

/**
 * How `CtrModel.prepare` turns a user batch into a `PreparedBatch`: the causal scan when the
 * interest module supports it and the model and batch both take whole histories (and no
 * short-term branch needs per-position rows); otherwise the per-sample expansion, windowed to
 * the model's newest-L policy.
 */
export function prepareUserBatchFor(batch: UserBatch, options: AdapterOptions & { readonly causal: boolean }): PreparedBatch {
  const { causal, ...adapter } = options;
  if (causal && batch.window === null && options.historyWindow === null && options.shortTermLength === 0) return prepareUserBatch(batch, adapter);
  return prepareBatch(expandUserBatch(batch, options.historyWindow ?? undefined), adapter);
}
