import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunSpec } from './plan.js';

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

interface ResultsFile {
  experiment: string;
  configHash: string;
  records: RunRecord[];
}

/**
 * results.json, rewritten atomically after every finished run so an interrupted experiment
 * resumes from the runs it finished. A file written for a different config is refused.
 */
export class ResultsStore {
  readonly path: string;
  private file: ResultsFile;

  constructor(outDir: string, experiment: string, configHash: string, fresh: boolean) {
    this.path = join(outDir, 'results.json');
    this.file = { experiment, configHash, records: [] };
    if (!fresh && existsSync(this.path)) {
      const previous = JSON.parse(readFileSync(this.path, 'utf8')) as ResultsFile;
      if (previous.configHash === configHash) this.file.records = previous.records;
    }
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
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.file, null, 2));
    renameSync(tmp, this.path);
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
