import { makeBatch } from '../batches.js';
import type { CtrBatch } from '../batches.js';
import type { SyntheticConfig } from '../synthetic.js';
import { generateSynthetic } from '../synthetic.js';

/** 32 users × ~150 events: unit tests of other packages (generates in a few ms). */
export const tinySyntheticConfig: SyntheticConfig = Object.freeze({
  seed: 7,
  numUsers: 32,
  numItems: 300,
  numCategories: 12,
  historyLength: { min: 40, median: 150, max: 400 },
  numInterests: { min: 2, max: 4 },
  latentDim: 8,
  impressionsPerUser: 10,
});

/** 300 users × ~800 events: where the oracle clearly beats the last 50 behaviours. */
export const smallSyntheticConfig: SyntheticConfig = Object.freeze({
  seed: 2,
  numUsers: 300,
  numItems: 2000,
  numCategories: 40,
  historyLength: { min: 200, median: 800, max: 3000 },
  impressionsPerUser: 20,
});

/** ~1,000 users × ~2,000 events (≈2.4M events, ~1.5 s): the model's CI training set. */
export const ciSyntheticConfig: SyntheticConfig = Object.freeze({
  seed: 1,
  numUsers: 1000,
  numItems: 5000,
  numCategories: 50,
  historyLength: { min: 500, median: 2000, max: 8000 },
});

/** One batch of the tiny synthetic train split (with context and trueProb). */
export function tinyCtrBatch(options: { batchSize?: number; maxLen?: number } = {}): CtrBatch {
  const ds = generateSynthetic(tinySyntheticConfig);
  const n = Math.min(options.batchSize ?? 16, ds.samples.train.size);
  return makeBatch(ds.samples.train, Array.from({ length: n }, (_, i) => i), options.maxLen ?? 64);
}
