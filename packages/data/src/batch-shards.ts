import { VqlDataError } from './errors.js';
import type { CtrBatch } from './batches.js';
import type { ContextColumn } from './types.js';
import type { UserBatch } from './user-batches.js';

// Contiguous pieces of one batch, for data-parallel training: each shard's loss and gradient are
// those of its rows, so a size-weighted sum of the shards' gradients is the batch's.

function checkRange(where: string, from: number, to: number, size: number): void {
  if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from < to && to <= size)) {
    throw new VqlDataError('INVALID_ARGUMENT', `${where}: rows [${from}, ${to}) must be a non-empty range within the batch's ${size}.`);
  }
}

/** Columns of `rows` rows, each `width = length / rows` wide, cut to rows [from, to). */
function sliceColumns(cols: Readonly<Record<string, ContextColumn>>, rows: number, from: number, to: number): Record<string, ContextColumn> {
  const out: Record<string, ContextColumn> = {};
  for (const [name, col] of Object.entries(cols)) {
    const w = rows === 0 ? 0 : col.length / rows;
    out[name] = col.slice(from * w, to * w);
  }
  return out;
}

/** Rows [from, to) of a per-sample batch (same maxLen), as a batch of its own. */
export function sliceBatch(batch: CtrBatch, from: number, to: number): CtrBatch {
  const B = batch.size;
  const L = batch.maxLen;
  checkRange('sliceBatch', from, to, B);
  return {
    size: to - from,
    maxLen: L,
    user: batch.user.slice(from, to),
    targetItem: batch.targetItem.slice(from, to),
    targetTime: batch.targetTime.slice(from, to),
    label: batch.label.slice(from, to),
    historyItem: batch.historyItem.slice(from * L, to * L),
    historyTime: batch.historyTime.slice(from * L, to * L),
    historyMask: batch.historyMask.slice(from * L, to * L),
    historyLength: batch.historyLength.slice(from, to),
    targetContext: sliceColumns(batch.targetContext, B, from, to),
    historyContext: sliceColumns(batch.historyContext, B * L, from * L, to * L),
    ...(batch.trueProb !== undefined ? { trueProb: batch.trueProb.slice(from, to) } : {}),
  };
}

/**
 * Calls `visit(k, events)` for each user k that targets [from, to) of a user batch belong to, in
 * order, with the number of its events a slice keeps: up to the last one its kept targets see
 * (historyEnd is non-decreasing within a user). No allocation: data-parallel steps call it often.
 */
function forEachSlicedUser(batch: UserBatch, from: number, to: number, visit: (k: number, events: number) => void): void {
  for (let k = 0; k < batch.numUsers; k++) {
    if (batch.targetOffsets[k]! >= to || batch.targetOffsets[k + 1]! <= from) continue;
    visit(k, batch.historyEnd[Math.min(to, batch.targetOffsets[k + 1]!) - 1]!);
  }
}

/**
 * Events `sliceUserBatch(batch, from, to)` holds (a user cut between slices counts in each), without
 * building the slice: what data-parallel training balances its shards on.
 */
export function userSliceEventCount(batch: UserBatch, from: number, to: number): number {
  checkRange('userSliceEventCount', from, to, batch.size);
  let events = 0;
  forEachSlicedUser(batch, from, to, (_, n) => (events += n));
  return events;
}

/**
 * Targets [from, to) of a user batch (in its order: users, then each user's targets in time),
 * as a user batch of its own: the users those targets belong to, each with its events up to the
 * last one its kept targets see. A user cut between two slices keeps its events in both (each
 * slice scans them again); every target sees exactly the history it saw in the whole batch.
 */
export function sliceUserBatch(batch: UserBatch, from: number, to: number): UserBatch {
  checkRange('sliceUserBatch', from, to, batch.size);
  const Bu = batch.numUsers;
  const kept: number[] = [];
  const keptEvents: number[] = [];
  forEachSlicedUser(batch, from, to, (k, events) => {
    kept.push(k);
    keptEvents.push(events);
  });
  const eventOffsets = new Int32Array(kept.length + 1);
  const targetOffsets = new Int32Array(kept.length + 1);
  const eventRanges: Array<[number, number]> = [];
  kept.forEach((k, i) => {
    const e0 = batch.eventOffsets[k]!;
    eventRanges.push([e0, e0 + keptEvents[i]!]);
    eventOffsets[i + 1] = eventOffsets[i]! + keptEvents[i]!;
    targetOffsets[i + 1] = Math.min(to, batch.targetOffsets[k + 1]!) - from;
  });
  const E = eventOffsets[kept.length]!;
  const events = <T extends Int32Array | Float32Array | Float64Array>(col: T, width: number): T => {
    const out = new (col.constructor as { new (n: number): T })(E * width);
    let at = 0;
    for (const [e0, e1] of eventRanges) {
      out.set(col.subarray(e0 * width, e1 * width), at);
      at += (e1 - e0) * width;
    }
    return out;
  };
  const allEvents = batch.eventOffsets[Bu]!;
  const historyContext: Record<string, ContextColumn> = {};
  for (const [name, col] of Object.entries(batch.historyContext)) historyContext[name] = events(col, allEvents === 0 ? 0 : col.length / allEvents);
  return {
    layout: 'user',
    size: to - from,
    window: batch.window,
    numUsers: kept.length,
    users: Int32Array.from(kept, (k) => batch.users[k]!),
    eventOffsets,
    historyItem: events(batch.historyItem, 1),
    historyTime: events(batch.historyTime, 1),
    historyContext,
    targetOffsets,
    user: batch.user.slice(from, to),
    targetItem: batch.targetItem.slice(from, to),
    targetTime: batch.targetTime.slice(from, to),
    label: batch.label.slice(from, to),
    targetContext: sliceColumns(batch.targetContext, batch.size, from, to),
    historyStart: batch.historyStart.slice(from, to),
    historyEnd: batch.historyEnd.slice(from, to),
    sampleIndex: batch.sampleIndex.slice(from, to),
    ...(batch.trueProb !== undefined ? { trueProb: batch.trueProb.slice(from, to) } : {}),
  };
}
