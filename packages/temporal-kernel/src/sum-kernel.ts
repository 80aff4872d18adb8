import { tf } from '@vql/runtime';
import type { Tensor, Variable } from '@vql/runtime';
import type { KernelConfig, ScaledFactors, SeparableKernel } from './separable-kernel.js';
import type { TimeUnit } from './time-unit.js';
import { checkChildren, prefixedWeights, splitWeights } from './composite.js';

/**
 * κ(Δ) = Σ_i κ_i(Δ). Factors are concatenated, rank Σ F_i; `logWeight` is a log-sum-exp of the
 * children's log weights, so it stays finite when every child underflows. Owns its children.
 */
export class SumKernel implements SeparableKernel {
  readonly rank: number;
  readonly timeUnit: TimeUnit;
  readonly kernels: readonly SeparableKernel[];

  constructor(kernels: SeparableKernel[]) {
    this.kernels = checkChildren('new SumKernel', kernels);
    this.timeUnit = this.kernels[0]!.timeUnit;
    this.rank = this.kernels.reduce((s, k) => s + k.rank, 0);
  }

  logWeight(dt: Tensor): Tensor {
    return tf.tidy(() => tf.logSumExp(tf.stack(this.kernels.map((k) => k.logWeight(dt)), -1), -1));
  }

  private concat(parts: Float64Array[]): Float64Array {
    const out = new Float64Array(this.rank);
    let offset = 0;
    for (const p of parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }

  queryFactors(tq: number, t0: number): Float64Array {
    return this.concat(this.kernels.map((k) => k.queryFactors(tq, t0)));
  }

  scaledQueryFactors(tq: number, t0: number): ScaledFactors {
    // Bring every child to the largest child scale; a child far below it underflows to 0, as its
    // share of κ does.
    const parts = this.kernels.map((k) => k.scaledQueryFactors(tq, t0));
    const logScale = Math.max(...parts.map((p) => p.logScale));
    return { factors: this.concat(parts.map((p) => p.factors.map((f) => f * Math.exp(p.logScale - logScale)))), logScale };
  }

  historyFactors(ti: number, t0: number): Float64Array {
    return this.concat(this.kernels.map((k) => k.historyFactors(ti, t0)));
  }

  historyFactorsBatch(times: Float64Array, t0: number): Float64Array {
    const parts = this.kernels.map((k) => k.historyFactorsBatch(times, t0));
    const F = this.rank;
    const out = new Float64Array(times.length * F);
    for (let i = 0; i < times.length; i++) {
      let offset = 0;
      parts.forEach((p, c) => {
        const Fc = this.kernels[c]!.rank;
        out.set(p.subarray(i * Fc, (i + 1) * Fc), i * F + offset);
        offset += Fc;
      });
    }
    return out;
  }

  reanchorScale(t0: number, t0New: number): Float64Array {
    return this.concat(this.kernels.map((k) => k.reanchorScale(t0, t0New)));
  }

  evaluate(dt: number): number {
    return this.kernels.reduce((s, k) => s + k.evaluate(dt), 0);
  }

  trainableVariables(): Variable[] {
    return this.kernels.flatMap((k) => k.trainableVariables());
  }

  getWeights(): Record<string, Tensor> {
    return prefixedWeights([...this.kernels]);
  }

  setWeights(weights: Record<string, Tensor>): void {
    const parts = splitWeights('SumKernel.setWeights', [...this.kernels], weights);
    this.kernels.forEach((k, i) => k.setWeights(parts[i]!));
  }

  toConfig(): KernelConfig {
    return { type: 'sum', kernels: this.kernels.map((k) => k.toConfig()) };
  }

  dispose(): void {
    for (const k of this.kernels) k.dispose();
  }
}
