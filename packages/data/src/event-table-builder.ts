import { VqlDataError, checkOptionKeys } from './errors.js';
import { Growable } from './growable.js';
import type { ContextFeatureSpec } from '@vql/context';
import type { CleaningReport, ContextColumn, EventTable } from './types.js';

/** A context feature as a reader declares it; vocabSize is filled in by the builder. */
export type FeatureDecl =
  | { name: string; kind: 'categorical'; scope: 'item' | 'event' }
  | { name: string; kind: 'multi'; scope: 'item' | 'event'; width: number }
  | { name: string; kind: 'numeric'; scope: 'item' | 'event'; boundaries: number[] };

/** The documented cleaning step applied to every dataset; every dropped row is counted. */
export interface CleaningOptions {
  /** Events before this time (seconds) are dropped as `droppedNegativeTime`; default 0. */
  minTime?: number;
  /** Events after this time are dropped as `droppedFutureTime`; default now + 1 day. */
  maxTime?: number;
  /** Optional [start, end) window in seconds; rows outside count as `droppedOutOfWindow`. */
  timeWindow?: readonly [number, number];
  /**
   * Same user, item, time, label and event context as an earlier row: 'drop' (default, counted),
   * 'keep', or 'error' (throws DUPLICATE_EVENT naming the line).
   */
  duplicates?: 'drop' | 'keep' | 'error';
  /** Users with fewer events after cleaning are dropped (counted); default 1. */
  minEventsPerUser?: number;
}

export const FAR_FUTURE_MARGIN_SECONDS = 86_400;

export function resolveCleaning(options: CleaningOptions = {}): Required<Omit<CleaningOptions, 'timeWindow'>> & {
  timeWindow: readonly [number, number] | null;
} {
  checkOptionKeys(options, ['minTime', 'maxTime', 'timeWindow', 'duplicates', 'minEventsPerUser'], 'cleaning');
  const minEventsPerUser = options.minEventsPerUser ?? 1;
  if (!Number.isInteger(minEventsPerUser) || minEventsPerUser < 1) {
    throw new VqlDataError('INVALID_ARGUMENT', `cleaning.minEventsPerUser must be an integer >= 1, got ${minEventsPerUser}.`);
  }
  const window = options.timeWindow ?? null;
  if (window !== null && !(Number.isFinite(window[0]) && Number.isFinite(window[1]) && window[0] < window[1])) {
    throw new VqlDataError('INVALID_ARGUMENT', `cleaning.timeWindow must be [start, end) with start < end, got [${window.join(', ')}].`);
  }
  const duplicates = options.duplicates ?? 'drop';
  if (duplicates !== 'drop' && duplicates !== 'keep' && duplicates !== 'error') {
    throw new VqlDataError('INVALID_ARGUMENT', `cleaning.duplicates must be 'drop', 'keep' or 'error', got ${String(duplicates)}.`);
  }
  return {
    minTime: options.minTime ?? 0,
    maxTime: options.maxTime ?? Date.now() / 1000 + FAR_FUTURE_MARGIN_SECONDS,
    timeWindow: window,
    duplicates,
    minEventsPerUser,
  };
}

/** A report with every counter at 0 (fill in what a source read and kept). */
export function emptyCleaningReport(): CleaningReport {
  return {
    rowsRead: 0,
    eventsKept: 0,
    droppedNegativeTime: 0,
    droppedFutureTime: 0,
    droppedOutOfWindow: 0,
    droppedDuplicates: 0,
    droppedShortUserEvents: 0,
    droppedUsers: 0,
    droppedOther: {},
    itemsMissingContext: {},
    itemContextConflicts: 0,
  };
}

function droppedSummary(r: CleaningReport): string {
  const parts: string[] = [];
  if (r.droppedNegativeTime > 0) parts.push(`${r.droppedNegativeTime} before minTime`);
  if (r.droppedFutureTime > 0) parts.push(`${r.droppedFutureTime} in the far future`);
  if (r.droppedOutOfWindow > 0) parts.push(`${r.droppedOutOfWindow} outside timeWindow`);
  if (r.droppedDuplicates > 0) parts.push(`${r.droppedDuplicates} duplicates`);
  if (r.droppedShortUserEvents > 0) parts.push(`${r.droppedShortUserEvents} of users below minEventsPerUser`);
  return parts.length > 0 ? `; dropped ${parts.join(', ')}` : '';
}

