import { tf } from '@vql/runtime';
import type { Tensor } from '@vql/runtime';

/** λ_r = e^{logRate_r}·unit, rounded to float32 like tfjs's own `exp(logRate)·unit`, so every path sees the same λ. */
export function decayMixtureRates(logRate: ArrayLike<number>, unit: number): Float64Array {
  const lambda = new Float64Array(logRate.length);
  for (let r = 0; r < lambda.length; r++) lambda[r] = Math.fround(Math.fround(Math.exp(logRate[r]!)) * unit);
  return lambda;
}

/**
 * log κ(x) = log Σ_r exp(logBeta_r − λ_r·x) at one point, with the max term taken out (finite
 * wherever one term is). Writes the softmax weights w_r of the R terms to `weights[at..at+R)`
 * for `decayMixtureGradAt` (NaN where the result is not finite). `terms` is R of scratch.
 */
export function decayMixtureLogWeightAt(x: number, lambda: Float64Array, logBeta: ArrayLike<number>, weights: Float64Array | Float32Array, at: number, terms: Float64Array): number {
  const R = lambda.length;
  if (Number.isNaN(x)) {
    weights.fill(Number.NaN, at, at + R); // propagate as tfjs would, never a silent finite weight
    return Number.NaN;
  }
  let max = -Infinity;
  for (let r = 0; r < R; r++) {
    const t = logBeta[r]! - lambda[r]! * x;
    terms[r] = t;
    if (t > max) max = t;
  }
  if (!Number.isFinite(max)) {
    weights.fill(Number.NaN, at, at + R); // ±Inf x: the limit, as the composition gives (and NaN gradients)
    return max;
  }
  // The max term contributes exactly 1; terms below e^{−745} underflow to 0 in float64 anyway
  // (most of them at long x), so their exp is skipped.
  let s = 0;
  for (let r = 0; r < R; r++) {
    const d = terms[r]! - max;
    const w = d > -745 ? Math.exp(d) : 0;
    weights[at + r] = w;
    s += w;
  }
  for (let r = 0; r < R; r++) weights[at + r] = weights[at + r]! / s;
  return max + Math.log(s);
}

/**
 * Backward of `decayMixtureLogWeightAt` for an incoming gradient g at x: adds
 * g·∂/∂logBeta_r = g·w_r to dLogBeta and g·∂/∂logRate_r = −g·w_r·λ_r·x to dLogRate; returns
 * g·∂/∂x = −g·Σ_r w_r·λ_r.
 */
export function decayMixtureGradAt(g: number, x: number, lambda: Float64Array, weights: Float64Array | Float32Array, at: number, dLogRate: Float64Array, dLogBeta: Float64Array): number {
  let sx = 0;
  for (let r = 0; r < lambda.length; r++) {
    const w = weights[at + r]!;
    if (w === 0) continue;
    const gw = g * w;
    dLogBeta[r] += gw;
    dLogRate[r] -= gw * lambda[r]! * x;
    sx -= w * lambda[r]!;
  }
  return g * sx;
}

/**
 * log κ(x) = log Σ_r exp(logBeta_r − e^{logRate_r}·unit·x) for every element of `x` (any shape),
 * as one custom op with a closed-form gradient. The tfjs composition (broadcast to [..., R],
 * `logSumExp`) materialises R-wide intermediates and differentiates the max through an `Equal`
 * mask (~85 ms on [256, 1000, 3] on wasm); here forward and backward are two O(n·R) host loops.
 *
 * With w_r = exp(t_r − out), the softmax over the R terms t_r (kept from the forward pass):
 *   ∂out/∂logBeta_r = w_r,   ∂out/∂logRate_r = −w_r·λ_r·x,   ∂out/∂x = −Σ_r w_r·λ_r
 * (λ_r = e^{logRate_r}·unit). Float64 on the host, float32 output; same values as the
 * composition up to rounding, finite wherever one term is (log-sum-exp with the max taken out).
 */
export function decayMixtureLogWeight(x: Tensor, logRate: Tensor, logBeta: Tensor, unit: number): Tensor {
  const shape = x.shape;
  const R = logRate.shape[0]!;
  const op = tf.customGrad((...args) => {
    const xs = (args[0] as Tensor).dataSync() as Float32Array;
    const lambda = decayMixtureRates((args[1] as Tensor).dataSync(), unit);
    const logBeta = Float64Array.from((args[2] as Tensor).dataSync());
    const n = xs.length;
    const out = new Float32Array(n);
    // Softmax weights of the R terms, kept for the backward pass.
    const weights = new Float64Array(n * R);
    const terms = new Float64Array(R);
    for (let i = 0; i < n; i++) out[i] = decayMixtureLogWeightAt(xs[i]!, lambda, logBeta, weights, i * R, terms);
    return {
      value: tf.tensor(out, shape, 'float32'),
      gradFunc: (dy: Tensor) => {
        const g = dy.dataSync() as Float32Array;
        const dx = new Float32Array(n);
        const dRate = new Float64Array(R);
        const dBeta = new Float64Array(R);
        for (let i = 0; i < n; i++) {
          if (g[i] === 0) continue;
          dx[i] = decayMixtureGradAt(g[i]!, xs[i]!, lambda, weights, i * R, dRate, dBeta);
        }
        return [tf.tensor(dx, shape, 'float32'), tf.tensor1d(Float32Array.from(dRate)), tf.tensor1d(Float32Array.from(dBeta))];
      },
    };
  });
  return op(x, logRate, logBeta);
}
