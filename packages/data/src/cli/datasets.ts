#!/usr/bin/env node
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { Command } from 'commander';
import { isVqlError } from '@vql/errors';
import { VqlDataError } from '../errors.js';
import { loadEventSchema } from '../event-schema.js';
import { readEvents } from '../events.js';
import { DATASET_DIRS, DATASET_NAMES, datasetDir, defaultDataDir, loadDatasetWithInfo } from '../load-dataset.js';
import type { DatasetName } from '../load-dataset.js';
import { readLongCtr } from '../longctr.js';
import { datasetStats } from '../stats.js';
import type { EventTable } from '../types.js';

/** Codes that mean the command line itself was wrong: exit code 2 (other failures exit 1). */
const USAGE_CODES = ['UNKNOWN_DATASET', 'INVALID_ARGUMENT'] as const;

/** Paths as the user typed them: `pnpm --filter @vql/data datasets ...` runs in the package folder but keeps INIT_CWD. */
function userPath(path: string): string {
  return isAbsolute(path) ? path : resolve(process.env['INIT_CWD'] ?? process.cwd(), path);
}

function statsRow(name: string, table: EventTable, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const s = datasetStats(table);
  const r = table.report;
  const dropped = r.rowsRead - r.eventsKept;
  const other = Object.entries(r.droppedOther).map(([k, v]) => `${k} ${v}`);
  return {
    dataset: name,
    users: s.users,
    items: s.items,
    rows: s.rowsRead,
    events: s.events,
    dropped:
      dropped === 0
        ? '0'
        : `${dropped} (dup ${r.droppedDuplicates}, time ${r.droppedNegativeTime + r.droppedFutureTime + r.droppedOutOfWindow}, users ${r.droppedShortUserEvents}${other.length > 0 ? `, ${other.join(', ')}` : ''})`,
    positiveRate: s.hasExplicitLabels ? s.positiveRate.toFixed(3) : 'implicit',
    p50: +s.length.p50.toFixed(2),
    p90: +s.length.p90.toFixed(2),
    p99: +s.length.p99.toFixed(2),
    max: s.length.max,
    ...extra,
  };
}

function print(rows: Record<string, unknown>[], json: boolean | undefined): void {
  if (json) console.log(JSON.stringify(rows, null, 2));
  else console.table(rows);
}

const program = new Command()
  .name('vql-datasets')
  .description('Per-dataset statistics of the shipped datasets, or of your own event log (inspect).')
  .option('--verbose', 'print the stack trace of an error')
  .showHelpAfterError();

program
  .command('stats', { isDefault: true })
  .description('users, items, events, label balance, per-user length percentiles of the shipped datasets')
  .argument('[names...]', `datasets (${DATASET_NAMES.join(', ')}); default all`)
  .option('--data-dir <dir>', 'dataset root (default: $VQL_DATA_DIR or <repo>/../shared/datasets)')
  .option('--cache-dir <dir>', 'Arrow cache folder (default: <repo>/.vql-cache/data)')
  .option('--no-cache', 'parse the source files without the Arrow cache')
  .option('--json', 'print JSON instead of a table')
  .action(async (args: string[], opts: { dataDir?: string; cacheDir?: string; cache: boolean; json?: boolean }) => {
    const names = args.length > 0 ? args : [...DATASET_NAMES];
    for (const name of names) {
      if (!(DATASET_NAMES as readonly string[]).includes(name)) {
        throw new VqlDataError('UNKNOWN_DATASET', `unknown dataset "${name}" (expected ${DATASET_NAMES.join(', ')})`);
      }
    }
    const dataDir = opts.dataDir !== undefined ? userPath(opts.dataDir) : defaultDataDir();
    const rows: Record<string, unknown>[] = [];
    for (const name of names as DatasetName[]) {
      if (datasetDir(name, dataDir) === null) {
        console.error(`skip ${name}: ${join(dataDir, DATASET_DIRS[name])} not found`);
        continue;
      }
      const t0 = performance.now();
      const { table, fromCache } = await loadDatasetWithInfo(name, {
        dataDir,
        ...(opts.cache ? (opts.cacheDir !== undefined ? { cacheDir: userPath(opts.cacheDir) } : {}) : { cacheDir: false }),
      });
      rows.push(statsRow(name, table, { load: `${(performance.now() - t0).toFixed(0)} ms${fromCache ? ' (cache)' : ''}` }));
    }
    if (rows.length === 0) {
      throw new VqlDataError('FILE_NOT_FOUND', `no dataset found under ${dataDir} (looked for ${names.map((n) => DATASET_DIRS[n as DatasetName]).join(', ')}); pass --data-dir or set VQL_DATA_DIR`);
    }
    print(rows, opts.json);
  });

program
  .command('inspect')
  .description('statistics and the first problems of your own event log (with --schema) or of a LongCTR folder')
  .argument('<file>', 'event log (.csv, .tsv, .gz, .parquet, .arrow) or a LongCTR folder')
  .option('-s, --schema <file>', 'events schema (JSON); not needed for a LongCTR folder')
  .option('--problems <n>', 'problems to list', (v) => Number.parseInt(v, 10), 10)
  .option('--json', 'print JSON instead of a table')
  .action(async (fileArg: string, opts: { schema?: string; problems: number; json?: boolean }) => {
    const file = userPath(fileArg);
    if (!existsSync(file)) throw new VqlDataError('FILE_NOT_FOUND', `${file}: not found`);
    if (statSync(file).isDirectory()) {
      if (opts.schema !== undefined) throw new VqlDataError('INVALID_ARGUMENT', `${file} is a folder (read as the LongCTR layout); --schema is for event log files`);
      const { table, splits, skippedSamples, skippedItemColumns } = await readLongCtr({ dir: file });
      // The sequences are all positives; the label balance that matters is the samples'.
      const positives = splits.train.label.reduce((n, y) => n + y, 0);
      const rate = splits.train.size > 0 ? (positives / splits.train.size).toFixed(3) : 'n/a';
      print([statsRow(table.name, table, { positiveRate: `${rate} (train samples)`, samples: `${splits.train.size}/${splits.valid.size}/${splits.test.size}` })], opts.json);
      if (skippedSamples > 0) console.log(`${skippedSamples} samples skipped: their user has no behaviour in user_info.parquet`);
      if (skippedItemColumns.length > 0) console.log(`item_info columns not used: ${skippedItemColumns.join(', ')} (float lists, or copies of item_index)`);
      return;
    }
    if (opts.schema === undefined) throw new VqlDataError('INVALID_ARGUMENT', 'inspect: --schema <file> is required for an event log file (see the @vql/data README, "Bring your own events")');
    const schema = loadEventSchema(userPath(opts.schema));
    const problems: VqlDataError[] = [];
    let count = 0;
    const table = await readEvents(file, schema, {
      onProblem: (e) => {
        count++;
        if (problems.length < opts.problems) problems.push(e);
      },
    });
    print([statsRow(table.name, table)], opts.json);
    if (count === 0) console.log('no problems found');
    else {
      console.log(`${count} bad row${count > 1 ? 's' : ''} skipped; the first ${problems.length}:`);
      for (const p of problems) console.log(`  ${p.message}`);
      process.exitCode = 1;
    }
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const e = error as Error & { exitCode?: number };
  console.error(`vql-datasets: ${isVqlError(e) ? '' : `${e.name}: `}${e.message}`);
  if (program.opts<{ verbose?: boolean }>().verbose === true) console.error(e.stack);
  process.exitCode = isVqlError(e, USAGE_CODES) ? 2 : 1;
}
