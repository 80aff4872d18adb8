// The usage-statistics window of one head group: what each training batch adds (counts, errors)
// and the summary `GroupedQuantizer.stats()` reports.

export interface GroupStats {
  /** Codes this group chooses from (K_g, or Σ K_g when shared). */
  size: number;
  /** [size] assignments per code since construction or `resetStats()` (training batches only). */
  counts: Float64Array;
  /** Σ counts. */
  assignments: number;
  /** exp(entropy of the code distribution): 1 = collapsed, `size` = uniform. 0 before any assignment. */
  perplexity: number;
  /** Fraction of the `size` codes this group never chose in the window (1 before any assignment). */
  deadFraction: number;
  /** Mean of ||k − c||/||k|| over the window's keys (NaN before any assignment). */
  relativeError: number;
  /** Mean of ||k − c||² / d over the window's keys (NaN before any assignment). */
  meanSquaredError: number;
  /** Codes of this group's codebook re-seeded by dead-code restart since construction. */
  restarts: number;
}

/** Running sums of one group since construction or `resetStats()`. */
export interface WindowStats {
  counts: Float64Array;
  relErrSum: number;
  relErrN: number;
  sqErrSum: number;
  sqErrN: number;
}

/** An empty window over `size` codes. */
export function freshWindow(size: number): WindowStats {
  return { counts: new Float64Array(size), relErrSum: 0, relErrN: 0, sqErrSum: 0, sqErrN: 0 };
}

/** The window's summary: perplexity of the code distribution, unused fraction, mean errors. */
export function summarizeWindow(w: WindowStats, restarts: number): GroupStats {
  const size = w.counts.length;
  let total = 0;
  let unused = 0;
  for (let j = 0; j < size; j++) {
    total += w.counts[j]!;
    if (w.counts[j] === 0) unused++;
  }
  let entropy = 0;
  if (total > 0) {
    for (let j = 0; j < size; j++) {
      const p = w.counts[j]! / total;
      if (p > 0) entropy -= p * Math.log(p);
    }
  }
  return {
    size,
    counts: Float64Array.from(w.counts),
    assignments: total,
    perplexity: total > 0 ? Math.exp(entropy) : 0,
    deadFraction: unused / size,
    relativeError: w.relErrN > 0 ? w.relErrSum / w.relErrN : Number.NaN,
    meanSquaredError: w.sqErrN > 0 ? w.sqErrSum / w.sqErrN : Number.NaN,
    restarts,
  };
}
