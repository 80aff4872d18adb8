import { tf, type Rng, type Tensor, type Variable } from '@vql/runtime';
import { takeWeight, targetAttention } from '@vql/model/module-kit';
import type { InterestBuildContext, InterestInputs } from '@vql/model';
import type { KernelConfig } from '@vql/temporal-kernel';
import { boolOption, intOption } from './config.js';
import { dtOfPositions } from './time-kernel.js';
import type { TimeKernel } from './time-kernel.js';

/**
 * A variable holding `initial`, which it disposes: tfjs keeps the initial tensor alive beside the
 * variable otherwise (one leaked tensor per variable, surviving the module's dispose).
 */
export function ownedVariable(initial: Tensor, trainable: boolean): Variable {
  // Unnamed: tfjs variable names are global and several models may live in one process.
  const v = tf.variable(initial, trainable);
  initial.dispose();
  return v;
}

/**
 * Assigns checked weights. A variable handed its own live tensor (`setWeights({ ...getWeights(), x })`)
 * is skipped: tfjs's assign releases the old data before taking the new, which would free it.
 */
export function assignAll(pairs: ReadonlyArray<readonly [Variable, Tensor]>): void {
  for (const [v, t] of pairs) if (t !== v) v.assign(t);
}

/** A dense [rows, cols] variable, N(0, 1/rows) (fan-in scaled), drawn from `rng`. */
export function denseVariable(rng: Rng, rows: number, cols: number, scale = 1 / Math.sqrt(rows)): Variable {
  const values = new Float32Array(rows * cols);
  for (let i = 0; i < values.length; i++) values[i] = rng.normal() * scale;
  return ownedVariable(tf.tensor2d(values, [rows, cols]), true);
}

/** Options every target-attention baseline shares. */
export interface AttentionOptions {
  /** H. Default 2. */
  heads?: number;
  /** d_h. Default max(1, floor(D / H)) with D the width of the embeddings read. */
  headDim?: number;
  /** Read the fused item ⊕ static-context embeddings and the context logit bias. Default true. */
  useContext?: boolean;
  /**
   * Learned separable temporal kernel (`@vql/temporal-kernel` config, timeUnit 'seconds'): log κ(dt)
   * is added to the attention logits, as in VQL and full attention. Default null (off, as published).
   */
  kernel?: KernelConfig | null;
}

export const ATTENTION_OPTIONS = ['heads', 'headDim', 'useContext', 'kernel'] as const;

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

/**
 * Behaviours picked per row on the host, either one set shared by all heads (`sets` = 1) or one
 * set per head (`sets` = H, TWIN): `rows[(b*sets + s)*k + j]` indexes the unique arrays (0 = none).
 */
export interface Selection {
  readonly k: number;
  readonly sets: number;
  readonly rows: Int32Array; // [B*sets*k]
  readonly mask: Float32Array; // [B*sets*k]
  /** History position of each pick (−1 = none). */
  readonly positions: Int32Array; // [B*sets*k]
}

export function emptySelection(batchSize: number, k: number, sets = 1): Selection {
  const n = batchSize * sets * k;
  return { k, sets, rows: new Int32Array(n), mask: new Float32Array(n), positions: new Int32Array(n).fill(-1) };
}

/** Fills set s of row b of `sel` from history positions `positions[0..count)` of that row. */
export function fillSelection(sel: Selection, inputs: InterestInputs, b: number, positions: Int32Array, count: number, s = 0): void {
  const L = inputs.maxLen;
  const o = (b * sel.sets + s) * sel.k;
  for (let j = 0; j < count; j++) {
    sel.rows[o + j] = inputs.inverseHost[b * L + positions[j]!]!;
    sel.mask[o + j] = 1;
    sel.positions[o + j] = positions[j]!;
  }
}

/** 1 for the rows of `mask` ([rows·n]) with at least one real entry. */
function rowsWithAny(mask: Float32Array, rows: number, n: number): Float32Array {
  const any = new Float32Array(rows);
  for (let b = 0; b < rows; b++) {
    for (let j = 0; j < n; j++) {
      if (mask[b * n + j] !== 0) {
        any[b] = 1;
        break;
      }
    }
  }
  return any;
}