/**
 * Times are seconds. Epoch milliseconds (1e11..1e14 is 1973..5138 AD in ms, but far in the future
 * in s) and microseconds are the common mistake: say so instead of only "everything dropped".
 */
export function timeUnitHint(times: ArrayLike<number>, report?: CleaningReport): string {
  if (report !== undefined && report.droppedFutureTime === 0) return '';
  let max = -Infinity;
  for (let i = 0; i < times.length; i++) if (times[i]! > max) max = times[i]!;
  if (max >= 1e11 && max < 1e14) {
    return ` The times look like milliseconds since the epoch (largest ${max}); they are read as seconds: divide by 1000 (events schema: "time": { "unit": "ms" }).`;
  }
  if (max >= 1e14 && max < 1e17) {
    return ` The times look like microseconds since the epoch (largest ${max}); they are read as seconds: divide by 1e6 (events schema: "time": { "unit": "us" }).`;
  }
  return '';
}

function widthOf(f: FeatureDecl): number {
  return f.kind === 'multi' ? f.width : 1;
}

interface FeatureStore {
  decl: FeatureDecl;
  width: number;
  values: Growable<Int32Array> | Growable<Float32Array>;
  vocab: Map<string, number> | null;
  /** Item features: whether the provisional item already has a value (first one wins). */
  assigned: Growable<Uint8Array> | null;
}

/**
 * Collects raw rows, then normalizes them into an `EventTable`: dense ids, stable time sort per
 * user, and the counted cleaning of `CleaningOptions`. Rows keep their file line for errors.
 */
export class EventTableBuilder {
  private readonly users = new Map<number, number>();
  private readonly items = new Map<number, number>();
  private readonly rawUsers = new Growable(Float64Array);
  private readonly rawItems = new Growable(Float64Array);
  private readonly rowUser = new Growable(Int32Array, 1 << 16);
  private readonly rowItem = new Growable(Int32Array, 1 << 16);
  private readonly rowTime = new Growable(Float64Array, 1 << 16);
  private readonly rowLabel = new Growable(Float32Array, 1 << 16);
  private readonly rowLine = new Growable(Int32Array, 1 << 16);
  private readonly features = new Map<string, FeatureStore>();
  private readonly eventFeatures: FeatureStore[] = [];
  private readonly droppedOther: Record<string, number> = {};
  private conflicts = 0;
  private sourceFile = '';
  /** Provisional ids of items kept even without events (a catalogue's targets). */
  private readonly declaredItems = new Set<number>();

  constructor(
    readonly name: string,
    features: FeatureDecl[],
    private readonly hasExplicitLabels: boolean,
  ) {
    for (const decl of features) {
      const store: FeatureStore = {
        decl,
        width: widthOf(decl),
        values: decl.kind === 'numeric' ? new Growable(Float32Array) : new Growable(Int32Array),
        vocab: decl.kind === 'numeric' ? null : new Map(),
        assigned: decl.scope === 'item' ? new Growable(Uint8Array) : null,
      };
      this.features.set(decl.name, store);
      if (decl.scope === 'event') this.eventFeatures.push(store);
    }
  }

  /** The file whose lines `addEvent` refers to (for duplicate errors). */
  setSourceFile(path: string): void {
    this.sourceFile = path;
  }

  get rowsRead(): number {
    return this.rowUser.length;
  }

  /** Dense id of a categorical value of `feature` (1-based, in order of first appearance). */
  intern(feature: string, raw: string): number {
    const store = this.store(feature);
    const vocab = store.vocab;
    if (vocab === null) throw new VqlDataError('INVALID_ARGUMENT', `feature "${feature}" is numeric; it has no vocabulary.`);
    let id = vocab.get(raw);
    if (id === undefined) {
      id = vocab.size + 1;
      vocab.set(raw, id);
    }
    return id;
  }

