import { VqlCacheStoreError } from './errors.js';

/**
 * Shape of one model's caches: what a cache must agree on with the scorer that reads it.
 * Heads are ordered group by group (group 0's heads first), which is also the order of values
 * and queries in every flat array of this package.
 */
export interface CacheLayout {
  /** Σ-free description of the head groups: heads per group, H_g ≥ 1. */
  readonly headsPerGroup: readonly number[];
  /** K_g: codebook size of group g. */
  readonly codebookSizes: readonly number[];
  /** d_h: width of one head's keys, codes and values. */
  readonly headDim: number;
  /** F: rank of the separable temporal kernel (number of history factors per event). */
  readonly kernelRank: number;
}

/** Upper bounds that keep every header field inside its u16 / u32 slot. */
const MAX_U16 = 0xffff;

function positiveInt(where: string, name: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new VqlCacheStoreError('INVALID_LAYOUT', `${where}: ${name} must be an integer in [1, ${max}], got ${String(value)}.`);
  }
  return value;
}

/** Validates and freezes a layout; throws naming the bad field. */
export function checkLayout(where: string, layout: CacheLayout): CacheLayout {
  if (layout == null || typeof layout !== 'object') {
    throw new VqlCacheStoreError('INVALID_LAYOUT', `${where}: layout must be an object.`);
  }
  const { headsPerGroup, codebookSizes } = layout;
  if (!Array.isArray(headsPerGroup) || headsPerGroup.length === 0 || headsPerGroup.length > MAX_U16) {
    throw new VqlCacheStoreError('INVALID_LAYOUT', `${where}: layout.headsPerGroup must be a non-empty array.`);
  }
  if (!Array.isArray(codebookSizes) || codebookSizes.length !== headsPerGroup.length) {
    throw new VqlCacheStoreError(
      'INVALID_LAYOUT',
      `${where}: layout.codebookSizes must have one entry per group (${headsPerGroup.length}), got ${Array.isArray(codebookSizes) ? codebookSizes.length : typeof codebookSizes}.`,
    );
  }
  return Object.freeze({
    headsPerGroup: Object.freeze(headsPerGroup.map((h, g) => positiveInt(where, `layout.headsPerGroup[${g}]`, h, MAX_U16))),
    codebookSizes: Object.freeze(codebookSizes.map((k, g) => positiveInt(where, `layout.codebookSizes[${g}]`, k, 0x7fffffff))),
    headDim: positiveInt(where, 'layout.headDim', layout.headDim, MAX_U16),
    kernelRank: positiveInt(where, 'layout.kernelRank', layout.kernelRank, MAX_U16),
  });
}

export function totalHeads(layout: CacheLayout): number {
  let h = 0;
  for (const n of layout.headsPerGroup) h += n;
  return h;
}

/** First head index of each group in the group-by-group head order. */
export function headOffsets(layout: CacheLayout): number[] {
  const out: number[] = [];
  let h = 0;
  for (const n of layout.headsPerGroup) {
    out.push(h);
    h += n;
  }
  return out;
}

export function sameLayout(a: CacheLayout, b: CacheLayout): boolean {
  return (
    a.headDim === b.headDim &&
    a.kernelRank === b.kernelRank &&
    a.headsPerGroup.length === b.headsPerGroup.length &&
    a.headsPerGroup.every((h, g) => h === b.headsPerGroup[g]) &&
    a.codebookSizes.every((k, g) => k === b.codebookSizes[g])
  );
}

export function describeLayout(l: CacheLayout): string {
  return `heads [${l.headsPerGroup.join(',')}], codes [${l.codebookSizes.join(',')}], d_h ${l.headDim}, F ${l.kernelRank}`;
}
