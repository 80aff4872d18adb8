export { assertNoTensorLeak } from './tensor-leak.js';
export type { TensorLeakOptions } from './tensor-leak.js';
export { tinyModelLossCurve } from './tiny-model.js';
export type { TinyModelOptions } from './tiny-model.js';
