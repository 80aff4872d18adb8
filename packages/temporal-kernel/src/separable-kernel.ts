import type { Tensor, Variable } from '@vql/runtime';
import type { TimeUnit } from './time-unit.js';

/** JSON description of a kernel: enough to rebuild it (weights travel separately). */
export type KernelConfig =
  | {
      type: 'expDecayMixture';
      timeUnit: TimeUnit;
      numRates: number;
      minTimescale: number;
      maxTimescale: number;
      initialRates?: number[];
      initialWeights?: number[];
    }
  | { type: 'periodic'; timeUnit: TimeUnit; periods: number[]; initialAmplitude: number }
  | { type: 'product'; kernels: KernelConfig[] }
  | { type: 'sum'; kernels: KernelConfig[] };

/** Factors relative to a common scale: value_f = e^{logScale} · factors_f. */
export interface ScaledFactors {
  /** [F], largest magnitude 1. */
  readonly factors: Float64Array;
  /** log of the common scale (finite). */
  readonly logScale: number;
}

/**
 * A time kernel κ(Δ) ≥ 0 that factorises: κ(tq − ti) = Σ_f q_f(tq, t0) · h_f(ti, t0) around an
 * anchor t0. Training adds `logWeight(dt)` to attention logits; the per-user cache stores history
 * factors and combines them with query factors online (DESIGN §1 "Cache").
 */
export interface SeparableKernel {
  /** F: number of factor components. */
  readonly rank: number;
  readonly timeUnit: TimeUnit;
  /** log κ(dt), elementwise, any shape; dt ≥ 0 in `timeUnit`. Differentiable in the parameters. */
  logWeight(dt: Tensor): Tensor;
  /** [F] query factors at the current parameter values (float64). */
  queryFactors(tq: number, t0: number): Float64Array;
  /**
   * The same factors in log space with their common maximum taken out:
   * queryFactors(tq, t0) = e^{logScale} · factors, max_f |factors_f| = 1 (all 0 only for κ ≡ 0).
   * Attention is a ratio of two sums over the same factors, so `factors` alone give the exact
   * result for any gap tq − t0, where the plain factors underflow to 0 (λ·Δ > ~745) or overflow.
   */
  scaledQueryFactors(tq: number, t0: number): ScaledFactors;
  /** [F] history factors; Σ_f q_f h_f = κ(tq − ti). Requires ti ≤ t0. */
  historyFactors(ti: number, t0: number): Float64Array;
  /** [n*F] history factors of many times (row i = times[i]), parameters read once. */
  historyFactorsBatch(times: Float64Array, t0: number): Float64Array;
  /** [F]: h(ti, t0New) = scale ⊙ h(ti, t0) for every ti. */
  reanchorScale(t0: number, t0New: number): Float64Array;
  /** κ(dt) computed directly (not through factors) in float64, for checks and serving. */
  evaluate(dt: number): number;
  trainableVariables(): Variable[];
  /** The live variables by name (owned by the kernel: do not dispose them). */
  getWeights(): Record<string, Tensor>;
  /** Copies values into the variables; names and shapes must match `getWeights()`. */
  setWeights(weights: Record<string, Tensor>): void;
  toConfig(): KernelConfig;
  dispose(): void;
}
