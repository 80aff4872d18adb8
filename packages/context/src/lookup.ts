import { VqlContextError } from './errors.js';
import type { ContextColumns, ContextFeatureSpec } from './feature-spec.js';
import { featureWidth } from './feature-spec.js';

/** Table rows for one feature's column, plus mean-pooling weights for multi-valued features. */
export interface FeatureRows {
  rows: Int32Array; // [N*width]
  /** [N*width]: 1/count for real entries, 0 for padding (multi only). */
  poolWeights?: Float32Array;
}

/** Per-feature counter of unknown ids seen (shared by the tfjs and typed-array paths). */
export type OovCounter = Map<string, number>;

/** Bucket b ∈ 1..n+1 = 1 + #(boundaries ≤ x); NaN → 0 (missing); ±Infinity land in the end buckets. */
function bucketOf(boundaries: number[], x: number): number {
  if (Number.isNaN(x)) return 0;
  let lo = 0;
  let hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (boundaries[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo + 1;
}

/**
 * Maps one context column to table rows. Ids outside 0..vocabSize map to the reserved OOV row
 * vocabSize+1 and are counted: at inference unseen categories must not crash serving.
 */
export function featureRows(where: string, spec: ContextFeatureSpec, columns: ContextColumns, n: number, oov: OovCounter): FeatureRows {
  const column = columns[spec.name];
  const width = featureWidth(spec);
  if (column == null || typeof column.length !== 'number') {
    throw new VqlContextError('MISSING_CONTEXT', `${where}: context column "${spec.name}" (${spec.kind}, scope ${spec.scope}) is missing.`);
  }
  if (column.length !== n * width) {
    throw new VqlContextError(
      'CONTEXT_LENGTH_MISMATCH',
      `${where}: context column "${spec.name}" has length ${column.length}, expected ${n} rows × width ${width} = ${n * width}.`,
    );
  }
  const rows = new Int32Array(n * width);
  if (spec.kind === 'numeric') {
    for (let i = 0; i < rows.length; i++) rows[i] = bucketOf(spec.boundaries, Number(column[i]));
    return { rows };
  }
  const oovRow = spec.vocabSize + 1;
  let unknown = 0;
  for (let i = 0; i < rows.length; i++) {
    const id = column[i]!;
    if (!Number.isInteger(id)) {
      throw new VqlContextError(
        'INVALID_CONTEXT_ID',
        `${where}: context column "${spec.name}"[${i}] is ${id}; categorical ids must be integers (0 = missing).`,
      );
    }
    if (id < 0 || id > spec.vocabSize) {
      rows[i] = oovRow;
      unknown++;
    } else {
      rows[i] = id;
    }
  }
  if (unknown > 0) oov.set(spec.name, (oov.get(spec.name) ?? 0) + unknown);
  if (spec.kind === 'categorical') return { rows };
  const poolWeights = new Float32Array(n * width);
  for (let r = 0; r < n; r++) {
    let count = 0;
    for (let j = 0; j < width; j++) if (rows[r * width + j] !== 0) count++;
    // An all-padding row pools to the zero vector (weights 0), never 0/0.
    for (let j = 0; j < width; j++) if (rows[r * width + j] !== 0) poolWeights[r * width + j] = 1 / count;
  }
  return { rows, poolWeights };
}
