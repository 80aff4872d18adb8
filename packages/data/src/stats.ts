import type { EventTable } from './types.js';

export interface LengthSummary {
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface DatasetStats {
  name: string;
  users: number;
  items: number;
  events: number;
  rowsRead: number;
  positives: number;
  /** Positives / events. */
  positiveRate: number;
  hasExplicitLabels: boolean;
  /** Events per user. */
  length: LengthSummary;
  timeMin: number;
  timeMax: number;
}

/** Percentile of sorted values with linear interpolation between ranks (numpy's default). */
export function percentileLinear(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Users, items, events, label balance and per-user length percentiles of a table. */
export function datasetStats(table: EventTable): DatasetStats {
  const { numUsers, numItems } = table.schema;
  const lengths = new Float64Array(numUsers);
  for (let u = 1; u <= numUsers; u++) lengths[u - 1] = table.userOffsets[u + 1]! - table.userOffsets[u]!;
  lengths.sort();
  let positives = 0;
  let timeMin = Infinity;
  let timeMax = -Infinity;
  for (let i = 0; i < table.numEvents; i++) {
    positives += table.label[i]!;
    const t = table.time[i]!;
    if (t < timeMin) timeMin = t;
    if (t > timeMax) timeMax = t;
  }
  return {
    name: table.name,
    users: numUsers,
    items: numItems,
    events: table.numEvents,
    rowsRead: table.report.rowsRead,
    positives,
    positiveRate: table.numEvents > 0 ? positives / table.numEvents : Number.NaN,
    hasExplicitLabels: table.schema.hasExplicitLabels,
    length: {
      min: lengths[0] ?? 0,
      p50: percentileLinear(lengths, 0.5),
      p90: percentileLinear(lengths, 0.9),
      p99: percentileLinear(lengths, 0.99),
      max: lengths[lengths.length - 1] ?? 0,
      mean: table.numEvents / Math.max(1, numUsers),
    },
    timeMin,
    timeMax,
  };
}
