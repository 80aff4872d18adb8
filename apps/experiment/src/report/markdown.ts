import type { AggregateRow, MetricKey } from './aggregate.js';
import { inStudy } from './aggregate.js';
import { formatStat } from './aggregate.js';

interface Column {
  key: MetricKey;
  title: string;
  digits: number;
  better: 'max' | 'min';
}

const MAIN_COLUMNS: Column[] = [
  { key: 'auc', title: 'AUC', digits: 4, better: 'max' },
  { key: 'gauc', title: 'GAUC', digits: 4, better: 'max' },
  { key: 'logloss', title: 'LogLoss', digits: 4, better: 'min' },
  { key: 'samplesPerSecond', title: 'train samples/s', digits: 0, better: 'max' },
];

/** A markdown table whose best value per column is bold (oracle rows excluded from "best"). */
export function markdownTable(rows: AggregateRow[], label: (r: AggregateRow) => string, columns: Column[], labelTitle: string): string {
  const best = new Map<MetricKey, number>();
  for (const col of columns) {
    const values = rows
      .filter((r) => r.method !== 'oracle')
      .map((r) => r.metrics[col.key]?.mean)
      .filter((v): v is number => v !== undefined);
    if (values.length > 0) best.set(col.key, col.better === 'max' ? Math.max(...values) : Math.min(...values));
  }
  const lines = [`| ${labelTitle} | ${columns.map((c) => c.title).join(' | ')} |`, `|---|${columns.map(() => '---:').join('|')}|`];
  for (const r of rows) {
    const cells = columns.map((c) => {
      const text = formatStat(r.metrics[c.key], c.digits);
      const isBest = r.method !== 'oracle' && r.metrics[c.key] !== undefined && r.metrics[c.key]!.mean === best.get(c.key);
      return isBest ? `**${text}**` : text;
    });
    lines.push(`| ${label(r)} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

function pivot(rows: AggregateRow[], rowKey: (r: AggregateRow) => string, colKey: (r: AggregateRow) => number, metric: MetricKey, digits: number, better: 'max' | 'min', rowTitle: string, colTitle: (c: number) => string): string {
  const cols = [...new Set(rows.map(colKey))].sort((a, b) => a - b);
  const rowNames = [...new Set(rows.map(rowKey))];
  const lines = [`| ${rowTitle} | ${cols.map(colTitle).join(' | ')} |`, `|---|${cols.map(() => '---:').join('|')}|`];
  const bestPerCol = new Map<number, number>();
  const pick = (values: number[]) => (better === 'max' ? Math.max(...values) : Math.min(...values));
  for (const c of cols) {
    const values = rows.filter((r) => colKey(r) === c && r.method !== 'oracle').map((r) => r.metrics[metric]?.mean).filter((v): v is number => v !== undefined);
    if (values.length > 0) bestPerCol.set(c, pick(values));
  }
  if (rowNames.length === 1) {
    // A one-row sweep (K, G): the best column of that row is the one to mark.
    const values = rows.map((r) => r.metrics[metric]?.mean).filter((v): v is number => v !== undefined);
    const best = values.length > 0 ? pick(values) : undefined;
    for (const c of cols) if (best !== undefined) bestPerCol.set(c, best);
  }
  for (const name of rowNames) {
    const cells = cols.map((c) => {
      const r = rows.find((x) => rowKey(x) === name && colKey(x) === c);
      const stat = r?.metrics[metric];
      const text = formatStat(stat, digits);
      return stat !== undefined && r!.method !== 'oracle' && stat.mean === bestPerCol.get(c) ? `**${text}**` : text;
    });
    lines.push(`| ${name} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

function humanLength(n: number): string {
  return n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n);
}

export interface ReportContext {
  experiment: string;
  generatedAt: string;
  skippedDatasets: string[];
  notes: string[];
}

export function renderMarkdown(rows: AggregateRow[], ctx: ReportContext): string {
  const out: string[] = [`# vql experiment report: \`${ctx.experiment}\``, '', `Generated ${ctx.generatedAt}.`];
  if (ctx.skippedDatasets.length > 0) out.push('', `Skipped (not found): ${ctx.skippedDatasets.join(', ')}.`);
  for (const note of ctx.notes) out.push('', note);
  const datasets = [...new Set(rows.filter((r) => inStudy(r, 'main')).map((r) => r.dataset))];
  if (datasets.length > 0) {
    out.push('', '## Main comparison', '', 'Test-split metrics; best per column in bold (the oracle is the ceiling, not a competitor).');
    for (const ds of datasets) {
      const main = rows.filter((r) => inStudy(r, 'main') && r.dataset === ds);
      out.push('', `### ${ds} (L = ${main[0]!.L})`, '', markdownTable(main, (r) => r.method, MAIN_COLUMNS, 'method'));
    }
  }
  const ablated = new Set(rows.filter((r) => inStudy(r, 'ablation')).map((r) => r.dataset));
  const ablation = rows.filter((r) => ablated.has(r.dataset) && (inStudy(r, 'ablation') || (inStudy(r, 'main') && r.method === 'vql')));
  if (rows.some((r) => inStudy(r, 'ablation'))) {
    out.push('', '## VQL ablations (AUC)', '', pivotByDataset(ablation));
  }
  const kSweep = rows.filter((r) => inStudy(r, 'codebook-sweep'));
  if (kSweep.length > 0) {
    out.push('', `## Codebook size K (${kSweep[0]!.dataset}, L = ${kSweep[0]!.L}; groups get K/4^(G−1−g) codes)`, '',
      pivot(kSweep, () => 'vql', (r) => r.K, 'auc', 4, 'max', 'AUC', (k) => `K=${k}`));
  }
  const gSweep = rows.filter((r) => inStudy(r, 'group-sweep'));
  if (gSweep.length > 0) {
    out.push('', `## Head groups G (${gSweep[0]!.dataset}, L = ${gSweep[0]!.L})`, '',
      pivot(gSweep, () => 'vql', (r) => r.G, 'auc', 4, 'max', 'AUC', (g) => `G=${g}`));
  }
  const lSweep = rows.filter((r) => inStudy(r, 'length-sweep'));
  if (lSweep.length > 0) {
    out.push('', `## History length L (${lSweep[0]!.dataset}, AUC)`, '',
      pivot(lSweep, (r) => r.method, (r) => r.L, 'auc', 4, 'max', 'method', (l) => `L=${humanLength(l)}`));
  }
  const latency = rows.filter((r) => inStudy(r, 'latency'));
  if (latency.length > 0) {
    out.push('', '## Online latency per request (ms, p50; 1 candidate)', '',
      pivot(latency, (r) => r.method, (r) => r.L, 'latencyP50Ms', 3, 'min', 'method', (l) => `L=${humanLength(l)}`),
      '', '## Online latency per request (ms, p50; 100 candidates)', '',
      pivot(latency, (r) => r.method, (r) => r.L, 'latencyP50Ms100', 3, 'min', 'method', (l) => `L=${humanLength(l)}`),
      '', '## State kept per user (bytes)', '',
      pivot(latency, (r) => r.method, (r) => r.L, 'cacheBytesPerUser', 0, 'min', 'method', (l) => `L=${humanLength(l)}`));
  }
  return `${out.join('\n')}\n`;
}

function pivotByDataset(rows: AggregateRow[]): string {
  const datasets = [...new Set(rows.map((r) => r.dataset))];
  const variants = [...new Set(rows.map((r) => (r.variant === 'default' ? 'vql (full)' : r.variant)))];
  const lines = [`| variant | ${datasets.join(' | ')} |`, `|---|${datasets.map(() => '---:').join('|')}|`];
  const best = new Map(datasets.map((d) => [d, Math.max(...rows.filter((r) => r.dataset === d).map((r) => r.metrics.auc?.mean ?? -Infinity))]));
  for (const v of variants) {
    const cells = datasets.map((d) => {
      const r = rows.find((x) => x.dataset === d && (x.variant === 'default' ? 'vql (full)' : x.variant) === v);
      const stat = r?.metrics.auc;
      const text = formatStat(stat, 4);
      return stat !== undefined && stat.mean === best.get(d) ? `**${text}**` : text;
    });
    lines.push(`| ${v} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}
