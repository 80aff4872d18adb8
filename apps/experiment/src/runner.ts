import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { DatasetName, ExperimentConfig } from './config.js';
import { ExperimentConfigError } from './errors.js';
import type { RunSpec } from './run-spec.js';
import { planRuns } from './plan.js';
import type { RunRecord } from './results.js';
import { ResultsStore, copiedRecord, recordFor } from './results.js';
import { writeReport } from './report/index.js';

/** Executes one planned run and returns its measured values (metrics, timings, latency). */
export interface RunExecutor {
  /** Called once before the runs, with the datasets that will be used (load / preprocess here). */
  prepare?(config: ExperimentConfig, datasets: DatasetName[]): Promise<void>;
  /** `outDir` is where side files (test-set predictions) go, next to results.json. */
  execute(spec: RunSpec, config: ExperimentConfig, context: { outDir: string }): Promise<Partial<RunRecord>>;
  /** Frees what `prepare` loaded. */
  dispose?(): void;
}

export interface RunExperimentOptions {
  config: ExperimentConfig;
  outDir: string;
  /** Datasets that exist (the caller checked the data directory); others are skipped with a message. */
  available: ReadonlySet<DatasetName>;
  /** Where the real datasets were looked for, for that message. */
  dataDir?: string;
  executor: RunExecutor;
  /** Ignore finished runs in an existing results.json. */
  fresh?: boolean;
  log?: (line: string) => void;
  /** Show progress bars (default: when stderr is a TTY). */
  progress?: boolean;
  /**
   * Training runs executed at once (the executor must accept that many concurrent `execute`
   * calls, e.g. a `RunProcessPool`). Latency runs always execute alone, after the rest, so no
   * other run shares the machine while they time. Default 1.
   */
  jobs?: number;
}

export interface ExperimentSummary {
  records: readonly RunRecord[];
  executed: number;
  resumed: number;
  skippedDatasets: DatasetName[];
  markdown: string;
}

/** Fails before any training when the output directory cannot be created or written. */
export function checkOutDir(outDir: string): string {
  const abs = resolve(outDir);
  if (existsSync(abs) && !statSync(abs).isDirectory()) {
    throw new ExperimentConfigError('OUT_DIR_NOT_WRITABLE', `--out ${outDir}: exists and is not a directory.`);
  }
  let probe = abs;
  while (!existsSync(probe)) probe = dirname(probe);
  try {
    accessSync(probe, constants.W_OK);
  } catch {
    throw new ExperimentConfigError('OUT_DIR_NOT_WRITABLE', `--out ${outDir}: ${probe} is not writable.`);
  }
  mkdirSync(abs, { recursive: true });
  return abs;
}

export function configHash(config: ExperimentConfig): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16);
}

/**
 * Plans the runs, skips those already in results.json (same config), executes the rest —
 * training runs first (up to `jobs` at once), then the latency runs one at a time — saving each
 * in that order as soon as everything before it finished, so an interrupted experiment resumes
 * and results.json is the same for any `jobs`; then writes the report.
 */
