import type { Rng } from '@vql/runtime';
import { normalizeRowsInPlace } from './distance.js';
import type { Metric } from './grouped-quantizer-options.js';

// The keys a codebook learns from: the valid (unmasked) rows of the groups it serves, and the
// seeded subsample k-means initialisation runs on.

/**
 * The keys of `groups` from a `[n, G, d]` host batch, skipping padded items (`mask` ≠ 1), item-major
 * then group (the order of the flattened [N*G] codes of the shared path); L2-normalised under cosine.
 */
export function validKeysOf(
  keysHost: Float32Array,
  n: number,
  maskHost: Float32Array | null,
  groups: readonly number[],
  G: number,
  d: number,
  metric: Metric,
): { keys: Float32Array; m: number } {
  let valid = 0;
  for (let i = 0; i < n; i++) if (maskHost === null || maskHost[i] === 1) valid++;
  const m = valid * groups.length;
  const out = new Float32Array(m * d);
  let r = 0;
  for (let i = 0; i < n; i++) {
    if (maskHost !== null && maskHost[i] !== 1) continue;
    for (const gg of groups) {
      out.set(keysHost.subarray((i * G + gg) * d, (i * G + gg + 1) * d), r * d);
      r++;
    }
  }
  if (metric === 'cosine') normalizeRowsInPlace(out, m, d);
  return { keys: out, m };
}

/** At most `limit` of the `m` rows (`d` wide), a seeded subsample without replacement (partial Fisher–Yates). */
export function subsampleRows(points: Float32Array, m: number, limit: number, d: number, rng: Rng): { sample: Float32Array; count: number } {
  if (m <= limit) return { sample: points, count: m };
  const idx = new Int32Array(m);
  for (let i = 0; i < m; i++) idx[i] = i;
  const sample = new Float32Array(limit * d);
  for (let i = 0; i < limit; i++) {
    const j = i + rng.int(m - i);
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
    sample.set(points.subarray(idx[i]! * d, idx[i]! * d + d), i * d);
  }
  return { sample, count: limit };
}
