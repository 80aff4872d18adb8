import { expandUserBatch } from '@vql/data';
import { featureWidth } from '@vql/context';
import type { CtrBatch, UserBatch } from '@vql/data';
import { prepareBatch } from './batch-adapter.js';
import type { AdapterOptions, PreparedBatch } from './batch-adapter.js';
import type { CausalLayout } from './interest-module.js';
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
    let prevStart = 0;
    for (let j = batch.targetOffsets[k]!; j < batch.targetOffsets[k + 1]!; j++) {
      const end = batch.historyEnd[j]!;
      if (!(end >= prev && end <= n)) fail(`historyEnd[${j}] = ${end} must lie in ${prev}..${n} (targets in time order, ends within the user's ${n} events).`);
      prev = end;
      const start = batch.historyStart[j]!;
      if (!(start >= prevStart && start <= end)) fail(`historyStart[${j}] = ${start} must lie in ${prevStart}..${end} (non-decreasing, at most historyEnd).`);
      prevStart = start;
      if (end > 0 && !(batch.historyTime[e0 + end - 1]! <= batch.targetTime[j]!)) {
        fail(`target ${j} at time ${batch.targetTime[j]} sees an event at ${batch.historyTime[e0 + end - 1]}; histories must precede the target.`);
      }
    }
  }
}

/**
 * A user batch as the model's `PreparedBatch` for the causal scan: the unique
 * behaviour rows of all events (deduplicated exactly as per-sample batches are, through
 * `prepareBatch` on the events as one row), the targets as the batch rows, no per-position
 * arrays (L = 0) and the `causal` layout that `VqlAttention` reads. Each target sees its events
 * [historyStart, historyEnd), cut further to the newest `options.historyWindow` when set.
 */
