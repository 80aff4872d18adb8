import { featureWidth } from '@vql/context';
import { createRng } from '@vql/runtime';
import { VqlDataError, checkOptionKeys } from './errors.js';
import type { CtrSampleSet } from './samples.js';
import type { ContextColumn } from './types.js';

/** The batch contract of docs/architecture.md. */
export interface CtrBatch {
  size: number;
  maxLen: number;
  user: Int32Array; // [B]
  targetItem: Int32Array; // [B]
  targetTime: Float64Array; // [B]
  label: Float32Array; // [B]
  historyItem: Int32Array; // [B*L] oldest → newest, 0 after the last real event
  historyTime: Float64Array; // [B*L]
  historyMask: Float32Array; // [B*L]
  historyLength: Int32Array; // [B]
  targetContext: Record<string, ContextColumn>; // item-scope, [B*width]
  historyContext: Record<string, ContextColumn>; // item- and event-scope, [B*L*width]
  trueProb?: Float32Array; // [B]
}

export interface BatchOptions {
  batchSize: number;
  /** L: the newest L history events are kept. */
  maxLen: number;
  shuffle?: boolean;
  seed?: number | string;
  /** Drop a last, smaller batch; default false. */
  dropLast?: boolean;
  /** Fill context features; default true. */
  context?: boolean;
}

function positiveInt(value: number, name: string): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new VqlDataError('INVALID_ARGUMENT', `batches: ${name} must be a positive integer, got ${value}.`);
  }
}

function alloc(like: ContextColumn, n: number): ContextColumn {
  return like instanceof Float32Array ? new Float32Array(n) : new Int32Array(n);
}

/** Builds one padded batch from the samples at `indices`. */
export function makeBatch(samples: CtrSampleSet, indices: ArrayLike<number>, maxLen: number, withContext = true): CtrBatch {
  positiveInt(maxLen, 'maxLen');
  const t = samples.table;
  const B = indices.length;
  const L = maxLen;
  const batch: CtrBatch = {
    size: B,
    maxLen: L,
    user: new Int32Array(B),
    targetItem: new Int32Array(B),
    targetTime: new Float64Array(B),
    label: new Float32Array(B),
    historyItem: new Int32Array(B * L),
    historyTime: new Float64Array(B * L),
    historyMask: new Float32Array(B * L),
    historyLength: new Int32Array(B),
    targetContext: {},
    historyContext: {},
  };
  if (samples.trueProb !== undefined) batch.trueProb = new Float32Array(B);
  const specs = withContext ? t.schema.context : [];
  const itemWidth: number[] = [];
  for (const spec of specs) {
    const width = featureWidth(spec);
    itemWidth.push(width);
    if (spec.scope === 'item') {
      batch.targetContext[spec.name] = alloc(t.itemContext[spec.name]!, B * width);
      batch.historyContext[spec.name] = alloc(t.itemContext[spec.name]!, B * L * width);
    } else {
      batch.historyContext[spec.name] = alloc(t.eventContext[spec.name]!, B * L * width);
    }
  }
  for (let b = 0; b < B; b++) {
    const s = indices[b]!;
    if (!(s >= 0 && s < samples.size)) {
      throw new VqlDataError('INVALID_ARGUMENT', `makeBatch: sample index ${s} out of range [0, ${samples.size}).`);
    }
    const u = samples.user[s]!;
    const end = samples.endOffset[s]!;
    const start = Math.max(t.userOffsets[u]!, end - L);
    const len = end - start;
    const target = samples.targetItem[s]!;
    batch.user[b] = u;
    batch.targetItem[b] = target;
    batch.targetTime[b] = samples.targetTime[s]!;
    batch.label[b] = samples.label[s]!;
    if (batch.trueProb) batch.trueProb[b] = samples.trueProb![s]!;
    batch.historyLength[b] = len;
    const o = b * L;
    batch.historyItem.set(t.item.subarray(start, end), o);
    batch.historyTime.set(t.time.subarray(start, end), o);
    batch.historyMask.fill(1, o, o + len);
    for (let f = 0; f < specs.length; f++) {
      const spec = specs[f]!;
      const w = itemWidth[f]!;
      const hist = batch.historyContext[spec.name]!;
      if (spec.scope === 'event') {
        hist.set(t.eventContext[spec.name]!.subarray(start * w, end * w), o * w);
        continue;
      }
      const table = t.itemContext[spec.name]!;
      batch.targetContext[spec.name]!.set(table.subarray(target * w, target * w + w), b * w);
      if (w === 1) {
        for (let k = 0; k < len; k++) hist[o + k] = table[t.item[start + k]!]!;
      } else {
        for (let k = 0; k < len; k++) {
          const it = t.item[start + k]! * w;
          const dst = (o + k) * w;
          for (let c = 0; c < w; c++) hist[dst + c] = table[it + c]!;
        }
      }
    }
  }
  return batch;
}

/** Number of batches `batches(samples, options)` yields. */
export function batchCount(samples: CtrSampleSet, options: Pick<BatchOptions, 'batchSize' | 'dropLast'>): number {
  positiveInt(options.batchSize, 'batchSize');
  return options.dropLast ? Math.floor(samples.size / options.batchSize) : Math.ceil(samples.size / options.batchSize);
}

/**
 * Padded batches over a sample set for a chosen L; with `shuffle`, the order is a permutation
 * drawn from `createRng(seed)`, so the same seed gives the same batches.
 */
export function batches(samples: CtrSampleSet, options: BatchOptions): Iterable<CtrBatch> {
  checkOptionKeys(options, ['batchSize', 'maxLen', 'shuffle', 'seed', 'dropLast', 'context'], 'batches');
  positiveInt(options.batchSize, 'batchSize');
  positiveInt(options.maxLen, 'maxLen');
  const { batchSize, maxLen } = options;
  const count = batchCount(samples, options);
  const withContext = options.context ?? true;
  const shuffle = options.shuffle ?? false;
  const seed = options.seed ?? 0;
  return {
    *[Symbol.iterator]() {
      let order: Int32Array;
      if (shuffle) order = createRng(seed).permutation(samples.size);
      else {
        order = new Int32Array(samples.size);
        for (let i = 0; i < order.length; i++) order[i] = i;
      }
      for (let k = 0; k < count; k++) {
        yield makeBatch(samples, order.subarray(k * batchSize, Math.min(samples.size, (k + 1) * batchSize)), maxLen, withContext);
      }
    },
  };
}
