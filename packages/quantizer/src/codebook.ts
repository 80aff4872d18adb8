import { tf, checkKnownKeys, createRng } from '@vql/runtime';
import type { Rng } from '@vql/runtime';
import { VqlQuantizerError } from './errors.js';
import { kmeansPlusPlus } from './kmeans.js';
import { solveLinear } from './linalg.js';

export type CodeUpdate = 'gradient' | 'ema';

export interface CodebookOptions {
  /** K: number of codes (integer >= 1). */
  size: number;
  /** d: code width. */
  dim: number;
  /** Seed of the random initial codes. Default 0. */
  seed?: number | string;
  /** How codes learn: through the codebook loss (`gradient`, default) or by EMA of their keys. */
  update?: CodeUpdate;
  /** EMA decay γ in (0, 1). Default 0.99. */
  decay?: number;
  /** Laplace smoothing ε > 0 of the EMA cluster sizes. Default 1e-5. */
  eps?: number;
  /**
   * SimVQ (Zhu et al. 2024): codes = B·W with a frozen random basis B [K,d] and one learned
   * linear map W [d,d], so every code moves with each gradient step (against collapse).
   * Gradient updates only. Default false.
   */
  simvq?: boolean;
  /** Standard deviation of the random initial codes (or basis). Default 1. */
  initStd?: number;
  /** Name used in error messages and as the weight-name prefix. Default `codebook`. */
  name?: string;
}

export interface ResolvedCodebookOptions {
  size: number;
  dim: number;
  seed: number | string;
  update: CodeUpdate;
  decay: number;
  eps: number;
  simvq: boolean;
  initStd: number;
  name: string;
}

export function checkPositiveInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new VqlQuantizerError('INVALID_ARGUMENT', `${what} must be an integer >= 1, got ${String(value)}.`);
  }
  return value;
}

const CODEBOOK_KEYS = ['size', 'dim', 'seed', 'update', 'decay', 'eps', 'simvq', 'initStd', 'name'] as const;

export function resolveCodebookOptions(options: CodebookOptions): ResolvedCodebookOptions {
  const name = options.name ?? 'codebook';
  checkKnownKeys(`${name}: options`, options, CODEBOOK_KEYS, (m) => new VqlQuantizerError('UNKNOWN_OPTION', m));
  const size = checkPositiveInteger(options.size, `${name}: size (K)`);
  const dim = checkPositiveInteger(options.dim, `${name}: dim`);
  const update = options.update ?? 'gradient';
  if (update !== 'gradient' && update !== 'ema') {
    throw new VqlQuantizerError('INVALID_ARGUMENT', `${name}: update must be 'gradient' or 'ema', got ${String(update)}.`);
  }
  const decay = options.decay ?? 0.99;
  if (!(decay > 0 && decay < 1)) {
    throw new VqlQuantizerError('INVALID_ARGUMENT', `${name}: decay must be in (0, 1), got ${decay}.`);
  }
  const eps = options.eps ?? 1e-5;
  if (!(eps > 0) || !Number.isFinite(eps)) {
    throw new VqlQuantizerError('INVALID_ARGUMENT', `${name}: eps must be a finite number > 0, got ${eps}.`);
  }
  const simvq = options.simvq ?? false;
  if (simvq && update === 'ema') {
    throw new VqlQuantizerError('INVALID_ARGUMENT', `${name}: simvq learns a linear map by gradient; it cannot be combined with update 'ema'.`);
  }
  const initStd = options.initStd ?? 1;
  if (!(initStd > 0) || !Number.isFinite(initStd)) {
    throw new VqlQuantizerError('INVALID_ARGUMENT', `${name}: initStd must be a finite number > 0, got ${initStd}.`);
  }
  return { size, dim, seed: options.seed ?? 0, update, decay, eps, simvq, initStd, name };
}

function gaussian(n: number, std: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  return out;
}

function identity(d: number): Float32Array {
  const out = new Float32Array(d * d);
  for (let i = 0; i < d; i++) out[i * d + i] = 1;
  return out;
}

/**
 * K codes of width d held in tfjs variables. `effective()` is the differentiable [K,d] code
 * matrix used in a forward pass; the other mutators (`initializeFrom`, `emaUpdate`, `restart`,
 * `setWeights`) assign variables and must run outside any gradient tape.
 */
export class Codebook {
  readonly size: number;
  readonly dim: number;
  readonly update: CodeUpdate;
  readonly decay: number;
  readonly eps: number;
  readonly simvq: boolean;
  readonly name: string;
  /** False until k-means initialisation or `setWeights` (random codes until then). */
  initialized = false;

  // Gradient/EMA: the codes themselves. SimVQ: the frozen basis B.
  private readonly table: tf.Variable<tf.Rank.R2>;
  // SimVQ only: the learned map W [d,d].
  private readonly linear: tf.Variable<tf.Rank.R2> | null;
  // EMA state (host, float64): N_j and m_j of van den Oord et al. 2017, appendix A.1.
  private readonly emaCount: Float64Array;
  private readonly emaSum: Float64Array;
  private disposed = false;

