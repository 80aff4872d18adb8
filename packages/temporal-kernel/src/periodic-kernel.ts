import { checkKnownKeys, tf } from '@vql/runtime';
import type { Tensor, Variable } from '@vql/runtime';
import { VqlTemporalKernelError } from './errors.js';
import type { KernelConfig, ScaledFactors, SeparableKernel } from './separable-kernel.js';
import { checkTimeUnit, secondsPerUnit } from './time-unit.js';
import type { TimeUnit } from './time-unit.js';
import { assignNamed, checkFiniteOutput, checkPositive, checkTime, readFinite } from './validate.js';

export interface PeriodicKernelOptions {
  /** Unit of every time and dt this kernel receives. Required: never guessed. */
  timeUnit: TimeUnit;
  /** Periods in seconds. Default [86400, 604800]: daily and weekly. */
  periods?: number[];
  /** Initial amplitude a_k of every term; K·a must be < 1. Default 0.05. */
  initialAmplitude?: number;
}

export const DAY_SECONDS = 86400;
export const WEEK_SECONDS = 7 * DAY_SECONDS;

/**
 * κ(Δ) = 1 + Σ_k a_k cos(ω_k Δ − φ_k), ω_k = 2π/P_k. Amplitudes come from a softmax with an
 * extra fixed slot, a_k = e^{w_k} / (1 + Σ_j e^{w_j}), so Σ a_k < 1 and κ ≥ 1 − Σ a_k > 0: its log
 * always exists, and the parameterisation is smooth everywhere (no |·|). Phases φ_k are free.
 *
 * Rank 1 + 2K: cos(ω(tq−ti) − φ) = cos(ωtq − φ)·cos(ωti) + sin(ωtq − φ)·sin(ωti). Phases use
 * absolute time reduced modulo each period in float64, so factors do not depend on the anchor
 * (re-anchoring scales by 1) and stay exact for epoch-sized times.
 */
export class PeriodicKernel implements SeparableKernel {
  readonly rank: number;
  readonly timeUnit: TimeUnit;
  private readonly unitSeconds: number;
  private readonly periods: number[]; // seconds
  private readonly initialAmplitude: number;
  private readonly amplitudeLogit: Variable; // [K] w_k
  private readonly phase: Variable; // [K] φ_k, radians

  constructor(options: PeriodicKernelOptions) {
    const where = 'new PeriodicKernel';
    if (options == null || typeof options !== 'object') {
      throw new VqlTemporalKernelError('INVALID_ARGUMENT', `${where}(options): options with a timeUnit are required.`);
    }
    checkKnownKeys(`${where}: options`, options, ['timeUnit', 'periods', 'initialAmplitude'], (m) => new VqlTemporalKernelError('UNKNOWN_OPTION', m));
    this.timeUnit = checkTimeUnit(`${where}: options.timeUnit`, options.timeUnit);
    this.unitSeconds = secondsPerUnit(this.timeUnit);
    const periods = options.periods ?? [DAY_SECONDS, WEEK_SECONDS];
    if (!Array.isArray(periods) || periods.length === 0) {
      throw new VqlTemporalKernelError('INVALID_ARGUMENT', `${where}: options.periods must be a non-empty array of seconds.`);
    }
    this.periods = periods.map((p, k) => checkPositive(where, `options.periods[${k}]`, p));
    const K = this.periods.length;
    const a = checkPositive(where, 'options.initialAmplitude', options.initialAmplitude ?? 0.05);
    if (K * a >= 1) {
      throw new VqlTemporalKernelError(
        'INVALID_ARGUMENT',
        `${where}: options.initialAmplitude (${a}) × ${K} periods must be < 1 so that κ stays > 0.`,
      );
    }
    this.initialAmplitude = a;
    this.rank = 1 + 2 * K;
    // Solve a = e^w / (1 + K e^w) for w.
    const w = Math.log(a / (1 - K * a));
    this.amplitudeLogit = tf.variable(tf.fill([K], w, 'float32'), true);
    this.phase = tf.variable(tf.zeros([K], 'float32'), true);
  }

  /** [K] amplitudes a_k as tensors (differentiable). */
  private amplitudeTensor(): Tensor {
    const K = this.periods.length;
    const logits = tf.concat([tf.zeros([1]), this.amplitudeLogit]);
    return tf.slice(tf.softmax(logits), [1], [K]);
  }

