import type { ContextFeatureSpec } from '@vql/context';

/**
 * Shapes shared with the rest of vql (see docs/architecture.md). Dense ids start at 1; 0 is the
 * padding / missing value everywhere.
 */


export interface DatasetSchema {
  numUsers: number;
  /** Items are dense 1..numItems; 0 is padding. */
  numItems: number;
  context: ContextFeatureSpec[];
  /** True when the source has explicit 0/1 labels; false when every event is a positive. */
  hasExplicitLabels: boolean;
}

/** Values of one context column; categorical/multi are Int32Array, numeric Float32Array. */
export type ContextColumn = Int32Array | Float32Array;

/** What the cleaning step did; every dropped row is counted in exactly one field. */
export interface CleaningReport {
  /** Data rows read from the source files (headers excluded). */
  rowsRead: number;
  /** Events in the final table. */
  eventsKept: number;
  droppedNegativeTime: number;
  droppedFutureTime: number;
  droppedOutOfWindow: number;
  droppedDuplicates: number;
  /** Events of users dropped for having fewer than `minEventsPerUser` events. */
  droppedShortUserEvents: number;
  droppedUsers: number;
  /** Dataset-specific cleaning (e.g. KuaiRec rows without a timestamp), by reason. */
  droppedOther: Record<string, number>;
  /** Items present in the events but absent from a side table, per item feature. */
  itemsMissingContext: Record<string, number>;
  /** Items whose item-scope context differed between rows (the first value is kept). */
  itemContextConflicts: number;
}

/**
 * One normalized event table: events grouped by user, sorted by time (stable) within a user.
 * Events of dense user u are the rows [userOffsets[u], userOffsets[u + 1]).
 */
export interface EventTable {
  name: string;
  schema: DatasetSchema;
  numEvents: number;
  /** [numUsers + 2]; userOffsets[0] = userOffsets[1] = 0, userOffsets[numUsers + 1] = numEvents. */
  userOffsets: Int32Array;
  user: Int32Array; // [E]
  item: Int32Array; // [E]
  /** Seconds, float64 (epoch seconds do not fit float32). */
  time: Float64Array; // [E]
  /** 0 | 1; all 1 when `schema.hasExplicitLabels` is false. */
  label: Float32Array; // [E]
  /** Event-scope features, [E * width]. */
  eventContext: Record<string, ContextColumn>;
  /** Item-scope features by dense item id, [(numItems + 1) * width]; row 0 is padding. */
  itemContext: Record<string, ContextColumn>;
  /** Raw source id of each dense user / item ([n + 1], index 0 unused). */
  rawUserId: Float64Array;
  rawItemId: Float64Array;
  /** Raw value of each dense categorical id, per categorical/multi feature (index 0 = missing). */
  vocabularies: Record<string, string[]>;
  report: CleaningReport;
}

/**
 * The part of an `EventTable` that reads users' histories (cache builders, serving): offsets,
 * items, times, context columns and their specs. Any `EventTable` is one.
 */
export type EventTableView = Pick<EventTable, 'numEvents' | 'userOffsets' | 'item' | 'time' | 'eventContext' | 'itemContext'> & {
  readonly schema: Pick<DatasetSchema, 'context'>;
};