  constructor(options: CodebookOptions) {
    const o = resolveCodebookOptions(options);
    this.size = o.size;
    this.dim = o.dim;
    this.update = o.update;
    this.decay = o.decay;
    this.eps = o.eps;
    this.simvq = o.simvq;
    this.name = o.name;
    const rng = createRng(o.seed);
    const init = gaussian(o.size * o.dim, o.initStd, rng);
    this.table = tf.variable(tf.tensor2d(init, [o.size, o.dim]), this.isTableTrainable());
    this.linear = o.simvq ? tf.variable(tf.tensor2d(identity(o.dim), [o.dim, o.dim]), true) : null;
    // One pseudo-observation at the initial position, so code = m/N is the initial code and an
    // unused code does not blow up as it would from N = 0.
    this.emaCount = new Float64Array(o.size).fill(1);
    this.emaSum = Float64Array.from(init);
  }

  private isTableTrainable(): boolean {
    return this.update === 'gradient' && !this.simvq;
  }

  private checkAlive(): void {
    if (this.disposed) throw new VqlQuantizerError('DISPOSED', `${this.name}: used after dispose().`);
  }

  /** The effective [K,d] codes (differentiable w.r.t. the trainable variables). */
  effective(): tf.Tensor2D {
    this.checkAlive();
    return this.linear === null ? this.table : tf.matMul(this.table, this.linear);
  }

  /** Effective codes as a host [K*d] copy. */
  values(): Float32Array {
    this.checkAlive();
    // Copies: on cpu, dataSync can hand out the variable's own backing store.
    if (this.linear === null) return Float32Array.from(this.table.dataSync() as Float32Array);
    const t = tf.matMul(this.table, this.linear);
    const v = Float32Array.from(t.dataSync() as Float32Array);
    t.dispose();
    return v;
  }

  /** Variables the caller's optimizer should update (none under EMA). */
  trainableVariables(): tf.Variable[] {
    this.checkAlive();
    if (this.linear !== null) return [this.linear];
    return this.update === 'gradient' ? [this.table] : [];
  }

  /** Sets the effective codes (for SimVQ: basis = codes, W = I). */
  private setCodes(codes: Float32Array, counts?: Float64Array): void {
    const d = this.dim;
    tf.tidy(() => this.table.assign(tf.tensor2d(codes, [this.size, d])));
    const linear = this.linear;
    if (linear !== null) tf.tidy(() => linear.assign(tf.tensor2d(identity(d), [d, d])));
    for (let j = 0; j < this.size; j++) {
      const n = counts === undefined ? 1 : Math.max(counts[j]!, 1e-3);
      this.emaCount[j] = n;
      for (let t = 0; t < d; t++) this.emaSum[j * d + t] = codes[j * d + t]! * n;
    }
  }

  /**
   * k-means++ seeding plus `iterations` Lloyd steps on `n` points ([n*d]); the codes become the
   * centres and the EMA state their cluster sizes.
   */
  initializeFrom(points: Float32Array, n: number, rng: Rng, iterations = 10): void {
    this.checkAlive();
    const { centers, counts } = kmeansPlusPlus(points, n, this.dim, this.size, rng, iterations);
    this.setCodes(centers, counts);
    this.initialized = true;
  }

  /**
   * One EMA step from `n` keys ([n*d]) and their codes: N ← γN + (1−γ)n_j, m ← γm + (1−γ)Σk,
   * codes = m / Laplace-smoothed N.
   */
  emaUpdate(points: Float32Array, codes: Int32Array, n: number): void {
    this.checkAlive();
    if (this.update !== 'ema') {
      throw new VqlQuantizerError('INVALID_STATE', `${this.name}: emaUpdate() needs update 'ema', this codebook uses '${this.update}'.`);
    }
    const d = this.dim;
    const k = this.size;
    const batchCount = new Float64Array(k);
    const batchSum = new Float64Array(k * d);
    for (let i = 0; i < n; i++) {
      const j = codes[i]!;
      batchCount[j] = batchCount[j]! + 1;
      for (let t = 0; t < d; t++) batchSum[j * d + t] = batchSum[j * d + t]! + points[i * d + t]!;
    }
    const g = this.decay;
    let total = 0;
    for (let j = 0; j < k; j++) {
      this.emaCount[j] = g * this.emaCount[j]! + (1 - g) * batchCount[j]!;
      total += this.emaCount[j]!;
      for (let t = 0; t < d; t++) {
        this.emaSum[j * d + t] = g * this.emaSum[j * d + t]! + (1 - g) * batchSum[j * d + t]!;
      }
    }
    const out = new Float32Array(k * d);
    for (let j = 0; j < k; j++) {
      const smoothed = ((this.emaCount[j]! + this.eps) / (total + k * this.eps)) * total;
      for (let t = 0; t < d; t++) out[j * d + t] = this.emaSum[j * d + t]! / smoothed;
    }
    tf.tidy(() => this.table.assign(tf.tensor2d(out, [k, d])));
  }