  /**
   * Adds one event. `eventValues` holds the event-scope features in declaration order, each
   * `width` values (categorical ids from `intern`, or numbers).
   */
  addEvent(rawUser: number, rawItem: number, time: number, label: number, line: number, eventValues?: ArrayLike<number>): void {
    let u = this.users.get(rawUser);
    if (u === undefined) {
      u = this.users.size + 1;
      this.users.set(rawUser, u);
      this.rawUsers.set(u, rawUser);
    }
    this.rowUser.push(u);
    this.rowItem.push(this.itemId(rawItem));
    this.rowTime.push(time);
    this.rowLabel.push(label);
    this.rowLine.push(line);
    let k = 0;
    for (const store of this.eventFeatures) {
      for (let w = 0; w < store.width; w++) store.values.push(eventValues ? eventValues[k++]! : 0);
    }
  }

  /** Sets an item-scope feature by raw item id; the first value wins, later different ones are counted. */
  setItemFeature(rawItem: number, feature: string, values: number | ArrayLike<number>): void {
    const store = this.store(feature);
    if (store.assigned === null) throw new VqlDataError('INVALID_ARGUMENT', `feature "${feature}" is event-scope.`);
    const p = this.itemId(rawItem);
    if (store.assigned.get(p) === 1) {
      if (typeof values === 'number') {
        if (store.values.get(p) !== Math.fround(values) && store.values.get(p) !== values) this.conflicts++;
      } else {
        for (let w = 0; w < store.width; w++) {
          if (store.values.get(p * store.width + w) !== (values[w] ?? 0)) {
            this.conflicts++;
            break;
          }
        }
      }
      return;
    }
    store.assigned.set(p, 1);
    if (typeof values === 'number') store.values.set(p, values);
    else for (let w = 0; w < store.width; w++) store.values.set(p * store.width + w, values[w] ?? 0);
  }

  /**
   * Keeps `rawItem` in the table even if no event uses it (items known from a catalogue that
   * only appear as sample targets). Declaring items first, in order, fixes their dense ids.
   */
  declareItem(rawItem: number): void {
    this.declaredItems.add(this.itemId(rawItem));
  }

  /** Counts rows a reader skipped for a dataset-specific, documented reason. */
  countDropped(reason: string, n = 1): void {
    this.droppedOther[reason] = (this.droppedOther[reason] ?? 0) + n;
  }

