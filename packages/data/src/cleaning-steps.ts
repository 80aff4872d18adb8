import type { VqlDataError } from './errors.js';
import type { CleaningReport } from './types.js';

// The steps of `EventTableBuilder.build`, in order. Each takes the raw rows (provisional ids,
// file order) and what the previous steps decided, and returns the `CleaningReport` counters it
// owns, so each can be tested alone (cleaning-steps.test.ts).

/** Rows as read: provisional dense ids 1..n in order of first appearance, file order. */
export interface RawRows {
  readonly user: Int32Array; // [n]
  readonly item: Int32Array; // [n]
  readonly time: Float64Array; // [n] seconds
  readonly label: Float32Array; // [n]
  /** Event-scope feature values, `width` per row ([n*width]); equal values make rows duplicates. */
  readonly eventValues: ReadonlyArray<{ readonly width: number; readonly values: ArrayLike<number> }>;
  /** Provisional users are 1..numUsers. */
  readonly numUsers: number;
}

/** The time limits of the resolved cleaning options. */
export interface TimeLimits {
  readonly minTime: number;
  readonly maxTime: number;
  readonly timeWindow: readonly [number, number] | null;
}

/**
 * Step 1: clears `keep` for rows before `minTime`, after `maxTime` or outside `[start, end)` of
 * the window (in that order of precedence).
 */
export function dropBadTimes(
  rows: RawRows,
  limits: TimeLimits,
  keep: Uint8Array,
): Pick<CleaningReport, 'droppedNegativeTime' | 'droppedFutureTime' | 'droppedOutOfWindow'> {
  const counts = { droppedNegativeTime: 0, droppedFutureTime: 0, droppedOutOfWindow: 0 };
  const window = limits.timeWindow;
  for (let i = 0; i < rows.time.length; i++) {
    const t = rows.time[i]!;
    if (t < limits.minTime) {
      keep[i] = 0;
      counts.droppedNegativeTime++;
    } else if (t > limits.maxTime) {
      keep[i] = 0;
      counts.droppedFutureTime++;
    } else if (window !== null && (t < window[0] || t >= window[1])) {
      keep[i] = 0;
      counts.droppedOutOfWindow++;
    }
  }
  return counts;
}

/** Kept rows grouped by provisional user: user u's rows are `order[start[u] .. start[u+1])`. */
export interface UserGroups {
  readonly start: Int32Array; // [numUsers + 2]
  readonly order: Int32Array; // [kept rows]
}

/** Step 2: groups the kept rows by user with a counting sort (file order kept inside a user). */
export function groupByUser(rows: RawRows, keep: Uint8Array): UserGroups {
  const n = rows.user.length;
  const U = rows.numUsers;
  const start = new Int32Array(U + 2);
  for (let i = 0; i < n; i++) if (keep[i]) start[rows.user[i]! + 1]!++;
  for (let u = 1; u <= U + 1; u++) start[u]! += start[u - 1]!;
  const order = new Int32Array(start[U + 1]!);
  const fill = start.slice();
  for (let i = 0; i < n; i++) if (keep[i]) order[fill[rows.user[i]!]!++] = i;
  return { start, order };
}

/** Step 3: sorts each user's rows by time, in place; equal times keep file order (stable). */
export function sortWithinUsers(rows: RawRows, groups: UserGroups): void {
  const { start, order } = groups;
  const time = rows.time;
  for (let u = 1; u <= rows.numUsers; u++) {
    const lo = start[u]!;
    const hi = start[u + 1]!;
    let sorted = true;
    for (let k = lo + 1; k < hi; k++) {
      if (time[order[k]!]! < time[order[k - 1]!]!) {
        sorted = false;
        break;
      }
    }
    if (!sorted) {
      const slice = Array.from(order.subarray(lo, hi));
      slice.sort((a, b) => time[a]! - time[b]! || a - b);
      order.set(slice, lo);
    }
  }
}

