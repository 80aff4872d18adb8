import { tf, type JsonValue, type Tensor, type Variable } from '@vql/runtime';
import { takeWeight } from '@vql/model/module-kit';
import { createKernel } from '@vql/temporal-kernel';
import type { KernelConfig, SeparableKernel } from '@vql/temporal-kernel';
import { VqlBaselinesError } from './errors.js';

/**
 * The learned separable temporal kernel of VQL and full attention (`@vql/temporal-kernel`), for
 * the baselines: `log κ(dt)` as a logit bias on their attention (top-k methods) or `κ(dt)` as the
 * weight of a behaviour in a sum (SDIM). `null` (the default) is the method as published, without it.
 */
export class TimeKernel {
  private constructor(
    readonly config: KernelConfig,
    readonly kernel: SeparableKernel,
  ) {}

  /** Parses the `kernel` option: undefined / null → no kernel; dt is in seconds, so the kernel must be too. */
  static fromOption(where: string, value: unknown): TimeKernel | null {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new VqlBaselinesError('INVALID_CONFIG', `${where}: kernel must be a kernel config object or null, got ${JSON.stringify(value)}.`);
    }
    const kernel = createKernel(value as KernelConfig, `${where}: kernel`);
    if (kernel.timeUnit !== 'seconds') {
      kernel.dispose();
      // The model hands dt in seconds; a kernel in days would silently decay 86400× slower.
      throw new VqlBaselinesError('INVALID_CONFIG', `${where}: kernel.timeUnit must be "seconds" (the model's dt unit), got "${kernel.timeUnit}".`);
    }
    return new TimeKernel(kernel.toConfig(), kernel);
  }

  /** log κ(dt), elementwise; differentiable in the kernel's parameters. */
  logWeight(dt: Tensor): Tensor {
    return this.kernel.logWeight(dt);
  }

  /** log κ(dt) of the given host dts (rounded to float32 as the model's `dt` tensor is) as a tensor of `shape`. */
  logWeightOf(dt: Float32Array, shape: number[]): Tensor {
    return this.kernel.logWeight(tf.tensor(dt, shape));
  }

  /** Host copy of log κ(dt) for `dt` [n] (float32 values), for ranking on the host (no gradient needed). */
  logWeightHost(dt: Float32Array): Float32Array {
    const t = tf.tidy(() => this.kernel.logWeight(tf.tensor1d(dt)));
    const out = Float32Array.from(t.dataSync());
    t.dispose();
    return out;
  }

  jsonConfig(): JsonValue {
    return this.config as unknown as JsonValue;
  }

  trainableVariables(): Variable[] {
    return this.kernel.trainableVariables();
  }

  /** The kernel's live variables under `kernel/<name>`. */
  weights(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(this.kernel.getWeights())) out[`kernel/${k}`] = v;
    return out;
  }

  /** Checks every `kernel/<name>` tensor first; returns the assignment to run once all checks passed. */
  checked(owner: string, weights: Record<string, Tensor>): () => void {
    const kw: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(this.kernel.getWeights())) kw[k] = takeWeight(owner, weights, `kernel/${k}`, v.shape);
    return () => this.kernel.setWeights(kw);
  }

  dispose(): void {
    this.kernel.dispose();
  }
}

/** Float32 dt of every position, as the model's `inputs.dt` holds them. */
export function dtOfPositions(dtHost: Float64Array, index: (i: number) => number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const p = index(i);
    out[i] = p < 0 ? 0 : dtHost[p]!;
  }
  return out;
}

/**
 * Serving: log κ(tq − t_i) of a whole history [L] at request time tq, from the kernel's factors
 * (anchor tq: one parameter read and L·F exponentials per request, shared by all candidates).
 * κ below 1e-300 (behaviours ~700 slowest timescales old) is floored there, so logits stay finite.
 */
export function hostLogKernel(where: string, kernel: SeparableKernel, times: Float64Array, tq: number): Float64Array {
  if (!Number.isFinite(tq)) throw new VqlBaselinesError('INVALID_INPUT', `${where}: the request time must be finite, got ${tq}.`);
  for (let i = 0; i < times.length; i++) {
    if (!(times[i]! <= tq)) {
      throw new VqlBaselinesError('INVALID_INPUT', `${where}: history time [${i}] = ${times[i]} is after the request time ${tq} (or not finite).`);
    }
  }
  const F = kernel.rank;
  const h = kernel.historyFactorsBatch(times, tq);
  const q = kernel.queryFactors(tq, tq);
  const out = new Float64Array(times.length);
  for (let i = 0; i < times.length; i++) {
    let s = 0;
    for (let f = 0; f < F; f++) s += q[f]! * h[i * F + f]!;
    out[i] = Math.log(Math.max(s, 1e-300));
  }
  return out;
}
