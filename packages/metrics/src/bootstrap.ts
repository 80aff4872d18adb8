import { VqlMetricsError } from './errors.js';
import { percentileSorted } from './latency.js';
import { meanStd } from './summary.js';
import { checkFinite, checkLabels, checkSameLength } from './validate.js';
import type { NumericArray } from './validate.js';

export interface UserBootstrapOptions {
  /** Number of resamples (default 1000). */
  resamples?: number;
  /** Seed of the resampling; the same seed gives the same resamples. */
  seed: number;
}

/** A predictor's AUC on the whole test set and on every resample of one `UserBootstrap`. */
export interface AucReplicates {
  auc: number;
  /** AUC on resample r; NaN where the resample drew a single class (the same r for every predictor). */
  replicates: Float64Array;
  /** Identifies the resamples; replicates from different bootstraps cannot be paired. */
  resampleKey: string;
}

export interface BootstrapInterval {
  /** The statistic on the data itself (not the mean of the replicates). */
  estimate: number;
  lower: number;
  upper: number;
  level: number;
  /** The statistic on each resample (NaN for degenerate resamples). */
  replicates: Float64Array;
  /** Resamples that entered the percentiles (the others drew a single class). */
  validResamples: number;
}

export interface SeedCombinedInterval extends BootstrapInterval {
  seeds: number;
  /** Sample standard deviation of the per-seed estimates (0 for one seed). */
  seedStd: number;
}

/**
 * xorshift32 seeded per resample: resample r does not depend on how many others were drawn. Only
 * shifts and xors in the per-draw step: `Math.imul` and `Math.floor` are not inlined inside a
 * vm context (jest), where they made drawing 25× slower.
 */
function resampleRng(seed: number, r: number): () => number {
  let s = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(r + 1, 0x85ebca6b)) | 0;
  s = Math.imul(s ^ (s >>> 16), 0x45d9f3b) ^ (s >>> 13); // one mix so that nearby seeds diverge at once
  if (s === 0) s = 0x6d2b79f5;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/**
 * Cluster bootstrap over the users of one test set. Each resample draws as many users as the
 * test set has, with replacement; a user drawn m times weighs each of their samples by m. Every
 * predictor scored through the same instance sees the same resamples, so differences between
 * predictors are paired (common random numbers).
 *
 * A predictor is ranked once (sort by score); the AUC of a resample is then one O(n) pass over
 * that order summing the weights of positives and negatives per tie group, exact (integer sums),
 * and equal to `auc()` on the test set expanded by the weights.
 */
export class UserBootstrap {
  readonly samples: number;
  readonly users: number;
  readonly resamples: number;
  readonly seed: number;
  private readonly userIndex: Int32Array;
  private readonly labels: Uint8Array;

  constructor(users: ArrayLike<number | string>, labels: NumericArray, options: UserBootstrapOptions) {
    checkOptionKeys('UserBootstrap', options, ['resamples', 'seed']);
    this.samples = checkSameLength('UserBootstrap', { users, labels });
    checkLabels('UserBootstrap', labels);
    const resamples = options.resamples ?? 1000;
    if (!Number.isInteger(resamples) || resamples < 1) {
      throw new VqlMetricsError('INVALID_ARGUMENT', `UserBootstrap: resamples must be a positive integer, got ${resamples}.`);
    }
    if (!Number.isInteger(options.seed)) {
      throw new VqlMetricsError('INVALID_ARGUMENT', `UserBootstrap: seed must be an integer, got ${options.seed}.`);
    }
    this.resamples = resamples;
    this.seed = options.seed;
    const ids = new Map<number | string, number>();
    this.userIndex = new Int32Array(this.samples);
    this.labels = new Uint8Array(this.samples);
    let positives = 0;
    for (let i = 0; i < this.samples; i++) {
      let u = ids.get(users[i]!);
      if (u === undefined) {
        u = ids.size;
        ids.set(users[i]!, u);
      }
      this.userIndex[i] = u;
      this.labels[i] = labels[i]!;
      positives += labels[i]!;
    }
    if (positives === 0 || positives === this.samples) {
      throw new VqlMetricsError('SINGLE_CLASS', 'UserBootstrap: labels contain only one class; AUC is undefined.');
    }
    if (ids.size >= 2 ** 29) throw new VqlMetricsError('INVALID_ARGUMENT', `UserBootstrap: ${ids.size} users is more than supported (2^29).`);
    this.users = ids.size;
  }

  private get resampleKey(): string {
    return `${this.seed}/${this.resamples}/${this.samples}/${this.users}`;
  }