export async function runExperiment(options: RunExperimentOptions): Promise<ExperimentSummary> {
  const { config, executor } = options;
  const log = options.log ?? ((line: string) => console.log(line));
  const outDir = checkOutDir(options.outDir);
  const skippedDatasets = config.datasets.map((d) => d.name).filter((n) => !options.available.has(n));
  for (const name of skippedDatasets) log(`skipping dataset "${name}": not found in the data directory${options.dataDir !== undefined ? ` ${options.dataDir}` : ''}`);
  const runs = planRuns(config, options.available);
  if (runs.length === 0) {
    throw new ExperimentConfigError('NOTHING_TO_RUN', 'The experiment has no runs: no configured dataset was found, or every study is off.');
  }
  const store = new ResultsStore(outDir, config.name, configHash(config), options.fresh === true, config);
  if (store.movedAside !== null) log(`--fresh: the previous ${store.path} was moved to ${store.movedAside}`);
  const jobs = options.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) throw new ExperimentConfigError('INVALID_FLAG', `--jobs must be a positive integer, got ${jobs}.`);
  // Runs marked sameAs are not trained: their records are copies, saved right after their source's.
  const copiesOf = new Map<string, RunSpec[]>();
  for (const r of runs) if (r.sameAs !== undefined) copiesOf.set(r.sameAs.id, [...(copiesOf.get(r.sameAs.id) ?? []), r]);
  const save = (record: RunRecord): void => {
    if (!store.has(record.runId)) store.add(record);
    for (const copy of copiesOf.get(record.runId) ?? []) if (!store.has(copy.id)) store.add(copiedRecord(copy, record));
  };
  for (const record of [...store.records]) save(record); // a results.json written before its copies were
  const pending = runs.filter((r) => !store.has(r.id) && r.sameAs === undefined);
  const timesAlone = (r: RunSpec): boolean => r.studies.includes('latency');
  const todo = [...pending.filter((r) => !timesAlone(r)), ...pending.filter(timesAlone)];
  const trained = runs.filter((r) => r.sameAs === undefined).length;
  const resumed = trained - todo.length;
  if (resumed > 0) log(`resuming: ${resumed} of ${trained} runs already in ${store.path}`);
  if (copiesOf.size > 0) log(`${runs.length - trained} runs read the same behaviours as another run and copy its record (see their notes)`);
  const used = [...new Set(todo.map((r) => r.dataset))];
  if (todo.length > 0) await executor.prepare?.(config, used);

  const showBar = options.progress ?? process.stderr.isTTY === true;
  const bar = showBar
    ? new cliProgress.SingleBar(
        { format: 'runs {bar} {value}/{total} | {eta_formatted} left | {run}', hideCursor: true, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(todo.length, 0, { run: '' });
  let next = 0;
  let saved = 0;
  let failure: { error: unknown } | null = null;
  const finished = new Map<number, RunRecord>();
  // One lane takes the next run until none is left (or one failed: lanes stop taking new runs,
  // the runs in flight finish and are saved).
  const lane = async (until: number): Promise<void> => {
    while (failure === null && next < until) {
      const i = next++;
      const spec = todo[i]!;
      const label = `${spec.studies.join('+')} ${spec.method}${spec.variant === 'default' ? '' : `/${spec.variant}`} on ${spec.dataset} L=${spec.L} K=${Math.max(...spec.codebookSizes)} G=${spec.codebookSizes.length} seed=${spec.seed}`;
      bar?.update(saved, { run: label });
      const started = performance.now();
      try {
        finished.set(i, recordFor(spec, await executor.execute(spec, config, { outDir })));
      } catch (error) {
        failure ??= { error };
        return;
      }
      if (bar === null) log(`[${i + 1}/${todo.length}] ${label}: ${describe(finished.get(i)!)} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
      for (let r = finished.get(saved); r !== undefined; r = finished.get(saved)) {
        save(r);
        finished.delete(saved++);
      }
    }
  };
  try {
    const firstAlone = todo.findIndex(timesAlone);
    const parallelEnd = firstAlone === -1 ? todo.length : firstAlone;
    await Promise.all(Array.from({ length: Math.min(jobs, Math.max(1, parallelEnd)) }, () => lane(parallelEnd)));
    await lane(todo.length);
    if (failure !== null) throw (failure as { error: unknown }).error;
    bar?.update(todo.length, { run: 'done' });
  } finally {
    bar?.stop();
    executor.dispose?.();
  }
  const { markdown } = await writeReport(outDir, store.records, {
    experiment: config.name,
    generatedAt: new Date().toISOString(),
    skippedDatasets,
    notes: [],
  });
  return { records: store.records, executed: todo.length, resumed, skippedDatasets, markdown };
}

function describe(r: RunRecord): string {
  const parts: string[] = [];
  if (r.auc !== null) parts.push(`AUC ${r.auc.toFixed(4)}`);
  if (r.gauc !== null) parts.push(`GAUC ${r.gauc.toFixed(4)}`);
  if (r.logloss !== null) parts.push(`LogLoss ${r.logloss.toFixed(4)}`);
  if (r.latencyP50Ms !== null) parts.push(`p50 ${r.latencyP50Ms.toFixed(3)} ms`);
  if (r.samplesPerSecond !== null) parts.push(`${Math.round(r.samplesPerSecond)} samples/s`);
  return parts.join(', ') || 'no metrics';
}