export function prepareUserBatch(batch: UserBatch, options: AdapterOptions): PreparedBatch {
  validateUserBatch(batch, options);
  const T = batch.size;
  const seen = windowedEvents(batch, options.historyWindow);
  const E = seen.historyItem.length;
  let tMax = 0;
  for (let i = 0; i < E; i++) tMax = Math.max(tMax, seen.historyTime[i]!);
  // Every event as one row: the same validation and deduplication as per-sample batches.
  const events: CtrBatch = {
    size: 1,
    maxLen: E,
    user: Int32Array.of(0),
    targetItem: Int32Array.of(batch.targetItem[0]!),
    targetTime: Float64Array.of(tMax),
    label: Float32Array.of(0),
    historyItem: seen.historyItem,
    historyTime: seen.historyTime,
    historyMask: new Float32Array(E).fill(1),
    historyLength: Int32Array.of(E),
    targetContext: Object.fromEntries(options.features.filter((f) => f.scope === 'item').map((f) => [f.name, batch.targetContext[f.name]!.subarray(0, featureWidth(f))])),
    historyContext: seen.historyContext,
  };
  const rows = prepareBatch(events, { ...options, historyWindow: null, shortTermLength: 0 });
  // The targets, as the rows of the batch (validated through the same checks, with L = 0).
  const emptyContext: Record<string, Int32Array | Float32Array> = {};
  for (const f of options.features) emptyContext[f.name] = batch.historyContext[f.name] instanceof Float32Array ? new Float32Array(0) : new Int32Array(0);
  const historyLength = new Int32Array(T);
  const hasHistory = new Float32Array(T);
  for (let j = 0; j < T; j++) {
    historyLength[j] = seen.historyEnd[j]! - seen.historyStart[j]!;
    hasHistory[j] = historyLength[j]! > 0 ? 1 : 0;
  }
  const host: CtrBatch = {
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
    eventOffsets: seen.eventOffsets,
    eventRow: rows.inverse,
    eventTime: seen.historyTime,
    targetOffsets: batch.targetOffsets,
    targetTime: batch.targetTime,
    historyEnd: seen.historyEnd,
    ...(seen.windowed ? { historyStart: seen.historyStart } : {}),
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
 * The events some target sees — [historyStart, historyEnd), cut to the newest `window` when set
 * — with the targets' ranges renumbered: events no target sees would still enter the batch's
 * unique rows (and so its VQ loss), which per-sample rows of the same windows never hold.
 */
function windowedEvents(batch: UserBatch, window: number | null): {
  eventOffsets: Int32Array;
  historyItem: Int32Array;
  historyTime: Float64Array;
  historyContext: Record<string, Int32Array | Float32Array>;
  historyStart: Int32Array;
  historyEnd: Int32Array;
  windowed: boolean;
} {
  const T = batch.size;
  const E = batch.historyItem.length;
  const start = new Int32Array(T);
  let windowed = false;
  for (let j = 0; j < T; j++) {
    start[j] = window === null ? batch.historyStart[j]! : Math.max(batch.historyStart[j]!, batch.historyEnd[j]! - window);
    if (start[j]! > 0) windowed = true;
  }
  if (!windowed) {
    return { eventOffsets: batch.eventOffsets, historyItem: batch.historyItem, historyTime: batch.historyTime, historyContext: batch.historyContext, historyStart: start, historyEnd: batch.historyEnd, windowed };
  }
  // rank[i] = covered events before event i (per user, so relative indices renumber directly).
  const keep = new Uint8Array(E);
  const rank = new Int32Array(E + batch.numUsers);
  const eventOffsets = new Int32Array(batch.numUsers + 1);
  for (let k = 0; k < batch.numUsers; k++) {
    const e0 = batch.eventOffsets[k]!;
    let covered = e0; // first event not yet marked
    for (let j = batch.targetOffsets[k]!; j < batch.targetOffsets[k + 1]!; j++) {
      for (let i = Math.max(covered, e0 + start[j]!); i < e0 + batch.historyEnd[j]!; i++) keep[i] = 1;
      covered = Math.max(covered, e0 + batch.historyEnd[j]!);
    }
    let n = 0;
    for (let i = e0; i < batch.eventOffsets[k + 1]!; i++) {
      rank[i + k] = n;
      n += keep[i]!;
    }
    rank[batch.eventOffsets[k + 1]! + k] = n;
    eventOffsets[k + 1] = eventOffsets[k]! + n;
  }
  const M = eventOffsets[batch.numUsers]!;
  const historyItem = new Int32Array(M);
  const historyTime = new Float64Array(M);
  const historyContext: Record<string, Int32Array | Float32Array> = {};
  const cols = Object.entries(batch.historyContext).map(([name, col]) => {
    const w = E === 0 ? 0 : col.length / E;
    const out = col instanceof Float32Array ? new Float32Array(M * w) : new Int32Array(M * w);
    historyContext[name] = out;
    return { col, out, w };
  });
  let o = 0;
  for (let i = 0; i < E; i++) {
    if (keep[i] === 0) continue;
    historyItem[o] = batch.historyItem[i]!;
    historyTime[o] = batch.historyTime[i]!;
    for (const c of cols) c.out.set(c.col.subarray(i * c.w, (i + 1) * c.w), o * c.w);
    o++;
  }
  const historyStart = new Int32Array(T);
  const historyEnd = new Int32Array(T);
  for (let k = 0; k < batch.numUsers; k++) {
    const e0 = batch.eventOffsets[k]!;
    for (let j = batch.targetOffsets[k]!; j < batch.targetOffsets[k + 1]!; j++) {
      historyStart[j] = rank[e0 + start[j]! + k]!;
      historyEnd[j] = rank[e0 + batch.historyEnd[j]! + k]!;
    }
  }
  return { eventOffsets, historyItem, historyTime, historyContext, historyStart, historyEnd, windowed };
}

/**
 * How `CtrModel.prepare` turns a user batch into a `PreparedBatch`: the causal scan when the
 * interest module supports it (whole histories or the model's newest L, both as a scan) and no
 * short-term branch needs per-position rows; otherwise the per-sample expansion, windowed to the
 * model's newest-L policy.
 */
export function prepareUserBatchFor(batch: UserBatch, options: AdapterOptions & { readonly causal: boolean }): PreparedBatch {
  const { causal, ...adapter } = options;
  if (causal && options.shortTermLength === 0) return prepareUserBatch(batch, adapter);
  return prepareBatch(expandUserBatch(batch, options.historyWindow ?? undefined), adapter);
}
