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
      if (values.length === 0) continue;
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const std = values.length > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1)) : 0;
      metrics[key] = { mean, std, n: values.length };
    }
    rows.push({ studies: [...new Set(list.flatMap((r) => r.studies))], method: r0.method, variant: r0.variant, dataset: r0.dataset, L: r0.L, K: r0.K, G: r0.G, metrics });
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
