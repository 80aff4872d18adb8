import { tf, type Rng, type Tensor, type Variable } from '@vql/runtime';
import { gatherRows, takeWeight } from '@vql/model';
import type { InterestBuildContext, InterestInputs } from '@vql/model';
import { boolOption, intOption } from './config.js';

/** A dense [rows, cols] variable, N(0, 1/rows) (fan-in scaled), drawn from `rng`. */
export function denseVariable(rng: Rng, rows: number, cols: number, scale = 1 / Math.sqrt(rows)): Variable {
  const values = new Float32Array(rows * cols);
  for (let i = 0; i < values.length; i++) values[i] = rng.normal() * scale;
  // Unnamed: tfjs variable names are global and several models may live in one process.
  return tf.variable(tf.tensor2d(values, [rows, cols]), true);
}

/** Options every target-attention baseline shares. */
export interface AttentionOptions {
  /** H. Default 2. */
  heads?: number;
  /** d_h. Default max(1, floor(D / H)) with D the width of the embeddings read. */
  headDim?: number;
  /** Read the fused item ⊕ static-context embeddings and the context logit bias. Default true. */
  useContext?: boolean;
}

export const ATTENTION_OPTIONS = ['heads', 'headDim', 'useContext'] as const;

/** Resolved multi-head shape plus which embeddings to read. */
export interface HeadShape {
  readonly heads: number;
  readonly headDim: number;
  readonly useContext: boolean;
  readonly inputDim: number; // D read by the projections
}

export function resolveHeads(where: string, options: Readonly<Record<string, unknown>>, context: InterestBuildContext): HeadShape {
  const useContext = boolOption(where, 'useContext', options.useContext, true);
  const inputDim = useContext ? context.fusedDim : context.itemDim;
  const heads = intOption(where, 'heads', options.heads, 2, 1, 256);
  const headDim = intOption(where, 'headDim', options.headDim, Math.max(1, Math.floor(inputDim / heads)), 1, 4096);
  return { heads, headDim, useContext, inputDim };
}

/** [B, D] target and [U, D] unique rows, and the context bias, honouring `useContext`. */
export function embeddingsOf(inputs: InterestInputs, useContext: boolean): { target: Tensor; unique: Tensor; bias: Tensor | null } {
  return useContext
    ? { target: inputs.targetEmbedding, unique: inputs.uniqueEmbedding, bias: inputs.uniqueLogitBias }
    : { target: inputs.targetItemEmbedding, unique: inputs.uniqueItemEmbedding, bias: null };
}

/** W_Q, W_K, W_V of a multi-head target attention (one key per head). */
export class Projections {
  readonly wq: Variable; // [D, H·dh]
  readonly wk: Variable; // [D, H·dh]
  readonly wv: Variable; // [D, H·dh]

  constructor(rng: Rng, readonly shape: HeadShape) {
    const width = shape.heads * shape.headDim;
    this.wq = denseVariable(rng, shape.inputDim, width);
    this.wk = denseVariable(rng, shape.inputDim, width);
    this.wv = denseVariable(rng, shape.inputDim, width);
  }

  variables(): Variable[] {
    return [this.wq, this.wk, this.wv];
  }

  weights(prefix = ''): Record<string, Tensor> {
    return { [`${prefix}wq`]: this.wq, [`${prefix}wk`]: this.wk, [`${prefix}wv`]: this.wv };
  }

  /** Checks every tensor first, then assigns: a failed call leaves the weights untouched. */
  checked(owner: string, weights: Record<string, Tensor>, prefix = ''): Array<[Variable, Tensor]> {
    return [
      [this.wq, takeWeight(owner, weights, `${prefix}wq`, this.wq.shape)],
      [this.wk, takeWeight(owner, weights, `${prefix}wk`, this.wk.shape)],
      [this.wv, takeWeight(owner, weights, `${prefix}wv`, this.wv.shape)],
    ];
  }

  dispose(): void {
    tf.dispose(this.variables());
  }
}

