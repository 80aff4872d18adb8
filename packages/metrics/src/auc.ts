import { VqlMetricsError } from './errors.js';
import { checkFinite, checkLabels, checkSameLength } from './validate.js';
import type { NumericArray } from './validate.js';

/**
 * Mann–Whitney U over positive and negative scores sorted separately (native typed-array
 * sorts, O(n log n)); a tie between a positive and a negative counts one half, which is the
 * average-rank definition of ROC AUC.
 */
function aucUnchecked(labels: NumericArray, scores: NumericArray, indices?: ArrayLike<number>): number {
  const n = indices ? indices.length : labels.length;
  let positives = 0;
  for (let k = 0; k < n; k++) positives += labels[indices ? indices[k]! : k]!;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  const pos = new Float64Array(positives);
  const neg = new Float64Array(negatives);
  let p = 0;
  let q = 0;
  for (let k = 0; k < n; k++) {
    const i = indices ? indices[k]! : k;
    if (labels[i] === 1) pos[p++] = scores[i]!;
    else neg[q++] = scores[i]!;
  }
  pos.sort();
  neg.sort();
  let below = 0; // negatives strictly below the current positive
  let atOrBelow = 0; // negatives at or below it
  let u = 0;
  for (let k = 0; k < positives; k++) {
    const s = pos[k]!;
    while (below < negatives && neg[below]! < s) below++;
    if (atOrBelow < below) atOrBelow = below;
    while (atOrBelow < negatives && neg[atOrBelow]! <= s) atOrBelow++;
    u += below + 0.5 * (atOrBelow - below);
  }
  return u / (positives * negatives);
}

/**
 * ROC AUC of `scores` against binary `labels`, ties as average ranks. Throws when the labels
 * hold only one class (AUC is undefined there).
 */
export function auc(labels: NumericArray, scores: NumericArray): number {
  checkSameLength('auc', { labels, scores });
  checkLabels('auc', labels);
  checkFinite('auc', 'scores', scores);
  const value = aucUnchecked(labels, scores);
  if (Number.isNaN(value)) {
    throw new VqlMetricsError('SINGLE_CLASS', 'auc: labels contain only one class; AUC is undefined.');
  }
  return value;
}

export interface GaucResult {
  gauc: number;
  /** Groups that had both classes and entered the average. */
  groupsUsed: number;
  /** Groups skipped because all their labels were equal. */
  groupsSkipped: number;
}

/**
 * Group AUC (FuxiCTR's definition): AUC per group (usually per user), averaged with weights
 * equal to each group's number of samples; groups with a single class are skipped.
 */
export function gaucDetail(groups: ArrayLike<number | string>, labels: NumericArray, scores: NumericArray): GaucResult {
  checkSameLength('gauc', { groups, labels, scores });
  checkLabels('gauc', labels);
  checkFinite('gauc', 'scores', scores);
  const members = new Map<number | string, number[]>();
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    let list = members.get(g);
    if (list === undefined) {
      list = [];
      members.set(g, list);
    }
    list.push(i);
  }
  let weighted = 0;
  let weight = 0;
  let used = 0;
  let skipped = 0;
  for (const idx of members.values()) {
    const value = aucUnchecked(labels, scores, idx);
    if (Number.isNaN(value)) {
      skipped++;
      continue;
    }
    weighted += value * idx.length;
    weight += idx.length;
    used++;
  }
  if (used === 0) {
    throw new VqlMetricsError('SINGLE_CLASS', `gauc: all ${skipped} groups contain a single class; GAUC is undefined.`);
  }
  return { gauc: weighted / weight, groupsUsed: used, groupsSkipped: skipped };
}

/** `gaucDetail(...).gauc`. */
export function gauc(groups: ArrayLike<number | string>, labels: NumericArray, scores: NumericArray): number {
  return gaucDetail(groups, labels, scores).gauc;
}
