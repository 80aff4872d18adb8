import { checkKnownKeys } from '@vql/runtime';
import { VqlBaselinesError } from '../errors.js';

/** Shape and weights of a multi-head target attention, host side. */
export interface HostProjections {
  readonly inputDim: number; // D
  readonly heads: number; // H
  readonly headDim: number; // d_h
  readonly wq: Float32Array; // [D, H·dh]
  readonly wk: Float32Array; // [D, H·dh]
  readonly wv: Float32Array; // [D, H·dh]
}

/** Unknown option keys of a scorer are errors (a misspelt one would silently use its default). */
export function checkScorerKeys(where: string, options: object, allowed: readonly string[]): void {
  if (options == null || typeof options !== 'object') throw new VqlBaselinesError('INVALID_ARGUMENT', `${where}: options must be an object.`);
  checkKnownKeys(`${where}: options`, options, allowed, (m) => new VqlBaselinesError('UNKNOWN_OPTION', m));
}

export function checkProjections(where: string, p: HostProjections): void {
  const W = p.heads * p.headDim;
  for (const name of ['wq', 'wk', 'wv'] as const) {
    if (p[name].length !== p.inputDim * W) {
      throw new VqlBaselinesError('SHAPE_MISMATCH', `${where}: ${name} has ${p[name].length} values, expected ${p.inputDim}·${W}.`);
    }
  }
}

/** x [n, D] · w [D, W] → [n, W]. */
export function matVec(x: Float32Array, xOffset: number, n: number, D: number, w: Float32Array, W: number, out: Float32Array, outOffset = 0): void {
  out.fill(0, outOffset, outOffset + n * W);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < D; c++) {
      const xv = x[xOffset + i * D + c]!;
      if (xv === 0) continue;
      const row = c * W;
      const o = outOffset + i * W;
      for (let j = 0; j < W; j++) out[o + j] += xv * w[row + j]!;
    }
  }
}

export function checkEmbeddings(where: string, name: string, x: Float32Array, D: number): number {
  if (x.length % D !== 0) {
    throw new VqlBaselinesError('SHAPE_MISMATCH', `${where}: ${name} has ${x.length} values, not a multiple of the embedding width ${D}.`);
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!)) throw new VqlBaselinesError('INVALID_INPUT', `${where}: ${name}[${i}] is ${x[i]}.`);
  }
  return x.length / D;
}

/** A user's history as the online scorers take it. */
export interface ScorerHistory {
  /** [L, D] the embeddings the attention reads (fused item ⊕ context, or item only with useContext false). */
  readonly embeddings: Float32Array;
  /** [L, d] item-only embeddings, which ETA / SDIM hash; required when they differ from `embeddings` (useContext). */
  readonly itemEmbeddings?: Float32Array;
  /** [L] context logit bias, or null / absent. */
  readonly bias?: Float32Array | null;
  /** [L] behaviour times in seconds; required when the module has a temporal kernel. */
  readonly times?: Float64Array;
}

/** One request: C candidates and the request time. */
export interface ScorerRequest {
  /** [C, D] candidates' embeddings (as `ScorerHistory.embeddings`). */
  readonly embeddings: Float32Array;
  /** [C, d] candidates' item embeddings (ETA / SDIM hash them); required with useContext. */
  readonly itemEmbeddings?: Float32Array;
  /** Request time in seconds; required when the module has a temporal kernel. */
  readonly time?: number;
}

/** The embeddings ETA / SDIM hash: item-only ones, which must be given when the attention reads fused rows. */
export function hashInput(where: string, name: string, embeddings: Float32Array, itemEmbeddings: Float32Array | undefined, useContext: boolean, d: number, rows: number): Float32Array {
  const x = itemEmbeddings ?? (useContext ? undefined : embeddings);
  if (x === undefined) {
    throw new VqlBaselinesError('INVALID_INPUT', `${where}: ${name} is required (the module hashes item-only embeddings and its attention reads context-fused ones).`);
  }
  const n = checkEmbeddings(where, name, x, d);
  if (n !== rows) throw new VqlBaselinesError('SHAPE_MISMATCH', `${where}: ${name} has ${n} rows, the embeddings ${rows}.`);
  return x;
}

/** Times of a history, checked: required (length L) when `needed`, else ignored. */
export function historyTimes(where: string, times: Float64Array | undefined, needed: boolean, L: number): Float64Array | null {
  if (!needed) return null;
  if (times === undefined) throw new VqlBaselinesError('INVALID_INPUT', `${where}: times are required (the module has a temporal kernel).`);
  if (times.length !== L) throw new VqlBaselinesError('SHAPE_MISMATCH', `${where}: times has ${times.length} values, expected ${L}.`);
  for (let i = 0; i < L; i++) if (!Number.isFinite(times[i]!)) throw new VqlBaselinesError('INVALID_INPUT', `${where}: times[${i}] is ${times[i]}.`);
  return Float64Array.from(times);
}

/** The request time, required when `needed`. */
export function requestTime(where: string, time: number | undefined, needed: boolean): number {
  if (!needed) return 0;
  if (time === undefined || !Number.isFinite(time)) throw new VqlBaselinesError('INVALID_INPUT', `${where}: a finite request time is required (the module has a temporal kernel), got ${time}.`);
  return time;
}

/** Checked context bias [L] (or null). */
export function historyBias(where: string, bias: Float32Array | null | undefined, L: number): Float32Array | null {
  if (bias === undefined || bias === null) return null;
  if (bias.length !== L) throw new VqlBaselinesError('SHAPE_MISMATCH', `${where}: bias has ${bias.length} values, expected ${L}.`);
  return Float32Array.from(bias);
}

/** The per-row logit term of a request: context bias [L] plus log κ [L] (either may be null; null when both are). */
export function requestLogBias(bias: Float32Array | null, logK: Float64Array | null, L: number): Float64Array | null {
  if (bias === null) return logK;
  const out = Float64Array.from(bias);
  if (logK !== null) for (let i = 0; i < L; i++) out[i] += logK[i]!;
  return out;
}
