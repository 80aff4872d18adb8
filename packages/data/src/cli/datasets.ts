#!/usr/bin/env node
import { Command } from 'commander';
import { DATASET_NAMES, datasetDir, defaultDataDir, loadDatasetWithInfo } from '../load-dataset.js';
import type { DatasetName } from '../load-dataset.js';
import { datasetStats } from '../stats.js';

const program = new Command()
  .name('vql-datasets')
  .description('Per-dataset stats: users, items, events, label balance, per-user length percentiles.')
  .argument('[names...]', `datasets (${DATASET_NAMES.join(', ')}); default all`)
  .option('--data-dir <dir>', 'dataset root (default: $VQL_DATA_DIR or <repo>/../shared/datasets)')
  .option('--cache-dir <dir>', 'Arrow cache folder (default: <repo>/.vql-cache/data)')
  .option('--no-cache', 'parse the source files without the Arrow cache')
  .option('--json', 'print JSON instead of a table');

program.parse();
const opts = program.opts<{ dataDir?: string; cacheDir?: string; cache: boolean; json?: boolean }>();
const names = (program.args.length > 0 ? program.args : [...DATASET_NAMES]) as string[];
for (const name of names) {
  if (!(DATASET_NAMES as readonly string[]).includes(name)) {
    console.error(`vql-datasets: unknown dataset "${name}" (expected ${DATASET_NAMES.join(', ')})`);
    process.exit(2);
  }
}
const dataDir = opts.dataDir ?? defaultDataDir();
const rows: Record<string, unknown>[] = [];
for (const name of names as DatasetName[]) {
  if (datasetDir(name, dataDir) === null) {
    console.error(`skip ${name}: not found under ${dataDir}`);
    continue;
  }
  const t0 = performance.now();
  const { table, fromCache } = await loadDatasetWithInfo(name, {
    dataDir,
    ...(opts.cache ? (opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}) : { cacheDir: false }),
  });
  const s = datasetStats(table);
  const r = table.report;
  const dropped = r.rowsRead - r.eventsKept;
  rows.push({
    dataset: name,
    users: s.users,
    items: s.items,
    rows: s.rowsRead,
    events: s.events,
    dropped: dropped === 0 ? '0' : `${dropped} (dup ${r.droppedDuplicates}, time ${r.droppedNegativeTime + r.droppedFutureTime + r.droppedOutOfWindow}, users ${r.droppedShortUserEvents})`,
    positiveRate: s.hasExplicitLabels ? s.positiveRate.toFixed(3) : 'implicit',
    p50: +s.length.p50.toFixed(2),
    p90: +s.length.p90.toFixed(2),
    p99: +s.length.p99.toFixed(2),
    max: s.length.max,
    load: `${(performance.now() - t0).toFixed(0)} ms${fromCache ? ' (cache)' : ''}`,
  });
}
if (opts.json) console.log(JSON.stringify(rows, null, 2));
else console.table(rows);
