import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { AggregateRow } from './aggregate.js';
import { humanLength, inStudy, isFullOracle, isNeural, isOracleAtL, rowLabel } from './aggregate.js';
import { ablationGroups, comparisonRows, costAt, fullOracle, headlineGroup } from './markdown.js';
import type { Evidence, PairedEvidence } from './paired.js';

async function toSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const WIDTH = 420;
const HEIGHT = 260;

export interface Chart {
  title: string;
  svg: string;
}

interface Bar {
  lo: number;
  hi: number;
}

/** Error bar of a row's AUC: the 95% bootstrap interval, else ± std over seeds, else none. */
function aucBar(row: AggregateRow, evidence: PairedEvidence): { bar?: Bar; kind: 'ci' | 'std' | 'none' } {
  const e = evidence.auc(row.runs);
  if (e.interval !== undefined && e.seeds === e.of) return { bar: { lo: e.interval.lower, hi: e.interval.upper }, kind: 'ci' };
  const s = row.metrics.auc;
  if (s !== undefined && s.n > 1) return { bar: { lo: s.mean - s.std, hi: s.mean + s.std }, kind: 'std' };
  return { kind: 'none' };
}

function barsCaption(kinds: Set<string>): string {
  if (kinds.has('ci') && !kinds.has('std')) return 'bars: 95% bootstrap interval';
  if (kinds.has('std') && !kinds.has('ci')) return 'bars: ± std over seeds';
  if (kinds.has('ci')) return 'bars: 95% bootstrap interval, or ± std over seeds where predictions are missing';
  return 'no bars: one seed and no predictions files';
}

