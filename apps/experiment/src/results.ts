import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ExperimentConfigError } from './errors.js';
import type { RunSpec } from './run-spec.js';

/** One line of results.json: what the issue lists, plus provenance. */
export interface RunRecord {
  runId: string;
  studies: RunSpec['studies'];
  method: string;
  variant: string;
  dataset: string;
  L: number;
  K: number;
  G: number;
  heads: number;
  codebookSizes: number[];
  seed: number;
  auc: number | null;
  gauc: number | null;
  logloss: number | null;
  trainSeconds: number | null;
  samplesPerSecond: number | null;
  epochs: number | null;
  /** Online latency per request (ms) for 1 and 100 candidates where measured. */
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  latencyP50Ms100: number | null;
  latencyP99Ms100: number | null;
  cacheBytesPerUser: number | null;
  note?: string;
  /** Which behaviours the method sees: the newest L, or the whole history (oracle, VQL full). */
  historyPolicy?: 'newest-L' | 'whole-history';
  /** 'not-run-cost': too expensive at this L; `note` holds the measured cost. Absent means 'ok'. */
  status?: 'ok' | 'not-run-cost';
  /** Test-set predictions: Float32 little-endian, test-set order; path relative to the out dir. */
  predictions?: string;
  /**
   * Test set of this (dataset, seed), shared by every run with the same dataset and seed:
   * `<testSet>.users.i32` (Int32 user ids) and `<testSet>.labels.f32` (Float32 0/1), relative to the out dir.
   */
  testSet?: string;
}

export function recordFor(spec: RunSpec, values: Partial<RunRecord>): RunRecord {
  return {
    runId: spec.id,
    studies: spec.studies,
    method: spec.method,
    variant: spec.variant,
    dataset: spec.dataset,
    L: spec.L,
    K: Math.max(...spec.codebookSizes),
    G: spec.codebookSizes.length,
    heads: spec.heads,
    codebookSizes: spec.codebookSizes,
    seed: spec.seed,
    auc: null,
    gauc: null,
    logloss: null,
    trainSeconds: null,
    samplesPerSecond: null,
    epochs: null,
    latencyP50Ms: null,
    latencyP99Ms: null,
    latencyP50Ms100: null,
    latencyP99Ms100: null,
    cacheBytesPerUser: null,
    ...values,
  };
}

/**
 * The record of a run that was not trained because an earlier run trains the same model on the
 * same behaviours (`spec.sameAs`): that run's measured values under this run's parameters.
 */
export function copiedRecord(spec: RunSpec, source: RunRecord): RunRecord {
  const measured = Object.fromEntries(MEASURED.filter((k) => source[k] !== undefined).map((k) => [k, source[k]])) as Partial<RunRecord>;
  const why = spec.sameAs?.why ?? `copied from run ${source.runId}`;
  return recordFor(spec, {
    ...measured,
    historyPolicy: spec.variant === 'whole-history' ? 'whole-history' : 'newest-L',
    note: source.note === undefined ? why : `${source.note}; ${why}`,
  });
}

// What a run measured (the rest of a record is its parameters).
const MEASURED = [
  'auc', 'gauc', 'logloss', 'trainSeconds', 'samplesPerSecond', 'epochs', 'latencyP50Ms', 'latencyP99Ms', 'latencyP50Ms100',
  'latencyP99Ms100', 'cacheBytesPerUser', 'status', 'predictions', 'testSet',
] as const satisfies ReadonlyArray<keyof RunRecord>;

interface ResultsFile {
  experiment: string;
  configHash: string;
  /** The validated config the records came from (files written before it was kept lack it). */
  config?: unknown;
  records: RunRecord[];
}

/** Writes `text` to a temp file beside `path`, flushes it, then renames it over `path`. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Top-level (and one level down) keys where two configs differ, for the refusal message. */
function differingKeys(a: unknown, b: unknown): string[] {
  const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const out: string[] = [];
  const A = obj(a);
  const B = obj(b);
  for (const key of new Set([...Object.keys(A), ...Object.keys(B)])) {
    if (JSON.stringify(A[key]) === JSON.stringify(B[key])) continue;
    const sub = obj(A[key]);
    const subB = obj(B[key]);
    const inner = [...new Set([...Object.keys(sub), ...Object.keys(subB)])].filter((k) => JSON.stringify(sub[k]) !== JSON.stringify(subB[k]));
    if (inner.length > 0 && inner.length <= 3) out.push(...inner.map((k) => `${key}.${k}`));
    else out.push(key);
  }
  return out;
}

