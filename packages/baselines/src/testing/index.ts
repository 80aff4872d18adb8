// Test helpers of @vql/baselines (not exported: only this package's tests use them).
export { CATEGORY_FEATURE, buildContext, handBatch, inputsFor, randomBatch, randomTable, rowsOf } from './fixtures.js';
export type { HandBatchOptions } from './fixtures.js';
export { gradNorms } from './grad.js';
export { describeTraining } from './train.js';