/**
 * Multi-head target attention of `query` [B, H·dh] over per-row sets of n items shared by the
 * heads: `keys`, `values` [B, n, H·dh]; `bias` [B, n] or null; `mask` [B·n].
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
  const W = heads * headDim;
  if (n === 0) return tf.zeros([B, W]);
  // The B·n per-row items are the op's "unique rows", each read by its own position.
  const identity = Int32Array.from({ length: B * n }, (_, i) => i);
  return targetAttention(query, tf.reshape(keys, [B * n, W]), tf.reshape(values, [B * n, W]), bias === null ? null : tf.reshape(bias, [B, n]), {
    inverse: identity,
    hasHistory: rowsWithAny(mask, B, n),
    mask,
    codes: null,
    shape: { batchSize: B, maxLen: n, heads, groups: heads, headDim },
    scale: 1 / Math.sqrt(headDim),
  });
}

/** [U, H·dh] → [H·U, dh]: row h·U + u is head h of unique row u (so one gather serves per-head picks). */
function headMajor(x: Tensor, heads: number, headDim: number): Tensor {
  const U = x.shape[0]!;
  return tf.reshape(tf.transpose(tf.reshape(x, [U, heads, headDim]), [1, 0, 2]), [heads * U, headDim]);
}

/**
 * Target attention over the selected behaviours: keys and values are projected once per unique
 * row (U·D·H·dh) and only the picked rows are gathered, so the training cost of the attention is
 * O(B·k), not O(B·L). Logit bias per pick: the context bias and, with a kernel, log κ(dt). Per-head
 * selections (`sets` = H) gather head h of each pick for head h only. Gradients reach W_Q, W_K,
 * W_V, the kernel and the embeddings through `gatherRows` (the picks themselves have none).
 */
export function attendSelection(
  inputs: InterestInputs,
  proj: Projections,
  sel: Selection,
  kernel: TimeKernel | null,
  projected: { query: Tensor; uniqueKeys: Tensor } | null = null,
): Tensor {
  const { heads: H, headDim: dh, useContext } = proj.shape;
  const B = inputs.batchSize;
  const S = sel.sets;
  const k = sel.k;
  const { target, unique, bias } = embeddingsOf(inputs, useContext);
  if (k === 0) return tf.zeros([B, H * dh]);
  const query = projected?.query ?? tf.matMul(target, proj.wq);
  const uniqueKeys = projected?.uniqueKeys ?? tf.matMul(unique, proj.wk);
  const uniqueValues = tf.matMul(unique, proj.wv);
  let logK: Tensor | null = null;
  if (kernel !== null) {
    const L = inputs.maxLen;
    const dt = dtOfPositions(inputs.dtHost, (i) => (sel.positions[i]! < 0 ? -1 : Math.floor(i / (S * k)) * L + sel.positions[i]!), sel.rows.length);
    logK = kernel.logWeightOf(dt, [B * S, k]);
  }
  const scale = 1 / Math.sqrt(dh);
  const uniqueBias = bias === null ? null : tf.reshape(bias, [-1]);
  if (S === 1) {
    // One set of picks shared by the heads: the fused op over the unique rows, read through the picks.
    return targetAttention(query, uniqueKeys, uniqueValues, { extra: logK, bias: uniqueBias }, {
      inverse: sel.rows,
      hasHistory: rowsWithAny(sel.mask, B, k),
      mask: sel.mask,
      codes: null,
      shape: { batchSize: B, maxLen: k, heads: H, groups: H, headDim: dh },
      scale,
    });
  }
  // One set per head (TWIN): each (row, head) is a one-head attention of q^h over head h of its picks,
  // the unique rows laid out head-major ([H·U, dh], row h·U + u is head h of row u).
  const U = inputs.uniqueCount;
  const index = new Int32Array(sel.rows.length);
  for (let i = 0; i < index.length; i++) index[i] = Math.floor(i / k) % S * U + sel.rows[i]!; // set s = head s
  const out = targetAttention(
    tf.reshape(query, [B * H, dh]),
    headMajor(uniqueKeys, H, dh),
    headMajor(uniqueValues, H, dh),
    { extra: logK, bias: uniqueBias === null ? null : tf.tile(uniqueBias, [H]) },
    { inverse: index, hasHistory: rowsWithAny(sel.mask, B * H, k), mask: sel.mask, codes: null, shape: { batchSize: B * H, maxLen: k, heads: 1, groups: 1, headDim: dh }, scale },
  );
  return tf.reshape(out, [B, H * dh]);
}
