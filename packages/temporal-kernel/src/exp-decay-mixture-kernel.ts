import { checkKnownKeys, tf } from '@vql/runtime';
import type { Tensor, Variable } from '@vql/runtime';
import { decayMixtureLogWeight } from './decay-mixture-log-weight.js';
import { VqlTemporalKernelError } from './errors.js';
import type { KernelConfig, ScaledFactors, SeparableKernel } from './separable-kernel.js';
import { checkTimeUnit, secondsPerUnit } from './time-unit.js';
import type { TimeUnit } from './time-unit.js';
import { assignNamed, checkFiniteOutput, checkFiniteScaled, checkPositive, checkPositiveInt, checkTime, readFinite } from './validate.js';

export interface ExpDecayMixtureKernelOptions {
  /** Unit of every time and dt this kernel receives. Required: never guessed. */
  timeUnit: TimeUnit;
  /** R, the number of decay rates. Default 6. */
  numRates?: number;
  /** Shortest initial timescale 1/λ in seconds. Default 60 (a minute). */
  minTimescale?: number;
  /** Longest initial timescale 1/λ in seconds. Default 3 years. */
  maxTimescale?: number;
  /** Explicit initial rates λ_r per second (overrides the timescale spread); length R. */
  initialRates?: number[];
  /** Initial weights β_r > 0; default 1/R each, so κ(0) = 1. */
  initialWeights?: number[];
}

const YEAR = 365.25 * 86400;
const DEFAULTS = { numRates: 6, minTimescale: 60, maxTimescale: 3 * YEAR };

/**
 * κ(Δ) = Σ_r β_r e^{−λ_r Δ}. Parameters are logs, λ_r = e^{ρ_r} (per second) and β_r = e^{γ_r}:
 * positivity holds by construction, and log β_r enters `logWeight` directly, so the log-sum-exp
 * form never takes the log of a sum that underflowed. Rank F = R, factors
 * q_r = β_r e^{−λ_r (tq − t0)}, h_r = e^{−λ_r (t0 − ti)} ≤ 1.
 */
export class ExpDecayMixtureKernel implements SeparableKernel {
  readonly rank: number;
  readonly timeUnit: TimeUnit;
  private readonly unitSeconds: number;
  private readonly config: Extract<KernelConfig, { type: 'expDecayMixture' }>;
  private readonly logRate: Variable; // [R] log λ_r, λ per second
  private readonly logBeta: Variable; // [R] log β_r

  constructor(options: ExpDecayMixtureKernelOptions) {
    const where = 'new ExpDecayMixtureKernel';
    if (options == null || typeof options !== 'object') {
      throw new VqlTemporalKernelError('INVALID_ARGUMENT', `${where}(options): options with a timeUnit are required.`);
    }
    checkKnownKeys(`${where}: options`, options, ['timeUnit', 'numRates', 'minTimescale', 'maxTimescale', 'initialRates', 'initialWeights'], (m) => new VqlTemporalKernelError('UNKNOWN_OPTION', m));
    this.timeUnit = checkTimeUnit(`${where}: options.timeUnit`, options.timeUnit);
    this.unitSeconds = secondsPerUnit(this.timeUnit);
    const minTimescale = checkPositive(where, 'options.minTimescale', options.minTimescale ?? DEFAULTS.minTimescale);
    const maxTimescale = checkPositive(where, 'options.maxTimescale', options.maxTimescale ?? DEFAULTS.maxTimescale);
    if (maxTimescale < minTimescale) {
      throw new VqlTemporalKernelError(
        'INVALID_ARGUMENT',
        `${where}: options.maxTimescale (${maxTimescale}) must be ≥ options.minTimescale (${minTimescale}).`,
      );
    }
    const numRates = checkPositiveInt(
      where,
      'options.numRates',
      options.numRates ?? options.initialRates?.length ?? options.initialWeights?.length ?? DEFAULTS.numRates,
    );
    let rates: number[];
    if (options.initialRates !== undefined) {
      if (!Array.isArray(options.initialRates) || options.initialRates.length !== numRates) {
        throw new VqlTemporalKernelError('INVALID_ARGUMENT', `${where}: options.initialRates must be an array of ${numRates} rates.`);
      }
      rates = options.initialRates.map((r, i) => checkPositive(where, `options.initialRates[${i}]`, r));
    } else {
      // Log-uniform spread: every decade from minutes to years gets a rate at initialisation.
      rates = Array.from({ length: numRates }, (_, r) => {
        const frac = numRates === 1 ? 0.5 : r / (numRates - 1);
        return 1 / (minTimescale * Math.pow(maxTimescale / minTimescale, frac));
      });
    }
    let weights: number[];
    if (options.initialWeights !== undefined) {
      if (!Array.isArray(options.initialWeights) || options.initialWeights.length !== numRates) {
        throw new VqlTemporalKernelError('INVALID_ARGUMENT', `${where}: options.initialWeights must be an array of ${numRates} weights.`);
      }
      weights = options.initialWeights.map((b, i) => checkPositive(where, `options.initialWeights[${i}]`, b));
    } else {
      weights = new Array<number>(numRates).fill(1 / numRates);
    }
    this.rank = numRates;
    this.config = {
      type: 'expDecayMixture',
      timeUnit: this.timeUnit,
      numRates,
      minTimescale,
      maxTimescale,
      ...(options.initialRates !== undefined ? { initialRates: [...rates] } : {}),
      ...(options.initialWeights !== undefined ? { initialWeights: [...weights] } : {}),
    };
    this.logRate = tf.variable(tf.tensor1d(rates.map(Math.log), 'float32'), true);
    this.logBeta = tf.variable(tf.tensor1d(weights.map(Math.log), 'float32'), true);
  }

