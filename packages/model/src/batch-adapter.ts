import { featureWidth } from '@vql/context';
import type { ContextFeatureSpec } from '@vql/context';
import type { CtrBatch } from '@vql/data';
import type { CausalLayout } from './interest-module.js';
import { VqlModelError } from './errors.js';
import type { InterestHostBatch } from './interest-module.js';


export interface AdapterOptions {
  /** Item ids must lie in 1..numItems for targets and 0..numItems in histories. */
  readonly numItems: number;
  readonly features: readonly ContextFeatureSpec[];
  /** Keep only the newest n behaviours of each history (null: keep all L). */
  readonly historyWindow: number | null;
  /** Newest n behaviours for the short-term branch (0: none). */
  readonly shortTermLength: number;
}

/**
 * A `CtrBatch` turned into the host arrays the model uploads: deduplicated history rows,
 * their inverse index, dt in float64 then float32, and the short-term positions. Pure typed
 * arrays, no tfjs, so it can be built ahead of the training step.
 */
export interface PreparedBatch {
  readonly host: InterestHostBatch;
  readonly batchSize: number; // B
  readonly maxLen: number; // L after the window
  readonly label: Float32Array; // [B]
  readonly uniqueItem: Int32Array; // [U], row 0 = padding
  /** Per history feature (item and event scope), [U*width]. */
  readonly uniqueContext: Record<string, Int32Array | Float32Array>;
  readonly inverse: Int32Array; // [B*L]
  readonly dt: Float64Array; // [B*L] seconds
  readonly dt32: Float32Array; // [B*L]
  readonly mask: Float32Array; // [B*L]
  readonly hasHistory: Float32Array; // [B]: 1 when the user has at least one behaviour
  readonly shortTermLength: number; // n
  readonly shortIndex: Int32Array; // [B*n] unique rows of the newest n behaviours (0 = none)
  readonly shortMask: Float32Array; // [B*n]
  /** Set for a whole-history user-grouped batch (`prepareUserBatch`): the rows are its targets, L = 0. */
  readonly causal?: CausalLayout;
}


function checkLength(name: string, actual: number, expected: number): void {
  if (actual !== expected) {
    throw new VqlModelError('INVALID_BATCH', `batch.${name} has ${actual} entries, expected ${expected}.`);
  }
}

/** Validates a batch against the model's vocabulary and context schema; messages name field and index. */
export function validateBatch(batch: CtrBatch, options: AdapterOptions): void {
  const B = batch.size;
  const L = batch.maxLen;
  if (!Number.isInteger(B) || B < 1) throw new VqlModelError('INVALID_BATCH', `batch.size must be a positive integer, got ${B}.`);
  if (!Number.isInteger(L) || L < 0) throw new VqlModelError('INVALID_BATCH', `batch.maxLen must be an integer ≥ 0, got ${L}.`);
  checkLength('targetItem', batch.targetItem.length, B);
  checkLength('targetTime', batch.targetTime.length, B);
  checkLength('label', batch.label.length, B);
  checkLength('historyLength', batch.historyLength.length, B);
  checkLength('historyItem', batch.historyItem.length, B * L);
  checkLength('historyTime', batch.historyTime.length, B * L);
  checkLength('historyMask', batch.historyMask.length, B * L);
  const n = options.numItems;
  for (let b = 0; b < B; b++) {
    const t = batch.targetItem[b]!;
    if (!(t >= 1 && t <= n)) {
      throw new VqlModelError(
        'VOCAB_MISMATCH',
        `batch.targetItem[${b}] = ${t} is outside the model's item vocabulary 1..${n} (numItems); was the model built for another dataset?`,
      );
    }
    const y = batch.label[b]!;
    if (y !== 0 && y !== 1) throw new VqlModelError('INVALID_BATCH', `batch.label[${b}] = ${y}; labels must be 0 or 1.`);
    if (!Number.isFinite(batch.targetTime[b]!)) throw new VqlModelError('INVALID_BATCH', `batch.targetTime[${b}] is ${batch.targetTime[b]}.`);
    const len = batch.historyLength[b]!;
    if (!(len >= 0 && len <= L)) throw new VqlModelError('INVALID_BATCH', `batch.historyLength[${b}] = ${len} is outside 0..${L} (maxLen).`);
  }
  for (let i = 0; i < B * L; i++) {
    const it = batch.historyItem[i]!;
    if (!(it >= 0 && it <= n)) {
      throw new VqlModelError(
        'VOCAB_MISMATCH',
        `batch.historyItem[${i}] (row ${Math.floor(i / Math.max(L, 1))}, position ${i % Math.max(L, 1)}) = ${it} is outside the model's item vocabulary 0..${n}.`,
      );
    }
    const m = batch.historyMask[i]!;
    if (m !== 0 && m !== 1) throw new VqlModelError('INVALID_BATCH', `batch.historyMask[${i}] = ${m}; must be 0 or 1.`);
    if (m === 1 && it === 0) throw new VqlModelError('INVALID_BATCH', `batch.historyItem[${i}] is 0 (padding) where historyMask is 1.`);
  }
  for (const f of options.features) {
    const w = featureWidth(f);
    const h = batch.historyContext[f.name];
    if (h === undefined) throw new VqlModelError('INVALID_BATCH', `batch.historyContext is missing context feature "${f.name}".`);
    checkLength(`historyContext.${f.name}`, h.length, B * L * w);
    if (f.scope === 'item') {
      const t = batch.targetContext[f.name];
      if (t === undefined) throw new VqlModelError('INVALID_BATCH', `batch.targetContext is missing item-scope feature "${f.name}".`);
      checkLength(`targetContext.${f.name}`, t.length, B * w);
    }
  }
}

