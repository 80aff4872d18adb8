import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRecord } from '../results.js';
import { toCsv } from '../results.js';
import { aggregate } from './aggregate.js';
import { renderCharts } from './charts.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import type { ReportContext } from './markdown.js';

export { aggregate, formatStat, inStudy } from './aggregate.js';
export type { AggregateRow } from './aggregate.js';
export type { ReportContext } from './markdown.js';

/** Writes results.csv, report.md and report.html next to results.json. */
export async function writeReport(outDir: string, records: readonly RunRecord[], ctx: ReportContext): Promise<{ markdown: string }> {
  const rows = aggregate(records);
  const markdown = renderMarkdown(rows, ctx);
  const charts = await renderCharts(rows);
  writeFileSync(join(outDir, 'results.csv'), toCsv(records));
  writeFileSync(join(outDir, 'report.md'), markdown);
  writeFileSync(join(outDir, 'report.html'), renderHtml(markdown, charts));
  return { markdown };
}