  /**
   * Sort order of one predictor packed per position: user << 2 | label << 1 | (last of its tie group).
   * One Int32 read per sample in the hot loop.
   */
  private rank(scores: NumericArray, name: string): Ranked {
    checkSameLength('UserBootstrap', { labels: this.labels, [name]: scores });
    checkFinite('UserBootstrap', name, scores);
    const n = this.samples;
    const values = Float64Array.from(scores);
    // Order by score without a comparator callback (slow, and very slow inside jest's vm):
    // native sort of the values, each sample's rank among the distinct values by binary search,
    // then a counting sort by rank. Equal ranks are a tie group.
    const distinct = Float64Array.from(values).sort();
    let m = 0;
    for (let k = 0; k < n; k++) if (m === 0 || distinct[k]! !== distinct[m - 1]!) distinct[m++] = distinct[k]!;
    const rank = new Int32Array(n);
    const start = new Int32Array(m + 1);
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      let lo = 0;
      let hi = m - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (distinct[mid]! < v) lo = mid + 1;
        else hi = mid;
      }
      rank[i] = lo;
      start[lo + 1]!++;
    }
    for (let g = 0; g < m; g++) start[g + 1]! += start[g]!;
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[start[rank[i]!]!++] = i;
    const code = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      const last = k === n - 1 || rank[order[k + 1]!]! !== rank[i]! ? 1 : 0;
      code[k] = (this.userIndex[i]! << 2) | (this.labels[i]! << 1) | last;
    }
    const ties = m < n;
    return { code, ties };
  }

  /** How many times resample r drew each user (users in order of first appearance). */
  userWeights(r: number): Int32Array {
    if (!Number.isInteger(r) || r < 0 || r >= this.resamples) {
      throw new VqlMetricsError('INVALID_ARGUMENT', `UserBootstrap.userWeights: r must be an integer in [0, ${this.resamples}), got ${r}.`);
    }
    return this.fillWeights(r, new Int32Array(this.users));
  }

  private fillWeights(r: number, weights: Int32Array): Int32Array {
    weights.fill(0);
    const rand = resampleRng(this.seed, r);
    const users = this.users;
    for (let k = 0; k < users; k++) weights[(rand() * users) >>> 0]! += 1;
    return weights;
  }

  /**
   * AUC of each predictor on the test set and on every resample. Resample-major: each resample's
   * user weights are drawn once and used by all predictors, so pass every predictor to compare
   * in one call (or keep the instance: the resamples depend only on the seed).
   */
  aucReplicates(predictors: readonly NumericArray[]): AucReplicates[] {
    const ranked = predictors.map((p, j) => this.rank(p, `predictors[${j}]`));
    const ones = new Int32Array(this.users).fill(1);
    const results = ranked.map((r) => ({ auc: weightedAuc(r, ones), replicates: new Float64Array(this.resamples), resampleKey: this.resampleKey }));
    const weights = new Int32Array(this.users);
    for (let r = 0; r < this.resamples; r++) {
      this.fillWeights(r, weights);
      for (let j = 0; j < ranked.length; j++) results[j]!.replicates[r] = weightedAuc(ranked[j]!, weights);
    }
    return results;
  }
}

/** A predictor's sort order packed per position (see `rank`), and whether any scores tie. */
interface Ranked {
  code: Int32Array;
  ties: boolean;
}

/**
 * ROC AUC with per-user integer weights over a packed order; NaN for one class. Integer sums
 * (twice the U statistic, so tie halves stay integers) make it exact, equal to `auc()` on the
 * expanded set. Without ties every position ends its own group and the simpler loop is faster.
 */
function weightedAuc(ranked: Ranked, weights: Int32Array): number {
  return ranked.ties ? weightedAucTies(ranked.code, weights) : weightedAucNoTies(ranked.code, weights);
}

function weightedAucNoTies(code: Int32Array, weights: Int32Array): number {
  let u = 0;
  let negBelow = 0;
  let posTotal = 0;
  for (let k = 0; k < code.length; k++) {
    const c = code[k]!;
    const w = weights[c >>> 2]!;
    const pw = w & -((c >>> 1) & 1); // w for a positive, 0 for a negative
    u += pw * negBelow;
    posTotal += pw;
    negBelow += w - pw;
  }
  return posTotal === 0 || negBelow === 0 ? Number.NaN : u / (posTotal * negBelow);
}

function weightedAucTies(code: Int32Array, weights: Int32Array): number {
  let u2 = 0;
  let negBelow = 0;
  let posTotal = 0;
  let gp = 0;
  let gn = 0;
  for (let k = 0; k < code.length; k++) {
    const c = code[k]!;
    const w = weights[c >>> 2]!;
    const pw = w & -((c >>> 1) & 1);
    gp += pw;
    gn += w - pw;
    if (c & 1) {
      u2 += gp * (2 * negBelow + gn);
      negBelow += gn;
      posTotal += gp;
      gp = 0;
      gn = 0;
    }
  }
  return posTotal === 0 || negBelow === 0 ? Number.NaN : u2 / (2 * posTotal * negBelow);
}