/** Keeps the newest `window` behaviours of each row (oldest → newest order preserved). */
export function applyHistoryWindow<T extends CtrBatch>(batch: T, window: number, features: readonly ContextFeatureSpec[]): CtrBatch {
  const B = batch.size;
  const L = batch.maxLen;
  if (window >= L) return batch;
  const W = window;
  const historyItem = new Int32Array(B * W);
  const historyTime = new Float64Array(B * W);
  const historyMask = new Float32Array(B * W);
  const historyLength = new Int32Array(B);
  const historyContext: Record<string, Int32Array | Float32Array> = {};
  for (const f of features) {
    const src = batch.historyContext[f.name]!;
    historyContext[f.name] = src instanceof Int32Array ? new Int32Array(B * W * featureWidth(f)) : new Float32Array(B * W * featureWidth(f));
  }
  for (let b = 0; b < B; b++) {
    const len = batch.historyLength[b]!;
    const keep = Math.min(len, W);
    const from = len - keep;
    historyLength[b] = keep;
    for (let j = 0; j < keep; j++) {
      const s = b * L + from + j;
      const d = b * W + j;
      historyItem[d] = batch.historyItem[s]!;
      historyTime[d] = batch.historyTime[s]!;
      historyMask[d] = batch.historyMask[s]!;
    }
    for (const f of features) {
      const w = featureWidth(f);
      const src = batch.historyContext[f.name]!;
      historyContext[f.name]!.set(src.subarray((b * L + from) * w, (b * L + from + keep) * w), b * W * w);
    }
  }
  return { ...batch, maxLen: W, historyItem, historyTime, historyMask, historyLength, historyContext };
}

/**
 * The dedup key of history row i: (item, event context). A mixed-radix integer below `range`
 * when every event column holds non-negative integers and the combined range is exact in a
 * double (the usual case: categorical ids), else a string (`range` null).
 */
function rowKeys(batch: CtrBatch, eventFeatures: readonly ContextFeatureSpec[], N: number): { key: (i: number) => number | string; range: number | null } {
  const cols = eventFeatures.map((f) => ({ data: batch.historyContext[f.name]!, w: featureWidth(f) }));
  let maxItem = 0;
  for (let i = 0; i < N; i++) if (batch.historyItem[i]! > maxItem) maxItem = batch.historyItem[i]!;
  let range = maxItem + 1;
  const radix: number[] = [];
  let integral = true;
  for (const c of cols) {
    let max = 0;
    for (let j = 0; j < c.data.length && integral; j++) {
      const v = c.data[j]!;
      if (!Number.isInteger(v) || v < 0) integral = false;
      else if (v > max) max = v;
    }
    radix.push(max + 1);
    for (let k = 0; k < c.w; k++) range *= max + 1;
  }
  if (cols.length === 0) return { key: (i) => batch.historyItem[i]!, range };
  if (integral && range <= Number.MAX_SAFE_INTEGER) {
    const key = (i: number): number => {
      let k = batch.historyItem[i]!;
      for (let c = 0; c < cols.length; c++) {
        const { data, w } = cols[c]!;
        for (let j = 0; j < w; j++) k = k * radix[c]! + data[i * w + j]!;
      }
      return k;
    };
    return { key, range };
  }
  const key = (i: number): string => {
    let k = String(batch.historyItem[i]!);
    for (const c of cols) for (let j = 0; j < c.w; j++) k += `|${c.data[i * c.w + j]!}`;
    return k;
  };
  return { key, range: null };
}

