export { VqlModelError } from './errors.js';
export type { VqlModelErrorCode } from './errors.js';
export { registerInterestModule, createInterestModule, interestModuleKinds } from './interest-registry.js';
export type {
  InterestModule,
  InterestModuleConfig,
  InterestModuleFactory,
  InterestBuildContext,
  InterestInputs,
  InterestOutput,
  InterestStats,
  InterestHostBatch,
  CausalLayout,
} from './interest-module.js';
export { FullTargetAttention } from './full-target-attention.js';
export type { FullTargetAttentionOptions } from './full-target-attention.js';
export { VqlAttention } from './vql-attention.js';
export type { VqlAttentionOptions, VqlQuantizerOptions } from './vql-attention.js';
export { CtrModel } from './ctr-model.js';
export type { CtrModelConfig, CtrContextOptions, ResolvedCtrModelConfig, CtrForward, ForwardOptions } from './ctr-model.js';
export { Trainer, evaluateModel, predictSamples } from './trainer.js';
export { layoutBatchCount, layoutBatches } from './batch-layout.js';
export type { BatchLayout, LayoutBatchOptions } from './batch-layout.js';
export { causalCacheAttention } from './causal-cache-attention.js';
export type { CausalCacheOptions, CausalCacheGrads } from './causal-cache-attention.js';
export { setCausalScanThreads } from './causal-scan-pool.js';
export { describeHistoryPolicy } from './history-policy.js';
export type { HistoryPolicy } from './history-policy.js';
export type { TrainerOptions, TrainResult, EpochRecord, EvalMetrics } from './trainer.js';
export { exportModel, importModel } from './model-io.js';
export type { ExportResult, ImportResult } from './model-io.js';