  logWeight(dt: Tensor): Tensor {
    return tf.tidy(() => {
      const x = dt.dtype === 'float32' ? dt : tf.cast(dt, 'float32');
      // One custom op (closed-form gradient) instead of the broadcast + logSumExp composition.
      return decayMixtureLogWeight(x, this.logRate, this.logBeta, this.unitSeconds);
    });
  }

  /** Current λ_r per second (float64). */
  rates(): Float64Array {
    return readFinite('ExpDecayMixtureKernel', 'logRate', this.logRate).map(Math.exp);
  }

  /** Current β_r (float64). */
  weights(): Float64Array {
    return readFinite('ExpDecayMixtureKernel', 'logBeta', this.logBeta).map(Math.exp);
  }

  queryFactors(tq: number, t0: number): Float64Array {
    const where = 'ExpDecayMixtureKernel.queryFactors';
    const d = (checkTime(where, 'tq', tq) - checkTime(where, 't0', t0)) * this.unitSeconds;
    const lambda = this.rates();
    const beta = this.weights();
    const out = new Float64Array(this.rank);
    for (let r = 0; r < this.rank; r++) out[r] = beta[r]! * Math.exp(-lambda[r]! * d);
    return checkFiniteOutput(where, out, `tq (${tq}) lies so far before the anchor t0 (${t0}) that e^{λΔ} overflows; anchor at or before the query time.`);
  }

  scaledQueryFactors(tq: number, t0: number): ScaledFactors {
    const where = 'ExpDecayMixtureKernel.scaledQueryFactors';
    const d = (checkTime(where, 'tq', tq) - checkTime(where, 't0', t0)) * this.unitSeconds;
    const logRate = readFinite('ExpDecayMixtureKernel', 'logRate', this.logRate);
    const logBeta = readFinite('ExpDecayMixtureKernel', 'logBeta', this.logBeta);
    // log q_r = log β_r − λ_r Δ, finite for any finite Δ; subtracting the maximum keeps the
    // dominant rate at exactly 1 however far the query lies from the anchor.
    const logs = new Float64Array(this.rank);
    let max = Number.NEGATIVE_INFINITY;
    for (let r = 0; r < this.rank; r++) {
      logs[r] = logBeta[r]! - Math.exp(logRate[r]!) * d;
      if (logs[r]! > max) max = logs[r]!;
    }
    const factors = logs.map((l) => Math.exp(l - max));
    return checkFiniteScaled(where, { factors, logScale: max }, `tq (${tq}) and t0 (${t0}) are too far apart for float64 (λΔ overflows).`);
  }

  historyFactors(ti: number, t0: number): Float64Array {
    return this.historyFactorsBatch(Float64Array.of(checkTime('ExpDecayMixtureKernel.historyFactors', 'ti', ti)), t0);
  }

  historyFactorsBatch(times: Float64Array, t0: number): Float64Array {
    const where = 'ExpDecayMixtureKernel.historyFactorsBatch';
    checkTime(where, 't0', t0);
    const lambda = this.rates();
    const R = this.rank;
    const out = new Float64Array(times.length * R);
    for (let i = 0; i < times.length; i++) {
      const ti = times[i]!;
      if (!Number.isFinite(ti) || ti > t0) {
        throw new VqlTemporalKernelError(
          'INVALID_TIME',
          `${where}: times[${i}] = ${ti} must be finite and ≤ the anchor t0 = ${t0} (history factors e^{−λ(t0−ti)} stay ≤ 1).`,
        );
      }
      const age = (t0 - ti) * this.unitSeconds;
      // Underflow to 0 for old behaviours under fast rates is exact enough; never NaN (age ≥ 0, λ finite).
      for (let r = 0; r < R; r++) out[i * R + r] = Math.exp(-lambda[r]! * age);
    }
    return out;
  }

  reanchorScale(t0: number, t0New: number): Float64Array {
    const where = 'ExpDecayMixtureKernel.reanchorScale';
    const d = (checkTime(where, 't0New', t0New) - checkTime(where, 't0', t0)) * this.unitSeconds;
    const lambda = this.rates();
    const out = new Float64Array(this.rank);
    for (let r = 0; r < this.rank; r++) out[r] = Math.exp(-lambda[r]! * d);
    return checkFiniteOutput(where, out, `moving the anchor back from ${t0} to ${t0New} overflows; anchors should only move forward.`);
  }

  evaluate(dt: number): number {
    const d = checkTime('ExpDecayMixtureKernel.evaluate', 'dt', dt) * this.unitSeconds;
    const lambda = this.rates();
    const beta = this.weights();
    let sum = 0;
    for (let r = 0; r < this.rank; r++) sum += beta[r]! * Math.exp(-lambda[r]! * d);
    return sum;
  }

  trainableVariables(): Variable[] {
    return [this.logRate, this.logBeta];
  }

  getWeights(): Record<string, Tensor> {
    return { logRate: this.logRate, logBeta: this.logBeta };
  }

  setWeights(weights: Record<string, Tensor>): void {
    assignNamed('ExpDecayMixtureKernel.setWeights', { logRate: this.logRate, logBeta: this.logBeta }, weights);
  }

  toConfig(): KernelConfig {
    return structuredClone(this.config);
  }

  dispose(): void {
    this.logRate.dispose();
    this.logBeta.dispose();
  }
}