function checkLevel(fn: string, level: number): void {
  if (!(level > 0 && level < 1)) throw new VqlMetricsError('INVALID_ARGUMENT', `${fn}: level must be in (0, 1), got ${level}.`);
}

/** Percentile interval of `replicates` (NaN entries skipped) around `estimate`. */
export function percentileInterval(estimate: number, replicates: Float64Array, level = 0.95): BootstrapInterval {
  checkLevel('percentileInterval', level);
  const valid = replicates.filter((v) => !Number.isNaN(v)).sort();
  if (valid.length === 0) {
    throw new VqlMetricsError('SINGLE_CLASS', 'percentileInterval: every resample drew a single class; no interval.');
  }
  return {
    estimate,
    lower: percentileSorted(valid, (1 - level) / 2),
    upper: percentileSorted(valid, (1 + level) / 2),
    level,
    replicates,
    validResamples: valid.length,
  };
}

/** Percentile interval of one predictor's AUC. */
export function aucInterval(a: AucReplicates, level = 0.95): BootstrapInterval {
  return percentileInterval(a.auc, a.replicates, level);
}

/** Paired interval of AUC(a) − AUC(b); both must come from the same `UserBootstrap` resamples. */
export function pairedAucDifference(a: AucReplicates, b: AucReplicates, level = 0.95): BootstrapInterval {
  if (a.resampleKey !== b.resampleKey) {
    throw new VqlMetricsError(
      'MISMATCHED_RESAMPLES',
      `pairedAucDifference: a and b come from different resamples (${a.resampleKey} vs ${b.resampleKey}); score both with the same UserBootstrap.`,
    );
  }
  const diff = new Float64Array(a.replicates.length);
  for (let r = 0; r < diff.length; r++) diff[r] = a.replicates[r]! - b.replicates[r]!;
  return percentileInterval(a.auc - b.auc, diff, level);
}

/**
 * Interval for the mean over seeds of a statistic estimated once per seed on independent test
 * sets (each seed its own data): a stratified bootstrap. Combined replicate r is the mean of the
 * seeds' replicates r — the seeds' resamples are independent, so this is a draw of the mean's
 * bootstrap distribution — and the interval is its percentiles. It covers test-set sampling
 * given the trained models; training-seed variation shows in `seedStd`, which three seeds
 * cannot turn into a useful interval of its own.
 */
export function meanOverSeeds(perSeed: readonly BootstrapInterval[], level = 0.95): SeedCombinedInterval {
  if (perSeed.length === 0) throw new VqlMetricsError('EMPTY_INPUT', 'meanOverSeeds: perSeed is empty.');
  const R = perSeed[0]!.replicates.length;
  perSeed.forEach((s, i) => {
    if (s.replicates.length !== R) {
      throw new VqlMetricsError('LENGTH_MISMATCH', `meanOverSeeds: perSeed[${i}] has ${s.replicates.length} replicates but perSeed[0] has ${R}.`);
    }
  });
  const combined = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    let sum = 0;
    for (const s of perSeed) sum += s.replicates[r]!;
    combined[r] = sum / perSeed.length; // NaN if any seed's resample r was degenerate
  }
  const estimates = meanStd(perSeed.map((s) => s.estimate));
  return { ...percentileInterval(estimates.mean, combined, level), seeds: perSeed.length, seedStd: estimates.std };
}

/** A misspelt option would silently fall back to its default: unknown keys are errors. */
function checkOptionKeys(where: string, options: object | null | undefined, allowed: readonly string[]): void {
  if (options == null || typeof options !== 'object') {
    throw new VqlMetricsError('INVALID_ARGUMENT', `${where}: options must be an object (with a seed).`);
  }
  const unknown = Object.keys(options).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw new VqlMetricsError('UNKNOWN_OPTION', `${where}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; allowed: ${allowed.join(', ')}.`);
  }
}

/** One-call paired bootstrap of AUC(scoresA) − AUC(scoresB) over users. */
export function pairedBootstrapAuc(
  users: ArrayLike<number | string>,
  labels: NumericArray,
  scoresA: NumericArray,
  scoresB: NumericArray,
  options: UserBootstrapOptions & { level?: number },
): BootstrapInterval {
  checkOptionKeys('pairedBootstrapAuc', options, ['resamples', 'seed', 'level']);
  const bootstrap: UserBootstrapOptions = { seed: options.seed, ...(options.resamples === undefined ? {} : { resamples: options.resamples }) };
  const [a, b] = new UserBootstrap(users, labels, bootstrap).aucReplicates([scoresA, scoresB]);
  return pairedAucDifference(a!, b!, options.level);
}