  build(cleaningOptions: CleaningOptions = {}): EventTable {
    const cleaning = resolveCleaning(cleaningOptions);
    const n = this.rowUser.length;
    const otherDropped = Object.values(this.droppedOther).reduce((a, b) => a + b, 0);
    const report: CleaningReport = {
      ...emptyCleaningReport(),
      rowsRead: n + otherDropped,
      droppedOther: { ...this.droppedOther },
      itemContextConflicts: this.conflicts,
    };
    const rowUser = this.rowUser.view();
    const rowItem = this.rowItem.view();
    const rowTime = this.rowTime.view();
    const rowLabel = this.rowLabel.view();
    const keep = new Uint8Array(n).fill(1);
    const window = cleaning.timeWindow;
    for (let i = 0; i < n; i++) {
      const t = rowTime[i]!;
      if (t < cleaning.minTime) {
        keep[i] = 0;
        report.droppedNegativeTime++;
      } else if (t > cleaning.maxTime) {
        keep[i] = 0;
        report.droppedFutureTime++;
      } else if (window !== null && (t < window[0] || t >= window[1])) {
        keep[i] = 0;
        report.droppedOutOfWindow++;
      }
    }

    // Counting sort by provisional user keeps file order inside a user (the stable tie-break).
    const numProvUsers = this.users.size;
    const start = new Int32Array(numProvUsers + 2);
    for (let i = 0; i < n; i++) if (keep[i]) start[rowUser[i]! + 1]!++;
    for (let u = 1; u <= numProvUsers + 1; u++) start[u]! += start[u - 1]!;
    const order = new Int32Array(start[numProvUsers + 1]!);
    const fill = start.slice();
    for (let i = 0; i < n; i++) if (keep[i]) order[fill[rowUser[i]!]!++] = i;

    const eventStores = this.eventFeatures;
    const sameEvent = (a: number, b: number): boolean => {
      if (rowItem[a] !== rowItem[b] || rowLabel[a] !== rowLabel[b]) return false;
      for (const s of eventStores) {
        const v = s.values.view();
        for (let w = 0; w < s.width; w++) if (v[a * s.width + w] !== v[b * s.width + w]) return false;
      }
      return true;
    };

    const eventKey = (a: number): string => {
      let key = `${rowItem[a]}|${rowLabel[a]}`;
      for (const s of eventStores) {
        const v = s.values.view();
        for (let w = 0; w < s.width; w++) key += `|${v[a * s.width + w]}`;
      }
      return key;
    };
    const keptPerUser = new Int32Array(numProvUsers + 1);
    const shortDropped = new Uint8Array(numProvUsers + 1);
    for (let u = 1; u <= numProvUsers; u++) {
      const lo = start[u]!;
      const hi = start[u + 1]!;
      let sorted = true;
      for (let k = lo + 1; k < hi; k++) {
        if (rowTime[order[k]!]! < rowTime[order[k - 1]!]!) {
          sorted = false;
          break;
        }
      }
      if (!sorted) {
        const slice = Array.from(order.subarray(lo, hi));
        slice.sort((a, b) => rowTime[a]! - rowTime[b]! || a - b);
        order.set(slice, lo);
      }
      let kept = 0;
      let runStart = lo;
      // Long runs of equal times (day-resolution logs) switch from a pairwise scan to a key map.
      let runKeys: Map<string, number> | null = null;
      for (let k = lo; k < hi; k++) {
        const i = order[k]!;
        if (k > lo && rowTime[i] !== rowTime[order[k - 1]!]) {
          runStart = k;
          runKeys = null;
        }
        if (cleaning.duplicates !== 'keep') {
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
            if (cleaning.duplicates === 'error') {
              throw new VqlDataError(
                'DUPLICATE_EVENT',
                `${this.sourceFile || this.name}:${this.rowLine.get(i)}: duplicate of the event on line ${this.rowLine.get(dup)} (same user, item, time, label, context).`,
              );
            }
            report.droppedDuplicates++;
            keep[i] = 0;
            continue;
          }
        }
        kept++;
      }
      if (kept > 0 && kept < cleaning.minEventsPerUser) {
        shortDropped[u] = 1;
        report.droppedUsers++;
        report.droppedShortUserEvents += kept;
        kept = 0;
      }
      keptPerUser[u] = kept;
    }

    // Users who had rows but lost all of them to cleaning are dropped ("empty users"), counted.
    const hadRows = new Uint8Array(numProvUsers + 1);
    for (let i = 0; i < n; i++) hadRows[rowUser[i]!] = 1;
    // Final dense ids in order of first appearance in the source, among survivors.
    const userFinal = new Int32Array(numProvUsers + 1);
    let numUsers = 0;
    for (let u = 1; u <= numProvUsers; u++) {
      if (keptPerUser[u]! > 0) userFinal[u] = ++numUsers;
      else if (hadRows[u] && !shortDropped[u]) report.droppedUsers++;
    }
    if (numUsers === 0) {
      throw new VqlDataError('EMPTY_DATASET', `${this.name}: no events left after cleaning (${n} rows read${droppedSummary(report)}).${timeUnitHint(rowTime, report)}`);
    }
    const numProvItems = this.items.size;
    const itemFinal = new Int32Array(numProvItems + 1);
    const usedItem = new Uint8Array(numProvItems + 1);
    const userOffsets = new Int32Array(numUsers + 2);
    let e = 0;
    for (let u = 1; u <= numProvUsers; u++) {
      if (userFinal[u] === 0) continue;
      for (let k = start[u]!; k < start[u + 1]!; k++) if (keep[order[k]!]) usedItem[rowItem[order[k]!]!] = 1;
      userOffsets[userFinal[u]! + 1] = (e += keptPerUser[u]!);
    }
    for (const p of this.declaredItems) usedItem[p] = 1;
    let numItems = 0;
    for (let p = 1; p <= numProvItems; p++) if (usedItem[p]) itemFinal[p] = ++numItems;

