import { VqlDataError, checkOptionKeys } from './errors.js';
import { assignDenseIds, dropBadTimes, dropDuplicates, dropShortUsers, gatherEvents, groupByUser, sortWithinUsers } from './cleaning-steps.js';
import type { DenseIds, RawRows } from './cleaning-steps.js';
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

  /**
   * The normalised table: the cleaning steps of cleaning-steps.ts in order (times, grouping by
   * user, time sort, duplicates, short users, dense ids, gathering), then the context columns.
   * Every dropped row is counted in the report by the step that dropped it.
   */
  build(cleaningOptions: CleaningOptions = {}): EventTable {
    const cleaning = resolveCleaning(cleaningOptions);
    const rows = this.rawRows();
    const n = rows.user.length;
    const otherDropped = Object.values(this.droppedOther).reduce((a, b) => a + b, 0);
    const report: CleaningReport = {
      ...emptyCleaningReport(),
      rowsRead: n + otherDropped,
      droppedOther: { ...this.droppedOther },
      itemContextConflicts: this.conflicts,
    };
    const keep = new Uint8Array(n).fill(1);
    Object.assign(report, dropBadTimes(rows, cleaning, keep));
    const groups = groupByUser(rows, keep);
    sortWithinUsers(rows, groups);
    const { keptPerUser, droppedDuplicates } = dropDuplicates(rows, groups, keep, cleaning.duplicates, (row, earlier) => this.duplicateError(row, earlier));
    report.droppedDuplicates = droppedDuplicates;
    const short = dropShortUsers(keptPerUser, cleaning.minEventsPerUser);
    report.droppedUsers += short.droppedUsers;
    report.droppedShortUserEvents = short.droppedShortUserEvents;
    const ids = assignDenseIds(rows, groups, keep, keptPerUser, short.shortDropped, this.items.size, this.declaredItems);
    report.droppedUsers += ids.droppedUsers;
    if (ids.numUsers === 0) {
      throw new VqlDataError('EMPTY_DATASET', `${this.name}: no events left after cleaning (${n} rows read${droppedSummary(report)}).${timeUnitHint(rows.time, report)}`);
    }
    const events = gatherEvents(rows, groups, keep, ids);
    report.eventsKept = events.eventsKept;
    const { numUsers, numItems, userFinal, itemFinal, userOffsets } = ids;
    const rawUserId = new Float64Array(numUsers + 1);
    for (let u = 1; u <= rows.numUsers; u++) if (userFinal[u]) rawUserId[userFinal[u]!] = this.rawUsers.get(u);
    const rawItemId = new Float64Array(numItems + 1);
    for (let p = 1; p <= this.items.size; p++) if (itemFinal[p]) rawItemId[itemFinal[p]!] = this.rawItems.get(p);
    const columns = this.contextColumns(ids, events.source);
    report.itemsMissingContext = columns.itemsMissingContext;
    return {
      name: this.name,
      schema: { numUsers, numItems, context: columns.schemaContext, hasExplicitLabels: this.hasExplicitLabels },
      numEvents: events.eventsKept,
      userOffsets,
      user: events.user,
      item: events.item,
      time: events.time,
      label: events.label,
      eventContext: columns.eventContext,
      itemContext: columns.itemContext,
      rawUserId,
      rawItemId,
      vocabularies: columns.vocabularies,
      report,
    };
  }

  /** The rows collected so far, as the cleaning steps read them. */
  private rawRows(): RawRows {
    return {
      user: this.rowUser.view(),
      item: this.rowItem.view(),
      time: this.rowTime.view(),
      label: this.rowLabel.view(),
      eventValues: this.eventFeatures.map((s) => ({ width: s.width, values: s.values.view() })),
      numUsers: this.users.size,
    };
  }

  private duplicateError(row: number, earlier: number): VqlDataError {
    return new VqlDataError(
      'DUPLICATE_EVENT',
      `${this.sourceFile || this.name}:${this.rowLine.get(row)}: duplicate of the event on line ${this.rowLine.get(earlier)} (same user, item, time, label, context).`,
    );
  }

  /**
   * The last step: every feature's column in final ids (event scope: per kept event from its raw
   * row; item scope: per final item), its vocabulary and spec, and items without a value.
   */
  private contextColumns(ids: DenseIds, source: Int32Array): {
    schemaContext: ContextFeatureSpec[];
    eventContext: Record<string, ContextColumn>;
    itemContext: Record<string, ContextColumn>;
    vocabularies: Record<string, string[]>;
    itemsMissingContext: Record<string, number>;
  } {
    const { numItems, itemFinal } = ids;
    const numEvents = source.length;
    const numProvItems = this.items.size;
    const schemaContext: ContextFeatureSpec[] = [];
    const eventContext: Record<string, ContextColumn> = {};
    const itemContext: Record<string, ContextColumn> = {};
    const vocabularies: Record<string, string[]> = {};
    const itemsMissingContext: Record<string, number> = {};
    for (const store of this.features.values()) {
      const { decl, width } = store;
      const values = store.values.view();
      const out: ContextColumn =
        decl.kind === 'numeric'
          ? new Float32Array((decl.scope === 'item' ? numItems + 1 : numEvents) * width)
          : new Int32Array((decl.scope === 'item' ? numItems + 1 : numEvents) * width);
      if (decl.scope === 'event') {
        for (let r = 0; r < numEvents; r++) {
          const s = source[r]! * width;
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
        itemsMissingContext[decl.name] = missing;
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
    return { schemaContext, eventContext, itemContext, vocabularies, itemsMissingContext };
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