  logWeight(dt: Tensor): Tensor {
    return tf.tidy(() => {
      const x = dt.dtype === 'float32' ? dt : tf.cast(dt, 'float32');
      const periodsInUnit = tf.tensor1d(this.periods.map((p) => p / this.unitSeconds), 'float32');
      const omega = tf.tensor1d(this.periods.map((p) => (2 * Math.PI * this.unitSeconds) / p), 'float32');
      // Reduce dt modulo each period before multiplying by ω: ω·dt for dt of years loses ~1e-3 rad.
      const reduced = tf.mod(tf.expandDims(x, -1), periodsInUnit); // [..., K]
      const cosines = tf.cos(tf.sub(tf.mul(reduced, omega), this.phase));
      return tf.log1p(tf.sum(tf.mul(cosines, this.amplitudeTensor()), -1));
    });
  }

  /** Current amplitudes a_k (float64). */
  amplitudes(): Float64Array {
    const w = readFinite('PeriodicKernel', 'amplitudeLogit', this.amplitudeLogit);
    let max = 0;
    for (const x of w) max = Math.max(max, x);
    let denom = Math.exp(-max);
    for (const x of w) denom += Math.exp(x - max);
    return w.map((x) => Math.exp(x - max) / denom);
  }

  /** Current phases φ_k in radians (float64). */
  phases(): Float64Array {
    return readFinite('PeriodicKernel', 'phase', this.phase);
  }

  /** Angle ω·(t mod P) in float64 for time `t` in this kernel's unit. */
  private angle(t: number, k: number): number {
    const periodInUnit = this.periods[k]! / this.unitSeconds;
    const r = t - periodInUnit * Math.floor(t / periodInUnit);
    return (2 * Math.PI * r) / periodInUnit;
  }

  queryFactors(tq: number, t0: number): Float64Array {
    const where = 'PeriodicKernel.queryFactors';
    checkTime(where, 'tq', tq);
    checkTime(where, 't0', t0);
    const a = this.amplitudes();
    const phi = this.phases();
    const out = new Float64Array(this.rank);
    out[0] = 1;
    for (let k = 0; k < this.periods.length; k++) {
      const theta = this.angle(tq, k) - phi[k]!;
      out[1 + 2 * k] = a[k]! * Math.cos(theta);
      out[2 + 2 * k] = a[k]! * Math.sin(theta);
    }
    return checkFiniteOutput(where, out, 'non-finite parameters.');
  }

  scaledQueryFactors(tq: number, t0: number): ScaledFactors {
    // Bounded factors (|q_f| ≤ 1, q_0 = 1): nothing to rescale.
    return { factors: this.queryFactors(tq, t0), logScale: 0 };
  }

  historyFactors(ti: number, t0: number): Float64Array {
    return this.historyFactorsBatch(Float64Array.of(checkTime('PeriodicKernel.historyFactors', 'ti', ti)), t0);
  }

  historyFactorsBatch(times: Float64Array, t0: number): Float64Array {
    const where = 'PeriodicKernel.historyFactorsBatch';
    checkTime(where, 't0', t0);
    const F = this.rank;
    const out = new Float64Array(times.length * F);
    for (let i = 0; i < times.length; i++) {
      const ti = times[i]!;
      if (!Number.isFinite(ti) || ti > t0) {
        throw new VqlTemporalKernelError('INVALID_TIME', `${where}: times[${i}] = ${ti} must be finite and ≤ the anchor t0 = ${t0}.`);
      }
      out[i * F] = 1;
      for (let k = 0; k < this.periods.length; k++) {
        const theta = this.angle(ti, k);
        out[i * F + 1 + 2 * k] = Math.cos(theta);
        out[i * F + 2 + 2 * k] = Math.sin(theta);
      }
    }
    return out;
  }

  reanchorScale(t0: number, t0New: number): Float64Array {
    checkTime('PeriodicKernel.reanchorScale', 't0', t0);
    checkTime('PeriodicKernel.reanchorScale', 't0New', t0New);
    return new Float64Array(this.rank).fill(1);
  }

  evaluate(dt: number): number {
    checkTime('PeriodicKernel.evaluate', 'dt', dt);
    const a = this.amplitudes();
    const phi = this.phases();
    let sum = 1;
    for (let k = 0; k < this.periods.length; k++) sum += a[k]! * Math.cos(this.angle(dt, k) - phi[k]!);
    return sum;
  }

  trainableVariables(): Variable[] {
    return [this.amplitudeLogit, this.phase];
  }

  getWeights(): Record<string, Tensor> {
    return { amplitudeLogit: this.amplitudeLogit, phase: this.phase };
  }

  setWeights(weights: Record<string, Tensor>): void {
    assignNamed('PeriodicKernel.setWeights', { amplitudeLogit: this.amplitudeLogit, phase: this.phase }, weights);
  }

  toConfig(): KernelConfig {
    return { type: 'periodic', timeUnit: this.timeUnit, periods: [...this.periods], initialAmplitude: this.initialAmplitude };
  }

  dispose(): void {
    this.amplitudeLogit.dispose();
    this.phase.dispose();
  }
}