  /**
   * Re-seeds the codes `indices` at the given vectors ([indices.length*d]). For SimVQ the basis
   * row is solved from b·W = vector; a code is skipped (and not counted) when W is singular.
   * Returns how many codes were re-seeded.
   */
  restart(indices: ArrayLike<number>, vectors: Float32Array): number {
    this.checkAlive();
    const d = this.dim;
    if (indices.length === 0) return 0;
    const table = Float32Array.from(this.table.dataSync() as Float32Array);
    let done = 0;
    let wT: Float64Array | null = null;
    if (this.linear !== null) {
      const w = this.linear.dataSync();
      wT = new Float64Array(d * d);
      for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) wT[c * d + r] = w[r * d + c]!;
    }
    let mean = 0;
    for (let j = 0; j < this.size; j++) mean += this.emaCount[j]!;
    mean /= this.size;
    for (let i = 0; i < indices.length; i++) {
      const j = indices[i]!;
      const v = vectors.subarray(i * d, i * d + d);
      if (wT !== null) {
        const row = solveLinear(wT, Float64Array.from(v), d);
        if (row === null) continue;
        for (let t = 0; t < d; t++) table[j * d + t] = row[t]!;
      } else {
        table.set(v, j * d);
      }
      // A restarted EMA code starts with an average cluster size, so one batch cannot fling it.
      this.emaCount[j] = mean;
      for (let t = 0; t < d; t++) this.emaSum[j * d + t] = v[t]! * mean;
      done++;
    }
    tf.tidy(() => this.table.assign(tf.tensor2d(table, [this.size, d])));
    return done;
  }

  /** Names (without prefix) of this codebook's weights, in a stable order. */
  weightNames(): string[] {
    if (this.simvq) return ['basis', 'linear'];
    return this.update === 'ema' ? ['codes', 'emaCount', 'emaSum'] : ['codes'];
  }

  /** Copies of the weights under `${prefix}${name}`; the caller owns (and disposes) them. */
  getWeights(prefix = ''): Record<string, tf.Tensor> {
    this.checkAlive();
    const out: Record<string, tf.Tensor> = {};
    if (this.linear !== null) {
      out[`${prefix}basis`] = tf.clone(this.table);
      out[`${prefix}linear`] = tf.clone(this.linear);
      return out;
    }
    out[`${prefix}codes`] = tf.clone(this.table);
    if (this.update === 'ema') {
      out[`${prefix}emaCount`] = tf.tensor1d(Float32Array.from(this.emaCount));
      out[`${prefix}emaSum`] = tf.tensor2d(Float32Array.from(this.emaSum), [this.size, this.dim]);
    }
    return out;
  }

  /** Loads what `getWeights(prefix)` produced; checks names, shapes and finiteness first. */
  setWeights(weights: Record<string, tf.Tensor>, prefix = ''): void {
    this.checkAlive();
    const k = this.size;
    const d = this.dim;
    const expected: Record<string, number[]> = { codes: [k, d], emaCount: [k], emaSum: [k, d], basis: [k, d], linear: [d, d] };
    const values: Record<string, Float32Array> = {};
    for (const name of this.weightNames()) {
      const full = `${prefix}${name}`;
      const t = weights[full];
      if (t === undefined) {
        throw new VqlQuantizerError('MISSING_WEIGHT', `${this.name}: setWeights is missing "${full}".`);
      }
      const shape = expected[name]!;
      if (!tf.util.arraysEqual(t.shape, shape)) {
        throw new VqlQuantizerError('SHAPE_MISMATCH', `${this.name}: weight "${full}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}].`);
      }
      const v = Float32Array.from(t.dataSync() as ArrayLike<number>);
      for (let i = 0; i < v.length; i++) {
        if (!Number.isFinite(v[i]!)) {
          throw new VqlQuantizerError('NON_FINITE', `${this.name}: weight "${full}" has a non-finite value at flat index ${i}.`);
        }
      }
      values[name] = v;
    }
    const linear = this.linear;
    if (linear !== null) {
      tf.tidy(() => this.table.assign(tf.tensor2d(values['basis']!, [k, d])));
      tf.tidy(() => linear.assign(tf.tensor2d(values['linear']!, [d, d])));
    } else {
      tf.tidy(() => this.table.assign(tf.tensor2d(values['codes']!, [k, d])));
      if (this.update === 'ema') {
        this.emaCount.set(values['emaCount']!);
        this.emaSum.set(values['emaSum']!);
      } else {
        this.setCodes(values['codes']!);
      }
    }
    this.initialized = true;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.table.dispose();
    this.linear?.dispose();
  }
}