    const numEvents = e;
    const user = new Int32Array(numEvents);
    const item = new Int32Array(numEvents);
    const time = new Float64Array(numEvents);
    const label = new Float32Array(numEvents);
    const src = new Int32Array(numEvents);
    let w = 0;
    for (let u = 1; u <= numProvUsers; u++) {
      if (userFinal[u] === 0) continue;
      for (let k = start[u]!; k < start[u + 1]!; k++) {
        const i = order[k]!;
        if (!keep[i]) continue;
        user[w] = userFinal[u]!;
        item[w] = itemFinal[rowItem[i]!]!;
        time[w] = rowTime[i]!;
        label[w] = rowLabel[i]!;
        src[w] = i;
        w++;
      }
    }
    report.eventsKept = numEvents;

    const rawUserId = new Float64Array(numUsers + 1);
    for (let u = 1; u <= numProvUsers; u++) if (userFinal[u]) rawUserId[userFinal[u]!] = this.rawUsers.get(u);
    const rawItemId = new Float64Array(numItems + 1);
    for (let p = 1; p <= numProvItems; p++) if (itemFinal[p]) rawItemId[itemFinal[p]!] = this.rawItems.get(p);

    const schemaContext: ContextFeatureSpec[] = [];
    const eventContext: Record<string, ContextColumn> = {};
    const itemContext: Record<string, ContextColumn> = {};
    const vocabularies: Record<string, string[]> = {};
    for (const store of this.features.values()) {
      const { decl, width } = store;
      const values = store.values.view();
      const out: ContextColumn =
        decl.kind === 'numeric'
          ? new Float32Array((decl.scope === 'item' ? numItems + 1 : numEvents) * width)
          : new Int32Array((decl.scope === 'item' ? numItems + 1 : numEvents) * width);
      if (decl.scope === 'event') {
        for (let r = 0; r < numEvents; r++) {
          const s = src[r]! * width;
          for (let c = 0; c < width; c++) out[r * width + c] = values[s + c] ?? 0;
        }
        eventContext[decl.name] = out;
      } else {
        let missing = 0;
        const assigned = store.assigned!;
        for (let p = 1; p <= numProvItems; p++) {
          const f = itemFinal[p]!;
          if (f === 0) continue;
          if (assigned.get(p) !== 1) missing++;
          for (let c = 0; c < width; c++) out[f * width + c] = values[p * width + c] ?? 0;
        }
        report.itemsMissingContext[decl.name] = missing;
        itemContext[decl.name] = out;
      }
      if (store.vocab !== null) {
        const vocab = [''];
        for (const [raw, id] of store.vocab) vocab[id] = raw;
        vocabularies[decl.name] = vocab;
      }
      schemaContext.push(
        decl.kind === 'numeric'
          ? { name: decl.name, kind: 'numeric', scope: decl.scope, boundaries: [...decl.boundaries] }
          : decl.kind === 'multi'
            ? { name: decl.name, kind: 'multi', scope: decl.scope, vocabSize: store.vocab!.size, width }
            : { name: decl.name, kind: 'categorical', scope: decl.scope, vocabSize: store.vocab!.size },
      );
    }

    return {
      name: this.name,
      schema: { numUsers, numItems, context: schemaContext, hasExplicitLabels: this.hasExplicitLabels },
      numEvents,
      userOffsets,
      user,
      item,
      time,
      label,
      eventContext,
      itemContext,
      rawUserId,
      rawItemId,
      vocabularies,
      report,
    };
  }

  private itemId(rawItem: number): number {
    let p = this.items.get(rawItem);
    if (p === undefined) {
      p = this.items.size + 1;
      this.items.set(rawItem, p);
      this.rawItems.set(p, rawItem);
    }
    return p;
  }

  private store(feature: string): FeatureStore {
    const store = this.features.get(feature);
    if (store === undefined) throw new VqlDataError('INVALID_ARGUMENT', `unknown feature "${feature}" in ${this.name}.`);
    return store;
  }
}
