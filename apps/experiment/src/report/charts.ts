import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { AggregateRow } from './aggregate.js';
import { inStudy } from './aggregate.js';

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

/** The report's charts as SVG strings (Vega-Lite compiled and rendered in Node, no browser). */
export async function renderCharts(rows: AggregateRow[]): Promise<Chart[]> {
  const charts: Chart[] = [];
  const lSweep = rows.filter((r) => inStudy(r, 'length-sweep') && r.metrics.auc);
  if (lSweep.length > 0) {
    charts.push({
      title: `AUC vs history length L (${lSweep[0]!.dataset})`,
      svg: await toSvg({
        width: WIDTH, height: HEIGHT,
        data: { values: lSweep.map((r) => ({ method: r.method, L: r.L, auc: r.metrics.auc!.mean })) },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'L', type: 'quantitative', scale: { type: 'log' }, title: 'history length L' },
          y: { field: 'auc', type: 'quantitative', scale: { zero: false }, title: 'test AUC' },
          color: { field: 'method', type: 'nominal' },
        },
      }),
    });
  }
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
  const ablated = new Set(rows.filter((r) => inStudy(r, 'ablation')).map((r) => r.dataset));
  const ablation = rows.filter((r) => ablated.has(r.dataset) && (inStudy(r, 'ablation') || (inStudy(r, 'main') && r.method === 'vql')) && r.metrics.auc);
  if (rows.some((r) => inStudy(r, 'ablation'))) {
    charts.push({
      title: 'VQL ablations (test AUC)',
      svg: await toSvg({
        width: { step: 18 } as unknown as number, height: HEIGHT,
        data: { values: ablation.map((r) => ({ variant: r.variant === 'default' ? 'vql (full)' : r.variant, dataset: r.dataset, auc: r.metrics.auc!.mean })) },
        mark: 'bar',
        encoding: {
          column: { field: 'dataset', type: 'nominal' },
          x: { field: 'variant', type: 'nominal', title: null },
          y: { field: 'auc', type: 'quantitative', scale: { zero: false }, title: 'test AUC' },
          color: { field: 'variant', type: 'nominal' },
        },
      } as TopLevelSpec),
    });
  }
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
