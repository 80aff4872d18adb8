import { featureWidth } from '@vql/context';
import { createRng } from '@vql/runtime';
import type { CtrBatch } from './batches.js';
import { VqlDataError, checkOptionKeys } from './errors.js';
import type { CtrSampleSet } from './samples.js';
import type { ContextColumn } from './types.js';

/**
 * A user-grouped batch (DESIGN §2b): a set of users, each with its targets in time order and its
 * history read once. Events of user k are rows [eventOffsets[k], eventOffsets[k+1]) of the
 * history arrays (oldest → newest); its targets are rows [targetOffsets[k], targetOffsets[k+1])
 * of the target arrays, sorted by time, and target j sees the user's events
 * [historyStart[j], historyEnd[j]) (indices relative to the user's first event).
 */
export interface UserBatch {
  readonly layout: 'user';
  /** T: targets in the batch. */
  readonly size: number;
  /** Newest-L window the batch was built with; null = whole history. */
  readonly window: number | null;
  readonly numUsers: number; // Bu
  readonly users: Int32Array; // [Bu]
  readonly eventOffsets: Int32Array; // [Bu+1]
  readonly historyItem: Int32Array; // [E]
  readonly historyTime: Float64Array; // [E] seconds, non-decreasing within a user
  /** Item- and event-scope context of every event, [E*width]. */
  readonly historyContext: Record<string, ContextColumn>;
  readonly targetOffsets: Int32Array; // [Bu+1]
  readonly user: Int32Array; // [T]
  readonly targetItem: Int32Array; // [T]
  readonly targetTime: Float64Array; // [T]
  readonly label: Float32Array; // [T]
  /** Item-scope context of the targets, [T*width]. */
  readonly targetContext: Record<string, ContextColumn>;
  readonly historyStart: Int32Array; // [T] relative to the user's first event
  readonly historyEnd: Int32Array; // [T] exclusive; every event before it precedes the target in time
  /** Index of each target in the sample set (batches reorder samples). */
  readonly sampleIndex: Int32Array; // [T]
  readonly trueProb?: Float32Array; // [T]
}

export interface UserBatchOptions {
  /** Target budget per batch: whole users are packed until the next would exceed it; a user with more targets is split into chunks of this size. */
  batchSize: number;
  /** Newest-L history per target; null or absent = whole history. */
  maxLen?: number | null;
  /**
   * At most this many targets of one user per batch (default batchSize). Smaller chunks put
   * more users in a batch (less correlated gradients) at the price of reading a user's history
   * once per chunk instead of once per epoch.
   */
  userChunk?: number;
  /** Shuffle the order of users (targets of a user stay in time order). Default false. */
  shuffle?: boolean;
  seed?: number | string;
  /** Fill context features; default true. */
  context?: boolean;
}

const KNOWN = ['batchSize', 'maxLen', 'userChunk', 'shuffle', 'seed', 'context'];

/** Samples of each user sorted by (target time, history end, sample index), as chunks of at most `batchSize` targets. */
interface Chunk {
  user: number;
  samples: Int32Array;
}

function checkOptions(options: UserBatchOptions, where: string): { batchSize: number; maxLen: number | null; chunk: number } {
  checkOptionKeys(options, KNOWN, where);
  if (options == null) throw new VqlDataError('INVALID_ARGUMENT', `${where}: options with a batchSize are required.`);
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new VqlDataError('INVALID_ARGUMENT', `${where}: batchSize must be a positive integer, got ${batchSize}.`);
  const maxLen = options.maxLen ?? null;
  if (maxLen !== null && (!Number.isInteger(maxLen) || maxLen <= 0)) {
    throw new VqlDataError('INVALID_ARGUMENT', `${where}: maxLen must be a positive integer or null (whole history), got ${maxLen}.`);
  }
  const chunk = options.userChunk ?? batchSize;
  if (!Number.isInteger(chunk) || chunk <= 0 || chunk > batchSize) {
    throw new VqlDataError('INVALID_ARGUMENT', `${where}: userChunk must be an integer in 1..batchSize (${batchSize}), got ${chunk}.`);
  }
  return { batchSize, maxLen, chunk };
}

function userChunks(samples: CtrSampleSet, batchSize: number): Chunk[] {
  const byUser = new Map<number, number[]>();
  for (let s = 0; s < samples.size; s++) {
    const u = samples.user[s]!;
    let list = byUser.get(u);
    if (list === undefined) byUser.set(u, (list = []));
    list.push(s);
  }
  const chunks: Chunk[] = [];
  for (const u of [...byUser.keys()].sort((a, b) => a - b)) {
    const list = byUser.get(u)!;
    list.sort((a, b) => samples.targetTime[a]! - samples.targetTime[b]! || samples.endOffset[a]! - samples.endOffset[b]! || a - b);
    for (let i = 0; i < list.length; i += batchSize) chunks.push({ user: u, samples: Int32Array.from(list.slice(i, i + batchSize)) });
  }
  return chunks;
}

