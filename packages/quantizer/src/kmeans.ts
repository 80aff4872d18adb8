import type { Rng } from '@vql/runtime';
import { nearestCodesHost } from './distance.js';
import { VqlQuantizerError } from './errors.js';

export interface KMeansResult {
  /** [k*d] row-major centres. */
  centers: Float32Array;
  /** [k] points assigned to each centre after the last iteration. */
  counts: Float64Array;
  /** Lloyd iterations actually run (stops early when no assignment changes). */
  iterations: number;
}

/** Index of a draw from the unnormalised distribution `weights` (uniform when all are zero). */
function sampleWeighted(weights: Float64Array, n: number, rng: Rng): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i]!;
  if (!(total > 0)) return rng.int(n);
  let r = rng.next() * total;
  for (let i = 0; i < n; i++) {
    r -= weights[i]!;
    if (r < 0) return i;
  }
  return n - 1;
}

/**
 * Greedy k-means++ seeding (Arthur & Vassilvitskii 2007: new centres drawn with probability ∝ D²)
 * followed by up to `iterations` Lloyd steps, on host typed arrays. With fewer points than `k`
 * the extra centres are copies of drawn points with a small seeded jitter (they will be
 * reported unused and re-seeded by dead-code restart).
 */
export function kmeansPlusPlus(
  points: Float32Array,
  n: number,
  d: number,
  k: number,
  rng: Rng,
  iterations = 10,
): KMeansResult {
  if (!Number.isInteger(k) || k < 1) {
    throw new VqlQuantizerError('INVALID_ARGUMENT', `kmeansPlusPlus: k must be an integer >= 1, got ${k}.`);
  }
  if (n < 1) throw new VqlQuantizerError('INVALID_ARGUMENT', 'kmeansPlusPlus: needs at least one point, got 0.');
  if (points.length < n * d) {
    throw new VqlQuantizerError('DIMENSION_MISMATCH', `kmeansPlusPlus: ${n} points of width ${d} need ${n * d} values, got ${points.length}.`);
  }
  const centers = new Float32Array(k * d);
  const dist = new Float64Array(n).fill(Infinity);
  const seeded = Math.min(k, n);
  let spread = 0;
  // Greedy k-means++ (as in scikit-learn): draw 2 + ln k candidates per step and keep the one
  // that lowers the total D² most; plain k-means++ often merges clusters when k is tight.
  const trials = 2 + Math.floor(Math.log(k));
  const candidateDist = new Float64Array(n);
  const bestDist = new Float64Array(n);
  for (let c = 0; c < seeded; c++) {
    let bestPick = -1;
    let bestTotal = Infinity;
    const tries = c === 0 ? 1 : trials;
    for (let trial = 0; trial < tries; trial++) {
      const pick = c === 0 ? rng.int(n) : sampleWeighted(dist, n, rng);
      let total = 0;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let t = 0; t < d; t++) {
          const diff = points[i * d + t]! - points[pick * d + t]!;
          s += diff * diff;
        }
        candidateDist[i] = Math.min(s, dist[i]!);
        total += candidateDist[i]!;
      }
      if (total < bestTotal) {
        bestTotal = total;
        bestPick = pick;
        bestDist.set(candidateDist);
      }
    }
    centers.set(points.subarray(bestPick * d, bestPick * d + d), c * d);
    dist.set(bestDist);
    if (c === 0) spread = bestTotal;
  }
  if (seeded < k) {
    const scale = Math.sqrt(spread / Math.max(1, n) / d) * 1e-2 || 1e-3;
    for (let c = seeded; c < k; c++) {
      const src = rng.int(n);
      for (let t = 0; t < d; t++) centers[c * d + t] = points[src * d + t]! + rng.normal() * scale;
    }
  }
  const assign = new Int32Array(n).fill(-1);
  const next = new Int32Array(n);
  const pointDist = new Float64Array(n);
  const counts = new Float64Array(k);
  const sums = new Float64Array(k * d);
  let iter = 0;
  for (; iter < iterations; iter++) {
    nearestCodesHost(points, n, centers, k, d, next, pointDist);
    let changed = 0;
    for (let i = 0; i < n; i++) if (next[i] !== assign[i]) changed++;
    assign.set(next);
    if (changed === 0) break;
    counts.fill(0);
    sums.fill(0);
    for (let i = 0; i < n; i++) {
      const c = assign[i]!;
      counts[c] = counts[c]! + 1;
      for (let t = 0; t < d; t++) sums[c * d + t] = sums[c * d + t]! + points[i * d + t]!;
    }
    for (let c = 0; c < k; c++) {
      if (counts[c]! > 0) {
        for (let t = 0; t < d; t++) centers[c * d + t] = sums[c * d + t]! / counts[c]!;
      } else if (n > k) {
        // Empty cluster: move it onto the worst-served point, the standard Lloyd repair.
        let worst = 0;
        for (let i = 1; i < n; i++) if (pointDist[i]! > pointDist[worst]!) worst = i;
        centers.set(points.subarray(worst * d, worst * d + d), c * d);
        pointDist[worst] = 0;
      }
    }
  }
  nearestCodesHost(points, n, centers, k, d, next);
  counts.fill(0);
  for (let i = 0; i < n; i++) counts[next[i]!] = counts[next[i]!]! + 1;
  return { centers, counts, iterations: iter };
}
