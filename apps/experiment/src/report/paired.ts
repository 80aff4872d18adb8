import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { VqlError } from '@vql/errors';
import { UserBootstrap, aucInterval, meanOverSeeds, pairedAucDifference } from '@vql/metrics';
import type { AucReplicates, SeedCombinedInterval } from '@vql/metrics';
import type { RunRecord } from '../results.js';

/** An interval over seeds, or why there is none. */
export interface Evidence {
  interval?: SeedCombinedInterval;
  /** Seeds that entered the interval. */
  seeds: number;
  /** Seeds of the compared rows (an interval over fewer seeds says so). */
  of: number;
  missing?: string;
}

export interface PairedEvidenceOptions {
  resamples?: number;
  level?: number;
}

/** A predictions or test-set file that cannot be used; becomes a line in the report. */
export class ReportInputError extends VqlError<'FILE_MISSING' | 'BAD_FILE' | 'LENGTH_MISMATCH'> {
  constructor(code: ReportInputError['code'], message: string) {
    super('@vql/experiment', code, message);
    this.name = 'ReportInputError';
  }
}

interface TestSet {
  users: Int32Array;
  labels: Float32Array;
}

/** Resampling seed of one test set: a function of its (dataset, seed), so reports are reproducible. */
export function bootstrapSeed(dataset: string, seed: number): number {
  let h = 0x811c9dc5;
  for (const ch of `${dataset}/${seed}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h & 0x7fffffff;
}

function readBinary(outDir: string, rel: string, what: string, kind: 'i32' | 'f32'): Int32Array | Float32Array {
  const path = isAbsolute(rel) ? rel : join(outDir, rel);
  if (!existsSync(path)) throw new ReportInputError('FILE_MISSING', `${what} ${rel} not found in ${outDir}`);
  const buf = readFileSync(path);
  if (buf.byteLength % 4 !== 0) throw new ReportInputError('BAD_FILE', `${what} ${rel} has ${buf.byteLength} bytes, not a multiple of 4`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = buf.byteLength / 4;
  const out = kind === 'i32' ? new Int32Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = kind === 'i32' ? view.getInt32(i * 4, true) : view.getFloat32(i * 4, true);
  return out;
}

/**
 * Paired bootstrap evidence from the runs' predictions files: per test set (dataset, seed) one
 * `UserBootstrap`, every run of that test set scored on the same resamples; across seeds the
 * per-seed replicates are combined with `meanOverSeeds`. Files are read lazily, once per test
 * set; a missing or malformed file becomes a `problems` line and a `missing` reason, not a crash
 * (the report of a long experiment must still be written).
 */
export class PairedEvidence {
  readonly problems: string[] = [];
  readonly resamples: number;
  readonly level: number;
  private readonly byTestSet = new Map<string, Map<string, AucReplicates>>();
  private readonly failedTestSets = new Map<string, string>();

  constructor(
    private readonly outDir: string,
    private readonly records: readonly RunRecord[],
    options: PairedEvidenceOptions = {},
  ) {
    this.resamples = options.resamples ?? 1000;
    this.level = options.level ?? 0.95;
  }

  /** Whether any run carries predictions (results.json written before they existed has none). */
  get available(): boolean {
    return this.records.some((r) => r.predictions !== undefined);
  }

  private loadTestSet(prefix: string, dataset: string, seed: number): Map<string, AucReplicates> | string {
    const done = this.byTestSet.get(prefix);
    if (done !== undefined) return done;
    const failed = this.failedTestSets.get(prefix);
    if (failed !== undefined) return failed;
    try {
      const set = this.readTestSet(prefix);
      const runs = this.records.filter((r) => r.testSet === prefix && r.predictions !== undefined);
      const predictions: Float32Array[] = [];
      const usable: RunRecord[] = [];
      for (const r of runs) {
        try {
          const p = readBinary(this.outDir, r.predictions!, `predictions of run ${r.runId} (${r.method}/${r.variant}, L = ${r.L}, seed ${r.seed})`, 'f32') as Float32Array;
          if (p.length !== set.labels.length) {
            throw new ReportInputError('LENGTH_MISMATCH', `predictions ${r.predictions} of run ${r.runId} hold ${p.length} values but test set ${prefix} has ${set.labels.length} samples`);
          }
          const bad = p.findIndex((v) => !Number.isFinite(v));
          if (bad >= 0) throw new ReportInputError('BAD_FILE', `predictions ${r.predictions} of run ${r.runId}: value ${bad} is ${p[bad]}`);
          predictions.push(p);
          usable.push(r);
        } catch (error) {
          this.problems.push((error as Error).message);
        }
      }
      const boot = new UserBootstrap(set.users, set.labels, { resamples: this.resamples, seed: bootstrapSeed(dataset, seed) });
      const reps = boot.aucReplicates(predictions);
      const map = new Map(usable.map((r, i) => [r.runId, reps[i]!]));
      this.byTestSet.set(prefix, map);
      return map;
    } catch (error) {
      const message = `test set ${prefix}: ${(error as Error).message}`;
      this.problems.push(message);
      this.failedTestSets.set(prefix, message);
      return message;
    }
  }

  private readTestSet(prefix: string): TestSet {
    const users = readBinary(this.outDir, `${prefix}.users.i32`, 'test-set users', 'i32') as Int32Array;
    const labels = readBinary(this.outDir, `${prefix}.labels.f32`, 'test-set labels', 'f32') as Float32Array;
    if (users.length !== labels.length) {
      throw new ReportInputError('LENGTH_MISMATCH', `${prefix}.users.i32 has ${users.length} users but ${prefix}.labels.f32 has ${labels.length} labels`);
    }
    const bad = labels.findIndex((y) => y !== 0 && y !== 1);
    if (bad >= 0) throw new ReportInputError('BAD_FILE', `${prefix}.labels.f32: label ${bad} is ${labels[bad]}, not 0 or 1`);
    return { users, labels };
  }

  /** One run's replicates, or why there are none. */
  private replicates(run: RunRecord): AucReplicates | string {
    if (run.predictions === undefined) return `no predictions file for ${run.method}${run.variant === 'default' ? '' : `/${run.variant}`} seed ${run.seed}`;
    if (run.testSet === undefined) return `run ${run.runId} has predictions but no testSet`;
    const set = this.loadTestSet(run.testSet, run.dataset, run.seed);
    if (typeof set === 'string') return set;
    return set.get(run.runId) ?? `predictions of run ${run.runId} could not be read`;
  }

  /** Interval of the mean AUC over seeds. */
  auc(runs: readonly RunRecord[]): Evidence {
    const ok = runs.filter((r) => r.status !== 'not-run-cost');
    const per: ReturnType<typeof aucInterval>[] = [];
    let missing: string | undefined;
    for (const r of ok) {
      const reps = this.replicates(r);
      if (typeof reps === 'string') missing ??= reps;
      else per.push(aucInterval(reps, this.level));
    }
    return this.combine(per, ok.length, missing);
  }

  /** Interval of mean over seeds of AUC(a) − AUC(b), runs matched by seed on the same test set. */
  difference(a: readonly RunRecord[], b: readonly RunRecord[]): Evidence {
    const seeds = [...new Set(a.map((r) => r.seed))].filter((s) => b.some((r) => r.seed === s));
    const per: ReturnType<typeof pairedAucDifference>[] = [];
    let missing: string | undefined;
    for (const seed of seeds) {
      const ra = a.find((r) => r.seed === seed)!;
      const rb = b.find((r) => r.seed === seed)!;
      if (ra.testSet !== rb.testSet) {
        missing ??= `seed ${seed}: ${ra.method} and ${rb.method} were tested on different test sets (${ra.testSet} vs ${rb.testSet})`;
        continue;
      }
      const xa = this.replicates(ra);
      const xb = this.replicates(rb);
      if (typeof xa === 'string') missing ??= xa;
      else if (typeof xb === 'string') missing ??= xb;
      else per.push(pairedAucDifference(xa, xb, this.level));
    }
    if (seeds.length === 0) missing = 'no seed in common';
    return this.combine(per, seeds.length, missing);
  }

  private combine(per: Parameters<typeof meanOverSeeds>[0], of: number, missing: string | undefined): Evidence {
    if (per.length === 0) return { seeds: 0, of, missing: missing ?? 'no runs' };
    return { interval: meanOverSeeds(per, this.level), seeds: per.length, of, ...(missing !== undefined ? { missing } : {}) };
  }
}