/** Consecutive chunks packed into batches of at most `batchSize` targets. */
function pack(chunks: Chunk[], order: ArrayLike<number>, batchSize: number): Chunk[][] {
  const out: Chunk[][] = [];
  let current: Chunk[] = [];
  let count = 0;
  for (let k = 0; k < order.length; k++) {
    const c = chunks[order[k]!]!;
    if (count + c.samples.length > batchSize && current.length > 0) {
      out.push(current);
      current = [];
      count = 0;
    }
    current.push(c);
    count += c.samples.length;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Builds one user-grouped batch from chunks (each: one user's samples in time order). */
function makeUserBatch(samples: CtrSampleSet, chunks: readonly Chunk[], maxLen: number | null, withContext: boolean): UserBatch {
  const t = samples.table;
  const Bu = chunks.length;
  const T = chunks.reduce((a, c) => a + c.samples.length, 0);
  const users = new Int32Array(Bu);
  const eventOffsets = new Int32Array(Bu + 1);
  const targetOffsets = new Int32Array(Bu + 1);
  const from = new Int32Array(Bu); // first table row of each user's slice
  for (let k = 0; k < Bu; k++) {
    const c = chunks[k]!;
    const u = c.user;
    users[k] = u;
    const lo = t.userOffsets[u]!;
    let start = Number.MAX_SAFE_INTEGER;
    let end = lo;
    for (const s of c.samples) {
      const e = samples.endOffset[s]!;
      if (!(e >= lo && e <= t.userOffsets[u + 1]!)) {
        throw new VqlDataError('INVALID_ARGUMENT', `userBatches: sample ${s} has endOffset ${e} outside user ${u}'s rows [${lo}, ${t.userOffsets[u + 1]}].`);
      }
      start = Math.min(start, maxLen === null ? lo : Math.max(lo, e - maxLen));
      end = Math.max(end, e);
    }
    if (start > end) start = end;
    from[k] = start;
    eventOffsets[k + 1] = eventOffsets[k]! + (end - start);
    targetOffsets[k + 1] = targetOffsets[k]! + c.samples.length;
  }
  const E = eventOffsets[Bu]!;
  const specs = withContext ? t.schema.context : [];
  const widths = specs.map((s) => featureWidth(s));
  const alloc = (like: ContextColumn, n: number): ContextColumn => (like instanceof Float32Array ? new Float32Array(n) : new Int32Array(n));
  const historyContext: Record<string, ContextColumn> = {};
  const targetContext: Record<string, ContextColumn> = {};
  specs.forEach((spec, f) => {
    const source = spec.scope === 'item' ? t.itemContext[spec.name]! : t.eventContext[spec.name]!;
    historyContext[spec.name] = alloc(source, E * widths[f]!);
    if (spec.scope === 'item') targetContext[spec.name] = alloc(source, T * widths[f]!);
  });
  const historyItem = new Int32Array(E);
  const historyTime = new Float64Array(E);
  const batch: UserBatch = {
    layout: 'user',
    size: T,
    window: maxLen,
    numUsers: Bu,
    users,
    eventOffsets,
    historyItem,
    historyTime,
    historyContext,
    targetOffsets,
    user: new Int32Array(T),
    targetItem: new Int32Array(T),
    targetTime: new Float64Array(T),
    label: new Float32Array(T),
    targetContext,
    historyStart: new Int32Array(T),
    historyEnd: new Int32Array(T),
    sampleIndex: new Int32Array(T),
    ...(samples.trueProb !== undefined ? { trueProb: new Float32Array(T) } : {}),
  };
  for (let k = 0; k < Bu; k++) {
    const start = from[k]!;
    const o = eventOffsets[k]!;
    const n = eventOffsets[k + 1]! - o;
    historyItem.set(t.item.subarray(start, start + n), o);
    historyTime.set(t.time.subarray(start, start + n), o);
    specs.forEach((spec, f) => {
      const w = widths[f]!;
      const dst = historyContext[spec.name]!;
      if (spec.scope === 'event') {
        dst.set(t.eventContext[spec.name]!.subarray(start * w, (start + n) * w), o * w);
        return;
      }
      const table = t.itemContext[spec.name]!;
      for (let i = 0; i < n; i++) dst.set(table.subarray(t.item[start + i]! * w, (t.item[start + i]! + 1) * w), (o + i) * w);
    });
    const c = chunks[k]!;
    for (let i = 0; i < c.samples.length; i++) {
      const s = c.samples[i]!;
      const j = targetOffsets[k]! + i;
      const end = samples.endOffset[s]! - start;
      batch.user[j] = c.user;
      batch.targetItem[j] = samples.targetItem[s]!;
      batch.targetTime[j] = samples.targetTime[s]!;
      batch.label[j] = samples.label[s]!;
      batch.historyEnd[j] = end;
      batch.historyStart[j] = maxLen === null ? 0 : Math.max(0, end - maxLen);
      batch.sampleIndex[j] = s;
      if (batch.trueProb !== undefined) batch.trueProb[j] = samples.trueProb![s]!;
      specs.forEach((spec, f) => {
        if (spec.scope !== 'item') return;
        const w = widths[f]!;
        const item = samples.targetItem[s]!;
        targetContext[spec.name]!.set(t.itemContext[spec.name]!.subarray(item * w, (item + 1) * w), j * w);
      });
    }
  }
  return batch;
}

/** Number of batches `userBatches(samples, options)` yields (independent of the shuffle). */
export function userBatchCount(samples: CtrSampleSet, options: UserBatchOptions): number {
  const { batchSize, chunk } = checkOptions(options, 'userBatchCount');
  const chunks = userChunks(samples, chunk);
  const order = new Int32Array(chunks.length).map((_, i) => i);
  return pack(chunks, order, batchSize).length;
}

/**
 * User-grouped batches over a sample set (DESIGN §2b). Every sample appears exactly once; users
 * are whole within a batch unless they hold more than `batchSize` targets. With `shuffle`, the
 * order of users (chunks) is a permutation drawn from `createRng(seed)`. Batch sizes vary: the
 * budget is a maximum (a single user above it is split, so no batch exceeds it).
 */
export function userBatches(samples: CtrSampleSet, options: UserBatchOptions): Iterable<UserBatch> {
  const { batchSize, maxLen, chunk } = checkOptions(options, 'userBatches');
  const withContext = options.context ?? true;
  const shuffle = options.shuffle ?? false;
  const seed = options.seed ?? 0;
  return {
    *[Symbol.iterator]() {
      const chunks = userChunks(samples, chunk);
      const order = shuffle ? createRng(seed).permutation(chunks.length) : new Int32Array(chunks.length).map((_, i) => i);
      for (const group of pack(chunks, order, batchSize)) yield makeUserBatch(samples, group, maxLen, withContext);
    },
  };
}

/**
 * The per-sample (padded) form of a user batch, for interest modules that attend per position:
 * target j gets its user's events [max(historyStart, historyEnd − maxLen), historyEnd). `maxLen`
 * defaults to the batch's window, or the longest history of the batch for a whole-history batch.
 */
export function expandUserBatch(batch: UserBatch, maxLen?: number): CtrBatch {
  const T = batch.size;
  let L = maxLen ?? batch.window ?? 0;
  if (maxLen === undefined && batch.window === null) for (let j = 0; j < T; j++) L = Math.max(L, batch.historyEnd[j]! - batch.historyStart[j]!);
  if (!Number.isInteger(L) || L < 0) throw new VqlDataError('INVALID_ARGUMENT', `expandUserBatch: maxLen must be an integer ≥ 0, got ${L}.`);
  const names = Object.keys(batch.historyContext);
  const widthOf = (name: string): number => batch.historyContext[name]!.length / Math.max(batch.historyItem.length, 1);
  const out: CtrBatch = {
    size: T,
    maxLen: L,
    user: Int32Array.from(batch.user),
    targetItem: Int32Array.from(batch.targetItem),
    targetTime: Float64Array.from(batch.targetTime),
    label: Float32Array.from(batch.label),
    historyItem: new Int32Array(T * L),
    historyTime: new Float64Array(T * L),
    historyMask: new Float32Array(T * L),
    historyLength: new Int32Array(T),
    targetContext: {},
    historyContext: {},
  };
  for (const [name, col] of Object.entries(batch.targetContext)) out.targetContext[name] = col.slice();
  for (const name of names) {
    const col = batch.historyContext[name]!;
    out.historyContext[name] = col instanceof Float32Array ? new Float32Array(T * L * widthOf(name)) : new Int32Array(T * L * widthOf(name));
  }
  if (batch.trueProb !== undefined) out.trueProb = Float32Array.from(batch.trueProb);
  for (let k = 0; k < batch.numUsers; k++) {
    const base = batch.eventOffsets[k]!;
    for (let j = batch.targetOffsets[k]!; j < batch.targetOffsets[k + 1]!; j++) {
      const end = batch.historyEnd[j]!;
      const start = Math.max(batch.historyStart[j]!, end - L);
      const len = end - start;
      out.historyLength[j] = len;
      out.historyItem.set(batch.historyItem.subarray(base + start, base + end), j * L);
      out.historyTime.set(batch.historyTime.subarray(base + start, base + end), j * L);
      out.historyMask.fill(1, j * L, j * L + len);
      for (const name of names) {
        const w = widthOf(name);
        out.historyContext[name]!.set(batch.historyContext[name]!.subarray((base + start) * w, (base + end) * w), j * L * w);
      }
    }
  }
  return out;
}

/** True when `batch` is a user-grouped batch (rather than a per-sample `CtrBatch`). */
export function isUserBatch(batch: unknown): batch is UserBatch {
  return typeof batch === 'object' && batch !== null && (batch as { layout?: unknown }).layout === 'user';
}
