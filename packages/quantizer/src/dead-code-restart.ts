import type { Rng } from '@vql/runtime';

// Dead-code restart: codes unused for `deadCodeSteps` training steps are re-seeded from keys of the
// last batch, drawn ∝ their squared error (k-means++ style), so dead codes move to badly served keys.

/** Per-codebook batch kept for the deferred (outside-the-gradient) EMA / restart step. */
export interface PendingBatch {
  keys: Float32Array; // [n*d] valid keys (normalised under cosine)
  codes: Int32Array; // [n]
  sqErr: Float64Array; // [n]
  n: number;
}

/** Codes whose last use (`lastUsed[j]`, a step number) is at least `deadCodeSteps` before `step`. */
export function deadCodes(lastUsed: Int32Array, step: number, deadCodeSteps: number): number[] {
  const dead: number[] = [];
  for (let j = 0; j < lastUsed.length; j++) if (step - lastUsed[j]! >= deadCodeSteps) dead.push(j);
  return dead;
}

/**
 * Replacement vectors for up to `dead.length` codes: keys of `batch` drawn ∝ squared error, a
 * drawn key's weight then set to 0 (uniformly among all keys once no weight is left). Returns the codes replaced (the first
 * `take` dead ones) and their new values [take*d].
 */
export function restartVectors(dead: readonly number[], batch: PendingBatch, d: number, rng: Rng): { chosen: number[]; vectors: Float32Array } {
  const weights = Float64Array.from(batch.sqErr);
  const take = Math.min(dead.length, batch.n);
  const vectors = new Float32Array(take * d);
  for (let i = 0; i < take; i++) {
    let total = 0;
    for (let r = 0; r < batch.n; r++) total += weights[r]!;
    let pick = -1;
    if (total > 0) {
      let u = rng.next() * total;
      for (let r = 0; r < batch.n; r++) {
        if (weights[r]! <= 0) continue;
        u -= weights[r]!;
        pick = r;
        if (u < 0) break;
      }
    } else {
      pick = rng.int(batch.n);
    }
    weights[pick] = 0;
    vectors.set(batch.keys.subarray(pick * d, pick * d + d), i * d);
  }
  return { chosen: dead.slice(0, take), vectors };
}