async function lengthChart(rows: AggregateRow[], evidence: PairedEvidence): Promise<Chart | undefined> {
  const lSweep = rows.filter((r) => inStudy(r, 'length-sweep') && !inStudy(r, 'latency') && !isFullOracle(r) && r.metrics.auc);
  if (lSweep.length === 0) return undefined;
  const dataset = lSweep[0]!.dataset;
  const lengths = new Set(lSweep.map((r) => r.L));
  const atL = rows.filter((r) => isOracleAtL(r) && r.dataset === dataset && lengths.has(r.L) && r.metrics.auc && !lSweep.includes(r));
  const kinds = new Set<string>();
  const values = [...lSweep, ...atL].map((r) => {
    const { bar, kind } = aucBar(r, evidence);
    kinds.add(kind);
    return { method: isOracleAtL(r) ? 'oracle@L' : rowLabel(r), L: r.L, auc: r.metrics.auc!.mean, ...(bar ?? {}) };
  });
  const full = fullOracle(rows, dataset, Math.max(...lengths));
  // x and colour per layer: the full-oracle rule has neither, and would inherit (and lose) them.
  const x = { field: 'L', type: 'quantitative', scale: { type: 'log' }, title: 'history length L' };
  const color = { field: 'method', type: 'nominal' };
  const layers: object[] = [
    { data: { values }, mark: { type: 'line', point: true }, encoding: { x, color, y: { field: 'auc', type: 'quantitative', scale: { zero: false }, title: 'test AUC' } } },
    { data: { values }, transform: [{ filter: 'isValid(datum.lo)' }], mark: 'rule', encoding: { x, color, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
  ];
  if (full !== undefined) {
    layers.push({ data: { values: [{ auc: full.metrics.auc!.mean }] }, mark: { type: 'rule', strokeDash: [4, 4], color: '#888' }, encoding: { y: { field: 'auc', type: 'quantitative' } } });
  }
  return {
    title: `AUC vs history length L (${dataset}; oracle@L = true model on the newest L${full !== undefined ? ', dashed = full-history oracle' : ''}; ${barsCaption(kinds)})`,
    svg: await toSvg({
      width: WIDTH,
      height: HEIGHT,
      layer: layers,
    } as unknown as TopLevelSpec),
  };
}

/** Pareto charts of the headline comparison: AUC against online latency and against state per user. */
async function paretoCharts(rows: AggregateRow[]): Promise<Chart[]> {
  const group = headlineGroup(rows);
  if (group === undefined) return [];
  const { dataset, L } = group;
  const candidates = comparisonRows(rows, dataset, L).filter((r) => isNeural(r) && r.status === 'ok' && r.metrics.auc !== undefined);
  const charts: Chart[] = [];
  for (const [metric, axis, what] of [
    ['latencyP50Ms100', 'online p50 latency, 100 candidates (ms)', 'online p50 latency (100 candidates)'],
    ['cacheBytesPerUser', 'state per user (bytes)', 'state bytes per user'],
  ] as const) {
    const points = candidates.flatMap((r) => {
      const c = costAt(rows, r.method, L, metric);
      if (c === undefined || !(c.stat.mean > 0)) return [];
      return [{ method: rowLabel(r), auc: r.metrics.auc!.mean, cost: c.stat.mean, label: c.L === L ? rowLabel(r) : `${rowLabel(r)} (cost at L=${humanLength(c.L)})` }];
    });
    if (points.length === 0) continue;
    const frontier = points
      .filter((p) => !points.some((q) => q !== p && q.auc >= p.auc && q.cost <= p.cost && (q.auc > p.auc || q.cost < p.cost)))
      .sort((a, b) => a.cost - b.cost);
    const missing = candidates.filter((r) => !points.some((p) => p.method === rowLabel(r))).map(rowLabel);
    charts.push({
      title: `Test AUC vs ${what} (${dataset}, L = ${humanLength(L)}; line = Pareto frontier${missing.length > 0 ? `; not measured: ${missing.join(', ')}` : ''})`,
      svg: await toSvg({
        width: WIDTH,
        height: HEIGHT,
        encoding: {
          x: { field: 'cost', type: 'quantitative', scale: { type: 'log' }, title: axis },
          y: { field: 'auc', type: 'quantitative', scale: { zero: false }, title: 'test AUC' },
        },
        layer: [
          { data: { values: frontier }, mark: { type: 'line', color: '#999', strokeDash: [3, 3] } },
          { data: { values: points }, mark: { type: 'point', filled: true, size: 60 }, encoding: { color: { field: 'method', type: 'nominal', legend: null } } },
          { data: { values: points }, mark: { type: 'text', align: 'left', dx: 6, dy: -6, fontSize: 10 }, encoding: { text: { field: 'label' } } },
        ],
      } as unknown as TopLevelSpec),
    });
  }
  return charts;
}

/** Ablations as paired differences from full VQL, with intervals around each (not bars from 0). */
async function ablationChart(rows: AggregateRow[], evidence: PairedEvidence): Promise<Chart | undefined> {
  const groups = ablationGroups(rows).filter((g) => g.full !== undefined && g.full.metrics.auc !== undefined);
  if (groups.length === 0) return undefined;
  const kinds = new Set<string>();
  const values = groups.flatMap((g) =>
    g.variants.filter((v) => v.metrics.auc !== undefined).map((v) => {
      const d: Evidence = evidence.difference(v.runs, g.full!.runs);
      let bar: Bar | undefined;
      let delta = v.metrics.auc!.mean - g.full!.metrics.auc!.mean;
      if (d.interval !== undefined && d.seeds === d.of) {
        bar = { lo: d.interval.lower, hi: d.interval.upper };
        delta = d.interval.estimate;
        kinds.add('ci');
      } else if (v.metrics.auc!.n > 1) {
        // No predictions: ± the std of the difference of two independent means' seeds.
        const s = Math.sqrt(v.metrics.auc!.std ** 2 + g.full!.metrics.auc!.std ** 2);
        bar = { lo: delta - s, hi: delta + s };
        kinds.add('std');
      } else kinds.add('none');
      return { variant: v.variant, dataset: g.dataset, row: `${g.dataset}: ${v.variant}`, delta, ...(bar ?? {}) };
    }),
  );
  if (values.length === 0) return undefined;
  const y = { field: 'row', type: 'nominal', title: null, sort: null, axis: { labelLimit: 320 } };
  return {
    title: `VQL ablations: AUC difference from full VQL (${barsCaption(kinds)})`,
    svg: await toSvg({
      width: WIDTH,
      height: { step: 22 } as unknown as number,
      layer: [
        { data: { values }, transform: [{ filter: 'isValid(datum.lo)' }], mark: 'rule', encoding: { y, x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' } } },
        { data: { values }, mark: { type: 'point', filled: true, size: 60 }, encoding: { y, x: { field: 'delta', type: 'quantitative', title: 'AUC − AUC of full VQL' }, color: { field: 'dataset', type: 'nominal' } } },
        { data: { values: [{ zero: 0 }] }, mark: { type: 'rule', color: '#888', strokeDash: [4, 4] }, encoding: { x: { field: 'zero', type: 'quantitative' } } },
      ],
    } as unknown as TopLevelSpec),
  };
}

/** The report's charts as SVG strings (Vega-Lite compiled and rendered in Node, no browser). */
export async function renderCharts(rows: AggregateRow[], evidence: PairedEvidence): Promise<Chart[]> {
  const charts: Chart[] = [];
  const length = await lengthChart(rows, evidence);
  if (length !== undefined) charts.push(length);
  charts.push(...(await paretoCharts(rows)));
  const latency = rows.filter((r) => inStudy(r, 'latency') && r.metrics.latencyP50Ms);
  if (latency.length > 0) {
    const values = latency.flatMap((r) => [
      { method: r.method, L: r.L, candidates: '1 candidate', ms: r.metrics.latencyP50Ms!.mean },
      ...(r.metrics.latencyP50Ms100 ? [{ method: r.method, L: r.L, candidates: '100 candidates', ms: r.metrics.latencyP50Ms100.mean }] : []),
    ]);
    charts.push({
      title: 'Online latency per request vs L (p50, log–log)',
      svg: await toSvg({
        width: WIDTH, height: HEIGHT,
        data: { values },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'L', type: 'quantitative', scale: { type: 'log' }, title: 'history length L' },
          y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'latency p50 (ms)' },
          color: { field: 'method', type: 'nominal' },
          strokeDash: { field: 'candidates', type: 'nominal' },
        },
      }),
    });
  }
  const ablation = await ablationChart(rows, evidence);
  if (ablation !== undefined) charts.push(ablation);
  for (const [study, field, label] of [['codebook-sweep', 'K', 'codebook size K (finest group)'], ['group-sweep', 'G', 'head groups G']] as const) {
    const sweep = rows.filter((r) => inStudy(r, study) && r.metrics.auc);
    if (sweep.length === 0) continue;
    charts.push({
      title: `VQL sensitivity to ${label}`,
      svg: await toSvg({
        width: WIDTH, height: HEIGHT,
        data: { values: sweep.map((r) => ({ x: r[field], auc: r.metrics.auc!.mean })) },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale: { type: field === 'K' ? 'log' : 'linear' }, title: label },
          y: { field: 'auc', type: 'quantitative', scale: { zero: false }, title: 'test AUC' },
        },
      }),
    });
  }
  return charts;
}