/** Where a duplicate was found, for the DUPLICATE_EVENT message: `duplicate(row, earlierRow)`. */
export type DuplicateError = (row: number, earlier: number) => VqlDataError;

/**
 * Step 4: within each user's time-sorted rows, a row equal to an earlier one of the same time
 * (item, label, event context) is dropped ('drop', counted), kept ('keep') or an error ('error').
 * Returns the counter and each user's rows left.
 */
export function dropDuplicates(
  rows: RawRows,
  groups: UserGroups,
  keep: Uint8Array,
  mode: 'drop' | 'keep' | 'error',
  duplicate: DuplicateError,
): Pick<CleaningReport, 'droppedDuplicates'> & { keptPerUser: Int32Array } {
  const { start, order } = groups;
  const { item, label, time, eventValues } = rows;
  const sameEvent = (a: number, b: number): boolean => {
    if (item[a] !== item[b] || label[a] !== label[b]) return false;
    for (const s of eventValues) {
      for (let w = 0; w < s.width; w++) if (s.values[a * s.width + w] !== s.values[b * s.width + w]) return false;
    }
    return true;
  };
  const eventKey = (a: number): string => {
    let key = `${item[a]}|${label[a]}`;
    for (const s of eventValues) for (let w = 0; w < s.width; w++) key += `|${s.values[a * s.width + w]}`;
    return key;
  };
  const keptPerUser = new Int32Array(rows.numUsers + 1);
  let droppedDuplicates = 0;
  for (let u = 1; u <= rows.numUsers; u++) {
    const lo = start[u]!;
    const hi = start[u + 1]!;
    let kept = 0;
    let runStart = lo;
    // Long runs of equal times (day-resolution logs) switch from a pairwise scan to a key map.
    let runKeys: Map<string, number> | null = null;
    for (let k = lo; k < hi; k++) {
      const i = order[k]!;
      if (k > lo && time[i] !== time[order[k - 1]!]) {
        runStart = k;
        runKeys = null;
      }
      if (mode !== 'keep') {
        let dup = -1;
        if (k - runStart < 32) {
          for (let m = runStart; m < k; m++) {
            if (sameEvent(i, order[m]!)) {
              dup = order[m]!;
              break;
            }
          }
        } else {
          if (runKeys === null) {
            runKeys = new Map();
            for (let m = runStart; m < k; m++) if (!runKeys.has(eventKey(order[m]!))) runKeys.set(eventKey(order[m]!), order[m]!);
          }
          const key = eventKey(i);
          dup = runKeys.get(key) ?? -1;
          if (dup < 0) runKeys.set(key, i);
        }
        if (dup >= 0) {
          if (mode === 'error') throw duplicate(i, dup);
          droppedDuplicates++;
          keep[i] = 0;
          continue;
        }
      }
      kept++;
    }
    keptPerUser[u] = kept;
  }
  return { droppedDuplicates, keptPerUser };
}

/**
 * Step 5: users left with fewer than `minEventsPerUser` events (but some) are dropped: their
 * `keptPerUser` becomes 0 and they are marked in `shortDropped`.
 */
export function dropShortUsers(
  keptPerUser: Int32Array,
  minEventsPerUser: number,
): Pick<CleaningReport, 'droppedUsers' | 'droppedShortUserEvents'> & { shortDropped: Uint8Array } {
  const shortDropped = new Uint8Array(keptPerUser.length);
  let droppedUsers = 0;
  let droppedShortUserEvents = 0;
  for (let u = 1; u < keptPerUser.length; u++) {
    const kept = keptPerUser[u]!;
    if (kept > 0 && kept < minEventsPerUser) {
      shortDropped[u] = 1;
      droppedUsers++;
      droppedShortUserEvents += kept;
      keptPerUser[u] = 0;
    }
  }
  return { droppedUsers, droppedShortUserEvents, shortDropped };
}