/**
 * Validates, windows and deduplicates a batch. Unique rows are the distinct items when every
 * context feature is item-scope (the key then depends on the item alone); with event-scope
 * features they are the distinct (item, event context) combinations, keyed by a string — slower
 * on the host, but the device work still scales with U, not B·L.
 */
export function prepareBatch(input: CtrBatch, options: AdapterOptions): PreparedBatch {
  validateBatch(input, options);
  const batch = options.historyWindow !== null ? applyHistoryWindow(input, options.historyWindow, options.features) : input;
  const B = batch.size;
  const L = batch.maxLen;
  const N = B * L;
  const eventFeatures = options.features.filter((f) => f.scope === 'event');
  const inverse = new Int32Array(N);
  const firstPos: number[] = [-1]; // row 0 = padding
  const uniqueItemList: number[] = [0];
  const keys = rowKeys(batch, eventFeatures, N);
  // Dense key → row table when the key range is small (the usual case), else a hash map.
  const dense = keys.range !== null && keys.range <= Math.max(1 << 22, 4 * N) ? new Int32Array(keys.range) : null;
  const rowOfKey = dense === null ? new Map<number | string, number>() : null;
  for (let i = 0; i < N; i++) {
    if (batch.historyMask[i] === 0) continue;
    const k = keys.key(i);
    let r = dense !== null ? dense[k as number]! : (rowOfKey!.get(k) ?? 0);
    if (r === 0) {
      r = uniqueItemList.length;
      if (dense !== null) dense[k as number] = r;
      else rowOfKey!.set(k, r);
      uniqueItemList.push(batch.historyItem[i]!);
      firstPos.push(i);
    }
    inverse[i] = r;
  }
  const U = uniqueItemList.length;
  const uniqueItem = Int32Array.from(uniqueItemList);
  const uniqueContext: Record<string, Int32Array | Float32Array> = {};
  for (const f of options.features) {
    const w = featureWidth(f);
    const src = batch.historyContext[f.name]!;
    const dst = src instanceof Int32Array ? new Int32Array(U * w) : new Float32Array(U * w);
    for (let r = 1; r < U; r++) dst.set(src.subarray(firstPos[r]! * w, (firstPos[r]! + 1) * w), r * w);
    uniqueContext[f.name] = dst;
  }
  const dt = new Float64Array(N);
  const dt32 = new Float32Array(N);
  const mask = new Float32Array(N);
  const hasHistory = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    const tq = batch.targetTime[b]!;
    for (let l = 0; l < L; l++) {
      const i = b * L + l;
      if (batch.historyMask[i] === 0) continue;
      mask[i] = 1;
      hasHistory[b] = 1;
      // Float64 difference first: epoch seconds lose ~128 s of resolution in float32.
      const d = tq - batch.historyTime[i]!;
      if (!(d >= 0)) {
        throw new VqlModelError(
          'INVALID_BATCH',
          `batch row ${b}, position ${l}: history time ${batch.historyTime[i]} is after the target time ${tq} (or not finite); histories must precede the target.`,
        );
      }
      dt[i] = d;
      dt32[i] = d;
    }
  }
  const n = options.shortTermLength;
  const shortIndex = new Int32Array(B * n);
  const shortMask = new Float32Array(B * n);
  if (n > 0) {
    for (let b = 0; b < B; b++) {
      const len = batch.historyLength[b]!;
      const from = Math.max(0, len - n);
      for (let j = 0; from + j < len; j++) {
        const i = b * L + from + j;
        if (batch.historyMask[i] === 0) continue;
        shortIndex[b * n + j] = inverse[i]!;
        shortMask[b * n + j] = 1;
      }
    }
  }
  return {
    host: batch,
    batchSize: B,
    maxLen: L,
    label: batch.label,
    uniqueItem,
    uniqueContext,
    inverse,
    dt,
    dt32,
    mask,
    hasHistory,
    shortTermLength: n,
    shortIndex,
    shortMask,
  };
}
