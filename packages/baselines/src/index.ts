export { VqlBaselinesError } from './errors.js';
export type { VqlBaselinesErrorCode } from './errors.js';
export { registerBaselines, BASELINE_FACTORIES } from './register.js';
export { topKIndices } from './top-k.js';
export { TimeKernel } from './time-kernel.js';
export * from './topk/index.js';
export * from './compression/index.js';
export * from './online/index.js';
export type { AttentionOptions } from './attention.js';
