import type { AggregateRow, MetricKey, Stat } from './aggregate.js';
import { formatStat, humanLength, inStudy, isCeiling, isFloor, isFullOracle, isNeural, isOracleAtL, isSubject, rowLabel, sortRows } from './aggregate.js';
import { methodWithRole } from '../methods/table.js';
import type { Evidence, PairedEvidence } from './paired.js';

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

/** Where report.html puts its charts (an HTML comment: invisible in rendered markdown). */
export const CHARTS_MARKER = '<!-- charts -->';

function notRunText(row: AggregateRow): string {
  return `not run: cost${row.notes.length > 0 ? ` (${row.notes.join('; ')})` : ''}`;
}

function historyText(row: AggregateRow): string {
  return row.historyPolicy ?? '—';
}

/** A markdown table whose best value per column is bold (oracle rows excluded from "best"). */
export function markdownTable(rows: AggregateRow[], label: (r: AggregateRow) => string, columns: Column[], labelTitle: string): string {
  const withHistory = rows.some((r) => r.historyPolicy !== undefined);
  const withSeeds = rows.some((r) => r.runs.length > 1);
  const best = new Map<MetricKey, number>();
  for (const col of columns) {
    const values = rows
      .filter((r) => !isCeiling(r))
      .map((r) => r.metrics[col.key]?.mean)
      .filter((v): v is number => v !== undefined);
    if (values.length > 0) best.set(col.key, col.better === 'max' ? Math.max(...values) : Math.min(...values));
  }
  const titles = [labelTitle, ...(withHistory ? ['history'] : []), ...columns.map((c) => c.title), ...(withSeeds ? ['seeds'] : [])];
  const lines = [`| ${titles.join(' | ')} |`, `|---|${titles.slice(1).map((_, i) => (withHistory && i === 0 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    const cells =
      r.status === 'not-run-cost'
        ? columns.map((_, i) => (i === 0 ? notRunText(r) : '—'))
        : columns.map((c) => {
            const text = formatStat(r.metrics[c.key], c.digits);
            const isBest = !isCeiling(r) && r.metrics[c.key] !== undefined && r.metrics[c.key]!.mean === best.get(c.key);
            return isBest ? `**${text}**` : text;
          });
    const seeds = r.status === 'not-run-cost' ? '—' : String(r.metrics.auc?.n ?? r.runs.length);
    lines.push(`| ${[label(r), ...(withHistory ? [historyText(r)] : []), ...cells, ...(withSeeds ? [seeds] : [])].join(' | ')} |`);
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
    const values = rows.filter((r) => colKey(r) === c && !isCeiling(r)).map((r) => r.metrics[metric]?.mean).filter((v): v is number => v !== undefined);
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
      if (r?.status === 'not-run-cost') return notRunText(r);
      const stat = r?.metrics[metric];
      const text = formatStat(stat, digits);
      return stat !== undefined && !isCeiling(r!) && stat.mean === bestPerCol.get(c) ? `**${text}**` : text;
    });
    lines.push(`| ${name} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

export interface ReportContext {
  experiment: string;
  generatedAt: string;
  skippedDatasets: string[];
  notes: string[];
}

const signed = (x: number, digits = 4) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;

/** "+0.0123 [+0.0101, +0.0145]", or why there is no interval. */
export function formatInterval(e: Evidence): string {
  if (e.interval === undefined) return `no interval (${e.missing})`;
  const { estimate, lower, upper } = e.interval;
  const partial = e.seeds < e.of ? ` (${e.seeds} of ${e.of} seeds)` : '';
  return `${signed(estimate)} [${signed(lower)}, ${signed(upper)}]${partial}`;
}

function verdict(e: Evidence, better: string, worse: string): string {
  if (e.interval === undefined) return '—';
  if (e.interval.lower > 0) return better;
  if (e.interval.upper < 0) return worse;
  return 'no clear difference';
}

// ---- selections shared with the charts ----

const trainRows = (rows: AggregateRow[]) => rows.filter((r) => !inStudy(r, 'latency'));

/** (dataset, L) pairs of the main comparison, each dataset's L ascending. */
export function mainGroups(rows: AggregateRow[]): Array<{ dataset: string; L: number }> {
  const out: Array<{ dataset: string; L: number }> = [];
  for (const r of rows) {
    if (inStudy(r, 'main') && !isFullOracle(r) && !out.some((g) => g.dataset === r.dataset && g.L === r.L)) out.push({ dataset: r.dataset, L: r.L });
  }
  const datasets = [...new Set(out.map((g) => g.dataset))];
  return datasets.flatMap((d) => out.filter((g) => g.dataset === d).sort((a, b) => a.L - b.L));
}

/**
 * The headline: synthetic data (else the first dataset) at the main L where most neural methods
 * were trained, the largest such L on a tie (where a cost budget left only the L-free methods, a
 * "best baseline" would mean nothing).
 */
export function headlineGroup(rows: AggregateRow[]): { dataset: string; L: number } | undefined {
  const groups = mainGroups(rows);
  const dataset = groups.some((g) => g.dataset === 'synthetic') ? 'synthetic' : groups[0]?.dataset;
  const trained = (g: { dataset: string; L: number }) => comparisonRows(rows, g.dataset, g.L).filter((r) => isNeural(r) && r.status === 'ok' && r.metrics.auc !== undefined).length;
  let best: { dataset: string; L: number } | undefined;
  for (const g of groups.filter((x) => x.dataset === dataset)) if (best === undefined || trained(g) >= trained(best)) best = g;
  return best;
}

/** The headline's rows: the comparison at L and the whole-history runs (at no particular L) filed at another L. */
function headlineRows(rows: AggregateRow[], dataset: string, L: number): AggregateRow[] {
  const whole = trainRows(rows).filter((r) => r.dataset === dataset && r.L !== L && r.variant === 'whole-history' && inStudy(r, 'main') && !isFullOracle(r));
  return sortRows([...comparisonRows(rows, dataset, L), ...whole]);
}

/** The full-history oracle of a dataset (the same model whatever L the run was filed under). */
export function fullOracle(rows: AggregateRow[], dataset: string, L: number): AggregateRow | undefined {
  const candidates = trainRows(rows).filter((r) => isFullOracle(r) && r.dataset === dataset && r.metrics.auc !== undefined);
  return candidates.find((r) => r.L === L) ?? candidates[0];
}

/** Rows of one main table: the main runs at (dataset, L), oracle@L, the full-history oracle. */
export function comparisonRows(rows: AggregateRow[], dataset: string, L: number): AggregateRow[] {
  const main = trainRows(rows).filter((r) => r.dataset === dataset && r.L === L && !isFullOracle(r) && (inStudy(r, 'main') || isOracleAtL(r)));
  const full = fullOracle(rows, dataset, L);
  return sortRows(full !== undefined ? [...main, full] : main);
}

export function vqlRow(rows: AggregateRow[], dataset: string, L: number): AggregateRow | undefined {
  const candidates = trainRows(rows).filter((r) => isSubject(r) && r.variant === 'default' && r.dataset === dataset && r.L === L && r.status === 'ok');
  return candidates.find((r) => inStudy(r, 'main')) ?? candidates[0];
}

export interface CostPoint {
  stat: Stat;
  /** The L the cost was measured at (the nearest measured when not the row's own). */
  L: number;
}

/** A method's online cost at L, or at the nearest measured L (log distance). */
export function costAt(rows: AggregateRow[], method: string, L: number, metric: 'latencyP50Ms100' | 'cacheBytesPerUser'): CostPoint | undefined {
  const measured = rows.filter((r) => inStudy(r, 'latency') && r.method === method && r.variant === 'default' && r.metrics[metric] !== undefined);
  if (measured.length === 0) return undefined;
  const nearest = measured.reduce((a, b) => (Math.abs(Math.log(b.L / L)) < Math.abs(Math.log(a.L / L)) ? b : a));
  return { stat: nearest.metrics[metric]!, L: nearest.L };
}

/** Neural rows whose mean AUC is below the floor's on the same dataset and L (and history: whole-history rows against the whole-history floor). */
export function belowFloor(rows: AggregateRow[]): Array<{ row: AggregateRow; floor: AggregateRow }> {
  const train = trainRows(rows);
  const out: Array<{ row: AggregateRow; floor: AggregateRow }> = [];
  for (const row of train) {
    if (!isNeural(row) || row.metrics.auc === undefined) continue;
    const whole = row.variant === 'whole-history';
    const floor = train.find((f) => isFloor(f) && (f.variant === 'whole-history') === whole && f.dataset === row.dataset && f.L === row.L && f.metrics.auc !== undefined);
    if (floor !== undefined && row.metrics.auc.mean < floor.metrics.auc!.mean) out.push({ row, floor });
  }
  return out;
}

/** The ablation rows of each dataset with the full VQL they are measured against. */
export function ablationGroups(rows: AggregateRow[]): Array<{ dataset: string; full: AggregateRow | undefined; variants: AggregateRow[] }> {
  const ablations = trainRows(rows).filter((r) => inStudy(r, 'ablation'));
  const datasets = [...new Set(ablations.map((r) => r.dataset))];
  return datasets.map((dataset) => {
    const variants = ablations.filter((r) => r.dataset === dataset);
    return { dataset, full: vqlRow(rows, dataset, variants[0]!.L), variants };
  });
}

// ---- sections ----

function formatCost(c: CostPoint | undefined, digits: number, atL: number): string {
  if (c === undefined) return '—';
  const text = formatStat(c.stat, digits);
  return c.L === atL ? text : `${text} (at L = ${humanLength(c.L)})`;
}

function headline(rows: AggregateRow[], evidence: PairedEvidence): string[] {
  const group = headlineGroup(rows);
  if (group === undefined) return ['## Headline', '', 'No main comparison in these results.'];
  const { dataset, L } = group;
  const table = headlineRows(rows, dataset, L);
  const vql = vqlRow(rows, dataset, L);
  const withCost = table.some((r) => costAt(rows, r.method, L, 'latencyP50Ms100') !== undefined || costAt(rows, r.method, L, 'cacheBytesPerUser') !== undefined);
  const withHistory = table.some((r) => r.historyPolicy !== undefined);
  const seeds = Math.max(...table.map((r) => r.metrics.auc?.n ?? 0));
  const diffs = new Map(table.filter((r) => vql !== undefined && r !== vql && r.status === 'ok').map((r) => [r, evidence.difference(vql!.runs, r.runs)]));

  const sentences: string[] = [`**${dataset} data, L = ${humanLength(L)}, ${seeds} seed${seeds === 1 ? '' : 's'}.**`];
  const auc = (r: AggregateRow | undefined) => formatStat(r?.metrics.auc, 4);
  if (vql === undefined) sentences.push('VQL was not run here.');
  else {
    sentences.push(`VQL reaches test AUC ${auc(vql)}.`);
    // VQL's other variants (whole-history) are VQL, not baselines: reported on their own.
    const whole = table.find((r) => isSubject(r) && r.variant === 'whole-history' && r.status === 'ok' && r.metrics.auc !== undefined);
    if (whole !== undefined) {
      sentences.push(`VQL trained and scored on whole histories (causal caches, L-free) reaches ${auc(whole)} (whole-history − newest-${humanLength(L)} VQL: ${formatInterval(evidence.difference(whole.runs, vql.runs))}).`);
    }
    const baselines = table.filter((r) => isNeural(r) && !isSubject(r) && r.status === 'ok' && r.metrics.auc !== undefined);
    const best = baselines.reduce<AggregateRow | undefined>((a, b) => (a === undefined || b.metrics.auc!.mean > a.metrics.auc!.mean ? b : a), undefined);
    if (best !== undefined) {
      const d = diffs.get(best)!;
      sentences.push(`The best baseline, ${rowLabel(best)}, reaches ${auc(best)} (VQL − ${rowLabel(best)}: ${formatInterval(d)}).`);
    }
    const names = (pred: (e: Evidence) => boolean) => baselines.filter((r) => pred(diffs.get(r)!)).map(rowLabel);
    const withIntervals = baselines.filter((r) => diffs.get(r)!.interval !== undefined);
    if (withIntervals.length > 0) {
      const beats = names((e) => e.interval !== undefined && e.interval.lower > 0);
      const loses = names((e) => e.interval !== undefined && e.interval.upper < 0);
      const ties = names((e) => e.interval !== undefined && e.interval.lower <= 0 && e.interval.upper >= 0);
      sentences.push(
        `With 95% paired intervals, VQL beats ${beats.length} of ${withIntervals.length} baselines${beats.length > 0 ? ` (${beats.join(', ')})` : ''}` +
          `${loses.length > 0 ? `; it loses to ${loses.join(', ')}` : ''}${ties.length > 0 ? `; no clear difference from ${ties.join(', ')}` : ''}.`,
      );
    } else if (baselines.length > 0) {
      const above = baselines.filter((r) => r.metrics.auc!.mean < vql.metrics.auc!.mean).length;
      sentences.push(`By mean AUC VQL is above ${above} of ${baselines.length} baselines (no paired intervals: ${evidence.available ? 'predictions missing for these runs' : 'these results have no predictions files'}).`);
    }
  }
  const notRun = table.filter((r) => r.status === 'not-run-cost').map(rowLabel);
  if (notRun.length > 0) sentences.push(`Not run at this L (cost): ${notRun.join(', ')}.`);
  const atL = table.find(isOracleAtL);
  const full = table.find(isFullOracle);
  const floor = table.find((r) => isFloor(r) && r.variant === 'default');
  const wholeFloor = table.find((r) => isFloor(r) && r.variant === 'whole-history');
  const refs = [
    atL !== undefined ? `oracle@${humanLength(L)} ${auc(atL)}` : undefined,
    full !== undefined ? `full-history oracle ${auc(full)}` : undefined,
    floor !== undefined ? `logistic floor ${auc(floor)}` : undefined,
    wholeFloor !== undefined ? `logistic floor on the whole history ${auc(wholeFloor)}` : undefined,
  ].filter((s): s is string => s !== undefined);
  if (refs.length > 0) sentences.push(`References: ${refs.join(', ')}.`);
  // Larger main L than the headline's: what ran there, in one sentence each.
  for (const g of mainGroups(rows).filter((x) => x.dataset === dataset && x.L > L)) {
    const at = comparisonRows(rows, dataset, g.L);
    const ran = at.filter((r) => isNeural(r) && r.status === 'ok' && r.metrics.auc !== undefined).map((r) => `${rowLabel(r)} ${auc(r)}`);
    const skipped = at.filter((r) => r.status === 'not-run-cost').map(rowLabel);
    const oracle = at.find(isOracleAtL);
    sentences.push(
      `At L = ${humanLength(g.L)}: ${ran.length > 0 ? ran.join(', ') : 'no neural method ran'}${oracle !== undefined ? ` (oracle@${humanLength(g.L)} ${auc(oracle)})` : ''}` +
        `${skipped.length > 0 ? `; not run (cost): ${skipped.join(', ')}` : ''}.`,
    );
  }
  if (vql !== undefined) {
    const mine = costAt(rows, methodWithRole('subject'), L, 'latencyP50Ms100');
    const exact = costAt(rows, methodWithRole('exact'), L, 'latencyP50Ms100');
    if (mine !== undefined && exact !== undefined) {
      sentences.push(`Online p50 for 100 candidates: VQL ${formatCost(mine, 3, L)} ms, full attention ${formatCost(exact, 3, L)} ms.`);
    }
  }

  const titles = ['method', ...(withHistory ? ['history'] : []), 'AUC', 'VQL − method (95% CI)', ...(withCost ? ['p50 ms (100 cand.)', 'state bytes/user'] : [])];
  const lines = [`| ${titles.join(' | ')} |`, `|---|${titles.slice(1).map((t) => (t === 'history' ? '---' : '---:')).join('|')}|`];
  for (const r of table) {
    const d = diffs.get(r);
    const cells = [
      rowLabel(r),
      ...(withHistory ? [historyText(r)] : []),
      r.status === 'not-run-cost' ? notRunText(r) : formatStat(r.metrics.auc, 4),
      r === vql ? '—' : d !== undefined ? formatInterval(d) : '—',
      ...(withCost ? [formatCost(costAt(rows, r.method, L, 'latencyP50Ms100'), 3, L), formatCost(costAt(rows, r.method, L, 'cacheBytesPerUser'), 0, L)] : []),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return ['## Headline', '', sentences.join(' '), '', lines.join('\n')];
}

function checks(rows: AggregateRow[], evidence: PairedEvidence): string[] {
  const hasFloor = rows.some((r) => isFloor(r) && r.metrics.auc !== undefined);
  if (!hasFloor) return [];
  const flags = belowFloor(rows);
  if (flags.length === 0) return ['## Checks', '', 'Every neural method is above the logistic floor on the same dataset and L.'];
  return [
    '## Checks',
    '',
    `**Below the floor** (a neural method under a logistic model on observable features is a bug to find, not a result):`,
    '',
    ...flags.map(({ row, floor }) => {
      const d = evidence.difference(row.runs, floor.runs);
      return `- **${rowLabel(row)}** on ${row.dataset} at L = ${humanLength(row.L)}: AUC ${formatStat(row.metrics.auc, 4)} < floor ${formatStat(floor.metrics.auc, 4)} (difference ${formatInterval(d)})`;
    }),
  ];
}

function pairedTable(rows: AggregateRow[], dataset: string, L: number, evidence: PairedEvidence): string[] {
  const vql = vqlRow(rows, dataset, L);
  if (vql === undefined) return [];
  // Rows without a score (a reference that does not apply to this dataset) have nothing to pair.
  const others = comparisonRows(rows, dataset, L).filter((r) => r !== vql && (r.status === 'not-run-cost' || r.metrics.auc !== undefined));
  if (others.length === 0) return [];
  const lines = ['| method | VQL − method: AUC (95% CI) | std over seeds | verdict |', '|---|---:|---:|---|'];
  for (const r of others) {
    if (r.status === 'not-run-cost') {
      lines.push(`| ${rowLabel(r)} | ${notRunText(r)} | — | — |`);
      continue;
    }
    const d = evidence.difference(vql.runs, r.runs);
    const std = d.interval !== undefined && d.interval.seeds > 1 ? d.interval.seedStd.toFixed(4) : '—';
    lines.push(`| ${rowLabel(r)} | ${formatInterval(d)} | ${std} | ${verdict(d, 'VQL better', 'VQL worse')} |`);
  }
  return ['', `Paired differences, VQL − method (bootstrap over test users, ${evidence.resamples} resamples; over seeds: mean of per-seed differences):`, '', lines.join('\n')];
}

function ablationSection(rows: AggregateRow[], evidence: PairedEvidence): string[] {
  const groups = ablationGroups(rows);
  if (groups.length === 0) return [];
  const out = ['## VQL ablations', '', 'Test AUC of each variant and its paired difference from full VQL (negative: the removed part helps).'];
  for (const g of groups) {
    out.push('', `### ${g.dataset} (L = ${humanLength(g.variants[0]!.L)})`, '', '| variant | AUC | variant − full VQL (95% CI) | verdict |', '|---|---:|---:|---|');
    if (g.full !== undefined) out.push(`| vql (full) | ${formatStat(g.full.metrics.auc, 4)} | — | — |`);
    for (const v of g.variants) {
      const d: Evidence = g.full === undefined ? { seeds: 0, of: v.runs.length, missing: 'no full VQL run at this L' } : evidence.difference(v.runs, g.full.runs);
      out.push(`| ${v.variant} | ${formatStat(v.metrics.auc, 4)} | ${formatInterval(d)} | ${verdict(d, 'ablation better', 'the removed part helps')} |`);
    }
  }
  return out;
}

function paretoSection(rows: AggregateRow[]): string[] {
  const group = headlineGroup(rows);
  if (group === undefined || !rows.some((r) => inStudy(r, 'latency'))) return [];
  const { dataset, L } = group;
  const table = comparisonRows(rows, dataset, L).filter((r) => isNeural(r) && r.status === 'ok' && r.metrics.auc !== undefined);
  const lines = ['| method | AUC | p50 ms (100 candidates) | state bytes/user |', '|---|---:|---:|---:|'];
  for (const r of table) {
    lines.push(`| ${rowLabel(r)} | ${formatStat(r.metrics.auc, 4)} | ${formatCost(costAt(rows, r.method, L, 'latencyP50Ms100'), 3, L)} | ${formatCost(costAt(rows, r.method, L, 'cacheBytesPerUser'), 0, L)} |`);
  }
  return ['', `## Accuracy against online cost (${dataset}, L = ${humanLength(L)})`, '', 'Latency and state from the latency study at the same L, or the nearest measured (marked); "—": not measured for that method.', '', lines.join('\n')];
}

function lengthSection(rows: AggregateRow[]): string[] {
  // The full-history oracle does not depend on L: one line under the table, not a row.
  const lSweep = trainRows(rows).filter((r) => inStudy(r, 'length-sweep') && !isFullOracle(r));
  if (lSweep.length === 0) return [];
  const dataset = lSweep[0]!.dataset;
  const lengths = new Set(lSweep.map((r) => r.L));
  const atL = trainRows(rows).filter((r) => isOracleAtL(r) && r.dataset === dataset && lengths.has(r.L) && !lSweep.includes(r));
  const table = sortRows([...lSweep, ...atL]);
  const full = fullOracle(rows, dataset, Math.max(...lengths));
  return [
    '',
    `## History length L (${dataset}, AUC)`,
    '',
    pivot(table, (r) => (isOracleAtL(r) ? 'oracle@L' : rowLabel(r)), (r) => r.L, 'auc', 4, 'max', 'method', (l) => `L=${humanLength(l)}`),
    ...(full !== undefined ? ['', `Full-history oracle: ${formatStat(full.metrics.auc, 4)}.`] : []),
  ];
}

export function renderMarkdown(rows: AggregateRow[], ctx: ReportContext, evidence: PairedEvidence): string {
  const out: string[] = [`# vql experiment report: \`${ctx.experiment}\``, '', ...headline(rows, evidence)];
  const check = checks(rows, evidence);
  if (check.length > 0) out.push('', ...check);
  out.push('', CHARTS_MARKER, '', `Generated ${ctx.generatedAt}. Charts are in report.html.`);
  if (ctx.skippedDatasets.length > 0) out.push('', `Skipped (not found): ${ctx.skippedDatasets.join(', ')}.`);
  for (const note of ctx.notes) out.push('', note);
  out.push(
    '',
    evidence.available
      ? `Intervals: paired bootstrap over test users (${evidence.resamples} resamples, every method on the same resamples of its test set, 95% percentile interval). ` +
          'With several seeds (each its own data), the interval is for the mean difference over seeds: combined replicate r is the mean of the seeds\' replicates r. ' +
          'It covers test-set sampling given the trained models; training-seed variation is the "std over seeds" column.'
      : 'Intervals: none — these results have no per-run predictions files (results.json written before they existed); tables show mean ± sample std over seeds.',
  );
  const groups = mainGroups(rows);
  if (groups.length > 0) {
    out.push('', '## Main comparison', '', 'Test-split metrics, mean ± sample std over seeds; best per column in bold (the oracle is the ceiling, not a competitor).');
    for (const { dataset, L } of groups) {
      out.push('', `### ${dataset} (L = ${humanLength(L)})`, '', markdownTable(comparisonRows(rows, dataset, L), rowLabel, MAIN_COLUMNS, 'method'), ...pairedTable(rows, dataset, L, evidence));
    }
  }
  out.push(...ablationSection(rows, evidence).flatMap((l, i) => (i === 0 ? ['', l] : [l])));
  const kSweep = trainRows(rows).filter((r) => inStudy(r, 'codebook-sweep'));
  if (kSweep.length > 0) {
    out.push('', `## Codebook size K (${kSweep[0]!.dataset}, L = ${kSweep[0]!.L}; groups get K/4^(G−1−g) codes)`, '',
      pivot(kSweep, () => methodWithRole('subject'), (r) => r.K, 'auc', 4, 'max', 'AUC', (k) => `K=${k}`));
  }
  const gSweep = trainRows(rows).filter((r) => inStudy(r, 'group-sweep'));
  if (gSweep.length > 0) {
    out.push('', `## Head groups G (${gSweep[0]!.dataset}, L = ${gSweep[0]!.L})`, '',
      pivot(gSweep, () => methodWithRole('subject'), (r) => r.G, 'auc', 4, 'max', 'AUC', (g) => `G=${g}`));
  }
  out.push(...lengthSection(rows), ...paretoSection(rows));
  const latency = rows.filter((r) => inStudy(r, 'latency'));
  if (latency.length > 0) {
    out.push('', '## Online latency per request (ms, p50; 1 candidate)', '',
      pivot(latency, (r) => r.method, (r) => r.L, 'latencyP50Ms', 3, 'min', 'method', (l) => `L=${humanLength(l)}`),
      '', '## Online latency per request (ms, p50; 100 candidates)', '',
      pivot(latency, (r) => r.method, (r) => r.L, 'latencyP50Ms100', 3, 'min', 'method', (l) => `L=${humanLength(l)}`),
      '', '## State kept per user (bytes)', '',
      pivot(latency, (r) => r.method, (r) => r.L, 'cacheBytesPerUser', 0, 'min', 'method', (l) => `L=${humanLength(l)}`));
  }
  if (evidence.problems.length > 0) {
    out.push('', '## Unusable prediction files', '', ...evidence.problems.map((p) => `- ${p}`));
  }
  return `${out.join('\n')}\n`;
}
