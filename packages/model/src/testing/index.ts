export { randomCtrBatch, randomInterestInputs } from './random-batch.js';
export type { RandomBatchOptions } from './random-batch.js';
