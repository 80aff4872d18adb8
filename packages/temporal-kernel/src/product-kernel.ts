import { tf } from '@vql/runtime';
import type { Tensor, Variable } from '@vql/runtime';
import type { KernelConfig, ScaledFactors, SeparableKernel } from './separable-kernel.js';
import type { TimeUnit } from './time-unit.js';
import { checkChildren, kron, prefixedWeights, splitWeights } from './composite.js';

/**
 * κ(Δ) = Π_i κ_i(Δ) (e.g. decay × time-of-day). Factors are the Kronecker product of the
 * children's factors, rank Π F_i; re-anchoring scales stay diagonal. Owns its children.
 */
export class ProductKernel implements SeparableKernel {
  readonly rank: number;
  readonly timeUnit: TimeUnit;
  readonly kernels: readonly SeparableKernel[];

  constructor(kernels: SeparableKernel[]) {
    this.kernels = checkChildren('new ProductKernel', kernels);
    this.timeUnit = this.kernels[0]!.timeUnit;
    this.rank = this.kernels.reduce((p, k) => p * k.rank, 1);
  }

  logWeight(dt: Tensor): Tensor {
    return tf.tidy(() => tf.addN(this.kernels.map((k) => k.logWeight(dt))));
  }

  private fold(parts: Float64Array[]): Float64Array {
    return parts.reduce((acc, p) => kron(acc, p));
  }

  queryFactors(tq: number, t0: number): Float64Array {
    return this.fold(this.kernels.map((k) => k.queryFactors(tq, t0)));
  }

  scaledQueryFactors(tq: number, t0: number): ScaledFactors {
    // Scales multiply (log scales add); the Kronecker product of max-1 factors has max 1.
    const parts = this.kernels.map((k) => k.scaledQueryFactors(tq, t0));
    return { factors: this.fold(parts.map((p) => p.factors)), logScale: parts.reduce((s, p) => s + p.logScale, 0) };
  }

  historyFactors(ti: number, t0: number): Float64Array {
    return this.fold(this.kernels.map((k) => k.historyFactors(ti, t0)));
  }

  historyFactorsBatch(times: Float64Array, t0: number): Float64Array {
    const parts = this.kernels.map((k) => k.historyFactorsBatch(times, t0));
    const ranks = this.kernels.map((k) => k.rank);
    const F = this.rank;
    const out = new Float64Array(times.length * F);
    // Row-wise Kronecker product through two scratch rows: no allocation per behaviour.
    let cur = new Float64Array(F);
    let next = new Float64Array(F);
    for (let i = 0; i < times.length; i++) {
      let len = ranks[0]!;
      cur.set(parts[0]!.subarray(i * len, (i + 1) * len));
      for (let c = 1; c < parts.length; c++) {
        const rc = ranks[c]!;
        const p = parts[c]!;
        for (let a = 0; a < len; a++) {
          const x = cur[a]!;
          for (let b = 0; b < rc; b++) next[a * rc + b] = x * p[i * rc + b]!;
        }
        [cur, next] = [next, cur];
        len *= rc;
      }
      out.set(cur.subarray(0, F), i * F);
    }
    return out;
  }

  reanchorScale(t0: number, t0New: number): Float64Array {
    return this.fold(this.kernels.map((k) => k.reanchorScale(t0, t0New)));
  }

  evaluate(dt: number): number {
    return this.kernels.reduce((p, k) => p * k.evaluate(dt), 1);
  }

  trainableVariables(): Variable[] {
    return this.kernels.flatMap((k) => k.trainableVariables());
  }

  getWeights(): Record<string, Tensor> {
    return prefixedWeights([...this.kernels]);
  }

  setWeights(weights: Record<string, Tensor>): void {
    const parts = splitWeights('ProductKernel.setWeights', [...this.kernels], weights);
    this.kernels.forEach((k, i) => k.setWeights(parts[i]!));
  }

  toConfig(): KernelConfig {
    return { type: 'product', kernels: this.kernels.map((k) => k.toConfig()) };
  }

  dispose(): void {
    for (const k of this.kernels) k.dispose();
  }
}