/** Behaviours picked per row on the host: `rows[b*k + j]` indexes the unique arrays (0 = none). */
export interface Selection {
  readonly k: number;
  readonly rows: Int32Array; // [B*k]
  readonly mask: Float32Array; // [B*k]
  /** History position of each pick (−1 = none), for inspection. */
  readonly positions: Int32Array; // [B*k]
}

export function emptySelection(batchSize: number, k: number): Selection {
  return { k, rows: new Int32Array(batchSize * k), mask: new Float32Array(batchSize * k), positions: new Int32Array(batchSize * k).fill(-1) };
}

/** Fills row b of `sel` from history positions `positions[0..count)` of that row. */
export function fillSelection(sel: Selection, inputs: InterestInputs, b: number, positions: Int32Array, count: number): void {
  const L = inputs.maxLen;
  for (let j = 0; j < count; j++) {
    sel.rows[b * sel.k + j] = inputs.inverseHost[b * L + positions[j]!]!;
    sel.mask[b * sel.k + j] = 1;
    sel.positions[b * sel.k + j] = positions[j]!;
  }
}

/**
 * Multi-head target attention of `query` [B, H·dh] over per-row sets of n items:
 * o^h = Σ_j softmax_j(q^h·k_j^h/√dh + bias_j − 10⁹(1 − m_j)) v_j^h. Rows whose mask is all 0 give
 * exact zeros (no history / nothing retrieved). `keys`, `values` [B, n, H·dh]; `bias` [B, n].
 */
export function multiHeadAttend(
  query: Tensor,
  keys: Tensor,
  values: Tensor,
  bias: Tensor | null,
  mask: Float32Array,
  heads: number,
  headDim: number,
): Tensor {
  const B = query.shape[0]!;
  const n = keys.shape[1]!;
  const H = heads;
  const dh = headDim;
  if (n === 0) return tf.zeros([B, H * dh]);
  const q = tf.reshape(query, [B, H, 1, dh]);
  const k = tf.transpose(tf.reshape(keys, [B, n, H, dh]), [0, 2, 1, 3]); // [B, H, n, dh]
  const v = tf.transpose(tf.reshape(values, [B, n, H, dh]), [0, 2, 1, 3]);
  let extra: Tensor = tf.mul(tf.sub(tf.tensor2d(mask, [B, n]), 1), 1e9);
  if (bias !== null) extra = tf.add(extra, bias);
  const logits = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)), tf.reshape(extra, [B, 1, 1, n])); // [B, H, 1, n]
  const out = tf.reshape(tf.matMul(tf.softmax(logits), v), [B, H * dh]);
  const any = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < n; j++) {
      if (mask[b * n + j] !== 0) {
        any[b] = 1;
        break;
      }
    }
  }
  return tf.mul(out, tf.tensor2d(any, [B, 1]));
}

/**
 * Target attention over the selected behaviours: keys and values are projected once per unique
 * row (U·D·H·dh) and only the B·k picked rows are gathered, so the training cost of the attention
 * is O(B·k), not O(B·L). Gradients reach W_Q, W_K, W_V and the embeddings through `gatherRows`.
 */
export function attendSelection(
  inputs: InterestInputs,
  proj: Projections,
  sel: Selection,
  projected: { query: Tensor; uniqueKeys: Tensor } | null = null,
): Tensor {
  const { heads: H, headDim: dh, useContext } = proj.shape;
  const B = inputs.batchSize;
  const { target, unique, bias } = embeddingsOf(inputs, useContext);
  if (sel.k === 0) return tf.zeros([B, H * dh]);
  const query = projected?.query ?? tf.matMul(target, proj.wq);
  const uniqueKeys = projected?.uniqueKeys ?? tf.matMul(unique, proj.wk);
  const keys = tf.reshape(gatherRows(uniqueKeys, sel.rows), [B, sel.k, H * dh]);
  const values = tf.reshape(gatherRows(tf.matMul(unique, proj.wv), sel.rows), [B, sel.k, H * dh]);
  const b = bias === null ? null : tf.reshape(gatherRows(tf.reshape(bias, [-1, 1]), sel.rows), [B, sel.k]);
  return multiHeadAttend(query, keys, values, b, sel.mask, H, dh);
}