function describeConfig(name: string, hash: string, config: unknown): string {
  const seeds = (config as { seeds?: unknown } | undefined)?.seeds;
  return `"${name}"${Array.isArray(seeds) ? ` seeds ${seeds.join(',')}` : ''} (config ${hash})`;
}

/** A free name beside `path` for a file moved out of the way: results.<hash>.json, then -2, -3, ... */
function besidePath(path: string, tag: string): string {
  const base = path.replace(/\.json$/, '');
  let candidate = `${base}.${tag}.json`;
  for (let k = 2; existsSync(candidate); k++) candidate = `${base}.${tag}-${k}.json`;
  return candidate;
}

/**
 * results.json, rewritten atomically (temp file + rename) after every finished run so an
 * interrupted experiment resumes from the runs it finished. Results are never lost: a file of
 * another config is refused (naming both configs), `fresh` moves an existing file aside
 * instead of overwriting it, and a corrupt file is named in the error and left as it is.
 */
export class ResultsStore {
  readonly path: string;
  /** Where `fresh` moved a previous results.json, if it did. */
  readonly movedAside: string | null = null;
  private file: ResultsFile;

  constructor(outDir: string, experiment: string, configHash: string, fresh: boolean, config?: unknown) {
    this.path = join(outDir, 'results.json');
    this.file = { experiment, configHash, ...(config !== undefined ? { config } : {}), records: [] };
    if (!existsSync(this.path)) return;
    if (fresh) {
      let tag = 'previous';
      try {
        tag = (JSON.parse(readFileSync(this.path, 'utf8')) as Partial<ResultsFile>).configHash ?? tag;
      } catch {
        tag = 'corrupt';
      }
      this.movedAside = besidePath(this.path, String(tag).replace(/[^A-Za-z0-9_-]/g, '') || 'previous');
      renameSync(this.path, this.movedAside);
      return;
    }
    let previous: Partial<ResultsFile> | null = null;
    let problem = 'no "configHash" and "records"';
    try {
      previous = JSON.parse(readFileSync(this.path, 'utf8')) as Partial<ResultsFile>;
    } catch (error) {
      problem = (error as Error).message;
    }
    if (previous === null || typeof previous !== 'object' || !Array.isArray(previous.records) || typeof previous.configHash !== 'string') {
      throw new ExperimentConfigError(
        'RESULTS_CORRUPT',
        `${this.path} is not a readable results file (${problem}); it was left as it is. ` +
          'Move it away (or run with --fresh, which keeps it beside as results.corrupt.json), or use --out <dir> for a new results file.',
      );
    }
    if (previous.configHash !== configHash) {
      const diff = previous.config !== undefined && config !== undefined ? differingKeys(previous.config, config) : [];
      throw new ExperimentConfigError(
        'RESULTS_OTHER_CONFIG',
        `${this.path} holds ${previous.records.length} runs of ${describeConfig(previous.experiment ?? '?', previous.configHash, previous.config)}, ` +
          `not of this run's ${describeConfig(experiment, configHash, config)}${diff.length > 0 ? `; they differ in ${diff.join(', ')}` : ''}. ` +
          `Nothing was written. Use --out <dir> for a new results file, or --fresh to start over here (the old file is kept beside it as results.${previous.configHash}.json).`,
      );
    }
    this.file.records = previous.records;
  }

  get records(): readonly RunRecord[] {
    return this.file.records;
  }

  has(runId: string): boolean {
    return this.file.records.some((r) => r.runId === runId);
  }

  add(record: RunRecord): void {
    this.file.records = this.file.records.filter((r) => r.runId !== record.runId);
    this.file.records.push(record);
    writeFileAtomic(this.path, JSON.stringify(this.file, null, 2));
  }
}

const CSV_COLUMNS: Array<keyof RunRecord> = [
  'runId', 'studies', 'method', 'variant', 'dataset', 'L', 'K', 'G', 'heads', 'seed', 'auc', 'gauc', 'logloss',
  'trainSeconds', 'samplesPerSecond', 'epochs', 'latencyP50Ms', 'latencyP99Ms', 'latencyP50Ms100', 'latencyP99Ms100',
  'cacheBytesPerUser', 'note', 'historyPolicy', 'status', 'predictions', 'testSet',
];

export function toCsv(records: readonly RunRecord[]): string {
  const escape = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    const s = Array.isArray(v) ? v.join(';') : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of records) lines.push(CSV_COLUMNS.map((c) => escape(r[c])).join(','));
  return `${lines.join('\n')}\n`;
}
