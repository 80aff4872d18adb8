import { meanStd } from '@vql/metrics';
import { isReferenceMethod, methodLabel, roleOf } from '../methods/table.js';
import type { RunRecord } from '../results.js';

export type MetricKey = 'auc' | 'gauc' | 'logloss' | 'latencyP50Ms' | 'latencyP99Ms' | 'latencyP50Ms100' | 'latencyP99Ms100' | 'cacheBytesPerUser' | 'samplesPerSecond' | 'trainSeconds';

export interface Stat {
  mean: number;
  std: number;
  n: number;
}

/** Records that differ only by seed, merged: mean and sample std per metric. */
export interface AggregateRow {
  studies: string[];
  method: string;
  variant: string;
  dataset: string;
  L: number;
  K: number;
  G: number;
  metrics: Partial<Record<MetricKey, Stat>>;
  /** 'not-run-cost' when no seed ran because of cost (then `notes` says what it would cost). */
  status: 'ok' | 'not-run-cost';
  historyPolicy?: 'newest-L' | 'whole-history';
  /** Distinct `note`s of the runs. */
  notes: string[];
  /** The merged records, one per seed. */
  runs: RunRecord[];
}

const KEYS: MetricKey[] = ['auc', 'gauc', 'logloss', 'latencyP50Ms', 'latencyP99Ms', 'latencyP50Ms100', 'latencyP99Ms100', 'cacheBytesPerUser', 'samplesPerSecond', 'trainSeconds'];

export function aggregate(records: readonly RunRecord[]): AggregateRow[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of records) {
    const key = [r.method, r.variant, r.dataset, r.L, r.K, r.G, r.heads, r.studies.includes('latency') ? 'latency' : 'train'].join('|');
    const list = groups.get(key) ?? [];
    list.push(r);
    groups.set(key, list);
  }
  const rows: AggregateRow[] = [];
  for (const list of groups.values()) {
    const r0 = list[0]!;
    const metrics: AggregateRow['metrics'] = {};
    for (const key of KEYS) {
      const values = list.map((r) => r[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      if (values.length > 0) metrics[key] = meanStd(values);
    }
    const policy = list.find((r) => r.historyPolicy !== undefined)?.historyPolicy;
    rows.push({
      studies: [...new Set(list.flatMap((r) => r.studies))],
      method: r0.method,
      variant: r0.variant,
      dataset: r0.dataset,
      L: r0.L,
      K: r0.K,
      G: r0.G,
      metrics,
      status: list.every((r) => r.status === 'not-run-cost') ? 'not-run-cost' : 'ok',
      ...(policy !== undefined ? { historyPolicy: policy } : {}),
      notes: [...new Set(list.map((r) => r.note).filter((n): n is string => n !== undefined && n !== ''))],
      runs: list,
    });
  }
  return rows;
}

export function formatStat(stat: Stat | undefined, digits: number): string {
  if (stat === undefined) return '—';
  const mean = stat.mean.toFixed(digits);
  return stat.n > 1 ? `${mean} ± ${stat.std.toFixed(digits)}` : mean;
}

/** Whether an aggregated row belongs to a study's table. */
export function inStudy(row: AggregateRow, study: string): boolean {
  return row.studies.includes(study);
}

export function humanLength(n: number): string {
  return n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n);
}

/** The generator's true model on the newest L behaviours only. */
export function isOracleAtL(row: { method: string; variant: string }): boolean {
  return roleOf(row.method) === 'ceiling' && row.variant === 'at-L';
}

/** The true model on the whole history ('default' is the oracle of results written before oracle@L). */
export function isFullOracle(row: { method: string; variant: string }): boolean {
  return roleOf(row.method) === 'ceiling' && row.variant !== 'at-L';
}

/** Neural sequence models: every trained method of the table (not the oracle or the logistic floor). */
export function isNeural(row: { method: string }): boolean {
  return !isReferenceMethod(row.method);
}

/** A ceiling (oracle) row: excluded from "best" marks. */
export function isCeiling(row: { method: string }): boolean {
  return roleOf(row.method) === 'ceiling';
}

/** A row of the method under study (VQL, any variant). */
export function isSubject(row: { method: string }): boolean {
  return roleOf(row.method) === 'subject';
}

/** A row of the logistic floor (any variant). */
export function isFloor(row: { method: string }): boolean {
  return roleOf(row.method) === 'floor';
}

/** The name a row goes by in tables and charts (the method table's label). */
export function rowLabel(row: { method: string; variant: string; L: number }): string {
  return methodLabel(row.method, row.variant, humanLength(row.L));
}

/** The method under study first (default variant, then others), then the neural baselines, the floor, oracle@L and the full-history oracle. */
export function rowOrder(row: { method: string; variant: string }): number {
  switch (roleOf(row.method)) {
    case 'subject':
      return row.variant === 'default' ? 0 : 1;
    case 'exact':
    case 'baseline':
      return 2;
    case 'floor':
      return 3;
    case 'ceiling':
      return isOracleAtL(row) ? 4 : 5;
  }
}

export function sortRows<T extends { method: string; variant: string }>(rows: T[]): T[] {
  return rows.map((r, i) => ({ r, i })).sort((a, b) => rowOrder(a.r) - rowOrder(b.r) || a.i - b.i).map((x) => x.r);
}