/** Final dense ids (0 = dropped) and the table's user offsets. */
export interface DenseIds {
  readonly numUsers: number;
  readonly numItems: number;
  readonly userFinal: Int32Array; // [provisional users + 1]
  readonly itemFinal: Int32Array; // [provisional items + 1]
  readonly userOffsets: Int32Array; // [numUsers + 2]
}

/**
 * Step 6: dense ids among the survivors, in order of first appearance in the source; items are
 * those of kept events plus `declaredItems`. Users who had rows but lost all of them to the time
 * and duplicate steps are dropped here ("empty users") and counted in `droppedUsers` (short users
 * were counted by step 5).
 */
export function assignDenseIds(
  rows: RawRows,
  groups: UserGroups,
  keep: Uint8Array,
  keptPerUser: Int32Array,
  shortDropped: Uint8Array,
  numProvItems: number,
  declaredItems: Iterable<number>,
): DenseIds & Pick<CleaningReport, 'droppedUsers'> {
  const U = rows.numUsers;
  const hadRows = new Uint8Array(U + 1);
  for (let i = 0; i < rows.user.length; i++) hadRows[rows.user[i]!] = 1;
  const userFinal = new Int32Array(U + 1);
  let numUsers = 0;
  let droppedUsers = 0;
  for (let u = 1; u <= U; u++) {
    if (keptPerUser[u]! > 0) userFinal[u] = ++numUsers;
    else if (hadRows[u] && !shortDropped[u]) droppedUsers++;
  }
  const itemFinal = new Int32Array(numProvItems + 1);
  const usedItem = new Uint8Array(numProvItems + 1);
  const userOffsets = new Int32Array(numUsers + 2);
  let e = 0;
  for (let u = 1; u <= U; u++) {
    if (userFinal[u] === 0) continue;
    for (let k = groups.start[u]!; k < groups.start[u + 1]!; k++) if (keep[groups.order[k]!]) usedItem[rows.item[groups.order[k]!]!] = 1;
    userOffsets[userFinal[u]! + 1] = (e += keptPerUser[u]!);
  }
  for (const p of declaredItems) usedItem[p] = 1;
  let numItems = 0;
  for (let p = 1; p <= numProvItems; p++) if (usedItem[p]) itemFinal[p] = ++numItems;
  return { numUsers, numItems, userFinal, itemFinal, userOffsets, droppedUsers };
}

/** The kept events in table order (by final user, then time) and the raw row of each. */
export interface GatheredEvents {
  readonly user: Int32Array; // [E]
  readonly item: Int32Array; // [E]
  readonly time: Float64Array; // [E]
  readonly label: Float32Array; // [E]
  /** Raw row of each event, for copying its event-scope context. */
  readonly source: Int32Array; // [E]
}

/** Step 7: writes the kept events of the kept users, in final order, with final ids. */
export function gatherEvents(rows: RawRows, groups: UserGroups, keep: Uint8Array, ids: DenseIds): GatheredEvents & Pick<CleaningReport, 'eventsKept'> {
  const numEvents = ids.userOffsets[ids.numUsers + 1]!;
  const user = new Int32Array(numEvents);
  const item = new Int32Array(numEvents);
  const time = new Float64Array(numEvents);
  const label = new Float32Array(numEvents);
  const source = new Int32Array(numEvents);
  let w = 0;
  for (let u = 1; u <= rows.numUsers; u++) {
    if (ids.userFinal[u] === 0) continue;
    for (let k = groups.start[u]!; k < groups.start[u + 1]!; k++) {
      const i = groups.order[k]!;
      if (!keep[i]) continue;
      user[w] = ids.userFinal[u]!;
      item[w] = ids.itemFinal[rows.item[i]!]!;
      time[w] = rows.time[i]!;
      label[w] = rows.label[i]!;
      source[w] = i;
      w++;
    }
  }
  return { user, item, time, label, source, eventsKept: numEvents };
}
