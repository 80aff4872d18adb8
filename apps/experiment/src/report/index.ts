import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRecord } from '../results.js';
import { toCsv } from '../results.js';
import { aggregate } from './aggregate.js';
import { renderCharts } from './charts.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import type { ReportContext } from './markdown.js';
import { PairedEvidence } from './paired.js';
import type { PairedEvidenceOptions } from './paired.js';

export { aggregate, formatStat, inStudy } from './aggregate.js';
export type { AggregateRow } from './aggregate.js';
export type { ReportContext } from './markdown.js';
export { PairedEvidence, ReportInputError, bootstrapSeed } from './paired.js';
export type { Evidence, PairedEvidenceOptions } from './paired.js';

/**
 * Writes results.csv, report.md and report.html next to results.json. Paired intervals come
 * from the runs' predictions files under `outDir` (when the records name them).
 */
export async function writeReport(outDir: string, records: readonly RunRecord[], ctx: ReportContext, options: PairedEvidenceOptions = {}): Promise<{ markdown: string }> {
  const rows = aggregate(records);
  const evidence = new PairedEvidence(outDir, records, options);
  const charts = await renderCharts(rows, evidence);
  const markdown = renderMarkdown(rows, ctx, evidence);
  writeFileSync(join(outDir, 'results.csv'), toCsv(records));
  writeFileSync(join(outDir, 'report.md'), markdown);
  writeFileSync(join(outDir, 'report.html'), renderHtml(markdown, charts));
  return { markdown };
}
