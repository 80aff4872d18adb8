import { tf } from '@vql/runtime';
import type { Rng, Tensor, Variable } from '@vql/runtime';
import { ExpDecayMixtureKernel, secondsPerUnit } from '@vql/temporal-kernel';
import type { SeparableKernel } from '@vql/temporal-kernel';
import { VqlModelError } from './errors.js';
import { targetAttention } from './fused-attention.js';
import type { InterestInputs } from './interest-module.js';

/** Shape of a multi-head target attention with grouped keys (heads of a group share a key). */
export interface AttentionShape {
  readonly heads: number; // H
  readonly groups: number; // G, divides H
  readonly headDim: number; // d_h
}

/** A dense [rows, cols] variable, N(0, 1/rows) (fan-in scaled), drawn from `rng`. */
export function denseVariable(rng: Rng, rows: number, cols: number): Variable {
  const values = new Float32Array(rows * cols);
  const scale = 1 / Math.sqrt(rows);
  for (let i = 0; i < values.length; i++) values[i] = rng.normal() * scale;
  // Unnamed: tfjs variable names are global, and several models may live in one process.
  return tf.variable(tf.tensor2d(values, [rows, cols]), true);
}

export function checkPositiveInt(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new VqlModelError('INVALID_CONFIG', `${where}: ${name} must be a positive integer, got ${JSON.stringify(value)}.`);
  }
  return value;
}

export function checkAttentionShape(where: string, heads: unknown, groups: unknown, headDim: unknown): AttentionShape {
  const H = checkPositiveInt(where, 'heads', heads);
  const G = checkPositiveInt(where, 'groups', groups);
  const dh = checkPositiveInt(where, 'headDim', headDim);
  if (H % G !== 0) throw new VqlModelError('INVALID_CONFIG', `${where}: groups (${G}) must divide heads (${H}).`);
  return { heads: H, groups: G, headDim: dh };
}

export interface AttendArgs {
  readonly inputs: InterestInputs;
  readonly shape: AttentionShape;
  readonly query: Tensor; // [B, H·d_h]
  readonly uniqueKeys: Tensor; // [U, G·d_h] (straight-through quantized for VQL)
  readonly uniqueValues: Tensor; // [U, H·d_h]
  /** Query-independent logit bias per unique row (context), or null. */
  readonly uniqueBias: Tensor | null; // [U]
  /**
   * The temporal kernel (null: off). The exponential-decay mixture is evaluated inside the fused
   * op; other kernels enter as their log κ(dt) tensor.
   */
  readonly kernel: SeparableKernel | null;
  /**
   * Code per unique row and head group when `uniqueKeys` are quantized (rows with one code carry
   * one key): the attention then runs in the grouped per-code form (same weights, fewer logits).
   */
  readonly uniqueCodes?: Int32Array | null; // [U·G]
}

/**
 * o^h = Σ_l softmax_l(q^h·k_l^{g(h)}/√d_h + b_l + log κ(dt_l) − 10⁹·(1 − m_l)) v_l^h for all heads,
 * as one `targetAttention` op over the unique rows (no per-position key/value copies): the
 * context bias is read per unique row and the decay-mixture kernel evaluated per position inside
 * the op (no [B, L] tensors), padding is skipped on the host (exactly what the −10⁹ logit does);
 * grouped per code when `uniqueCodes` is given. Users without behaviours get exact zeros.
 * Returns [B, H·d_h].
 */
export function attend(args: AttendArgs): Tensor {
  const { inputs, shape, query, uniqueKeys, uniqueValues, uniqueBias, kernel } = args;
  const { heads: H, groups: G, headDim: dh } = shape;
  const B = inputs.batchSize;
  const L = inputs.maxLen;
  if (L === 0) return tf.zeros([B, H * dh]);
  const decay =
    kernel instanceof ExpDecayMixtureKernel
      ? { logRate: kernel.getWeights()['logRate']!, logBeta: kernel.getWeights()['logBeta']!, unit: secondsPerUnit(kernel.timeUnit), dt: inputs.dtHost }
      : null;
  const extra = kernel === null || decay !== null ? null : kernel.logWeight(inputs.dt);
  return targetAttention(
    query,
    uniqueKeys,
    uniqueValues,
    { extra, bias: uniqueBias === null ? null : tf.reshape(uniqueBias, [-1]), decay },
    {
      inverse: inputs.inverseHost,
      hasHistory: hasHistoryOf(inputs),
      mask: inputs.host.historyMask,
      codes: args.uniqueCodes ?? null,
      shape: { batchSize: B, maxLen: L, heads: H, groups: G, headDim: dh },
      scale: 1 / Math.sqrt(dh),
    },
  );
}

function hasHistoryOf(inputs: InterestInputs): Float32Array {
  const out = new Float32Array(inputs.batchSize);
  const len = inputs.host.historyLength;
  for (let b = 0; b < out.length; b++) out[b] = len[b]! > 0 ? 1 : 0;
  return out;
}
