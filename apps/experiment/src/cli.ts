import { availableParallelism } from 'node:os';
import Table from 'cli-table3';
import { Command } from 'commander';
import { isVqlError } from '@vql/errors';
import { loadConfig } from './load-config.js';
import type { ConfigFlags } from './load-config.js';
import { defaultDataDir, repoRoot, resolveUserPath } from './paths.js';
import { checkOutDir, runExperiment } from './runner.js';
import { selfCheck } from './self-check.js';
import { ExperimentConfigError } from './errors.js';
import { aggregate, formatStat, inStudy } from './report/index.js';

interface RunFlags extends ConfigFlags {
  out?: string;
  dataDir?: string;
  fresh?: boolean;
  jobs?: string;
}

const program = new Command()
  .name('vql-experiment')
  .description('Reproduces the VQL comparison, ablations, sweeps and latency curves; writes results.json/csv and report.md/html.')
  .option('--verbose', 'print the stack trace of an error')
  .showHelpAfterError();

program
  .command('run', { isDefault: true })
  .description('run an experiment preset or config (default: the quick preset)')
  .option('-p, --preset <name>', 'smoke | quick | paper', 'quick')
  .option('-c, --config <file>', 'JSON config; "extends": "<preset>" picks its base')
  .option('-o, --out <dir>', 'output directory (default: out/<preset> in the repository)')
  .option('--data-dir <dir>', 'real datasets folder (default: $VQL_DATA_DIR or ../shared/datasets)')
  .option('--seed <n>', 'seed (comma list for several)')
  .option('--methods <list>', 'comma list of methods to run')
  .option('--datasets <list>', 'comma list of configured datasets to run')
  .option('--backend <name>', 'wasm | cpu')
  .option('-j, --jobs <n>', `training runs at once, one process each (default: the machine's cores, ${availableParallelism()} here); latency runs always run alone`)
  .option('--fresh', 'start over: an existing results.json is moved aside (results.<config>.json), never overwritten')
  .option('--events <file>', 'your own event log (.csv/.tsv[.gz], .parquet, .arrow) instead of the configured datasets')
  .option('--schema <file>', 'the events schema (JSON) of --events; see the @vql/data README')
  .option('--longctr <dir>', 'a reczoo/LongCTR Parquet folder instead of the configured datasets')
  .action(async (flags: RunFlags) => {
    const config = loadConfig(flags);
    const outDir = checkOutDir(flags.out !== undefined ? resolveUserPath(flags.out) : `${repoRoot()}/out/${config.name}`);
    const dataDir = flags.dataDir !== undefined ? resolveUserPath(flags.dataDir) : defaultDataDir();
    // Loaded only now: validation above must fail fast, before tfjs and the datasets load.
    const jobs = flags.jobs === undefined ? availableParallelism() : Number(flags.jobs);
    if (!Number.isInteger(jobs) || jobs < 1) throw new ExperimentConfigError('INVALID_FLAG', `--jobs must be a positive integer, got ${JSON.stringify(flags.jobs)}.`);
    const { createExecutor, availableDatasets } = await import('./execute.js');
    const { RunProcessPool } = await import('./run-pool.js');
    const available = availableDatasets(config, dataDir);
    console.log(`vql experiment "${config.name}": backend ${config.backend}, data ${dataDir}, output ${outDir}, ${jobs} job${jobs === 1 ? '' : 's'}`);
    const started = performance.now();
    const executor = jobs === 1 ? createExecutor(dataDir) : new RunProcessPool(jobs, dataDir);
    const summary = await runExperiment({ config, outDir, available, dataDir, executor, jobs, fresh: flags.fresh === true });
    printSummary(summary.records);
    console.log(
      `\n${summary.executed} runs executed, ${summary.resumed} resumed, in ${((performance.now() - started) / 60000).toFixed(1)} min. ` +
        `Wrote ${outDir}/results.json, results.csv, report.md, report.html`,
    );
  });

program
  .command('self-check')
  .description('check that this machine can train vql models (backends, kernels, metrics)')
  .option('--steps <n>', 'training steps per backend', (v) => Number.parseInt(v, 10), 40)
  .action(async (opts: { steps: number }) => {
    console.log('vql self-check (@vql/runtime + @vql/metrics)');
    const result = await selfCheck(opts.steps);
    for (const line of result.lines) console.log(`  ${line}`);
    console.log(result.ok ? 'self-check passed' : 'self-check FAILED');
    process.exitCode = result.ok ? 0 : 1;
  });

function printSummary(records: Parameters<typeof aggregate>[0]): void {
  const rows = aggregate(records).filter((r) => inStudy(r, 'main'));
  if (rows.length === 0) return;
  const plain = process.stdout.isTTY !== true;
  const table = new Table({ head: ['dataset', 'L', 'method', 'AUC', 'GAUC', 'LogLoss', 'samples/s'], ...(plain ? { style: { head: [], border: [] } } : {}) });
  for (const r of rows) {
    table.push([r.dataset, r.L, r.method, formatStat(r.metrics.auc, 4), formatStat(r.metrics.gauc, 4), formatStat(r.metrics.logloss, 4), formatStat(r.metrics.samplesPerSecond, 0)]);
  }
  console.log(`\nMain comparison (test split)\n${table.toString()}`);
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // One line for the user; the stack only on request (--verbose, or VQL_DEBUG=1). Config and
  // flag problems exit 2, everything else 1. Finished runs are in results.json either way.
  const e = error as Error & { code?: string };
  // Input problems the message already explains: the experiment's own and the data readers'.
  const known = isVqlError(error) && (error instanceof ExperimentConfigError || error.source === '@vql/data');
  const hint = known ? '' : ' (finished runs stay in results.json and resume; --verbose for the stack)';
  // A validation error lists its problems one per line: joined with "; " to keep one line.
  const message = e.message.replace(/:\n\s*- /, ': ').replace(/\n\s*- /g, '; ').replace(/\s*\n\s*/g, ' ');
  console.error(`vql-experiment: ${known ? '' : `${e.name}${e.code ? ` [${e.code}]` : ''}: `}${message}${hint}`);
  if (program.opts<{ verbose?: boolean }>().verbose === true || process.env['VQL_DEBUG'] === '1') console.error(e.stack);
  process.exitCode = error instanceof ExperimentConfigError ? 2 : 1;
}
