export { VqlModelError } from './errors.js';
export type { VqlModelErrorCode } from './errors.js';
export { registerInterestModule, createInterestModule, interestModuleKinds } from './interest-registry.js';
export { takeWeight } from './take-weight.js';
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
export { gatherRows } from './gather-rows.js';
export { FullTargetAttention } from './full-target-attention.js';
export type { FullTargetAttentionOptions } from './full-target-attention.js';
export { DEFAULT_KERNEL } from './target-attention-base.js';
export type { TargetAttentionOptions } from './target-attention-base.js';
export { prepareBatch, validateBatch, applyHistoryWindow } from './batch-adapter.js';
export type { PreparedBatch, AdapterOptions } from './batch-adapter.js';
export { makeInterestInputs } from './interest-inputs.js';
export type { EmbeddedBatch } from './interest-inputs.js';
export { VqlAttention } from './vql-attention.js';
export type { VqlAttentionOptions, VqlQuantizerOptions } from './vql-attention.js';
export { CtrModel } from './ctr-model.js';
export type { CtrModelConfig, CtrContextOptions, ResolvedCtrModelConfig, CtrForward } from './ctr-model.js';
export { Trainer, evaluateModel, predictSamples, formatEpoch } from './trainer.js';
export { layoutBatches, layoutBatchCount } from './batch-layout.js';
export type { BatchLayout, LayoutBatchOptions } from './batch-layout.js';
export { causalCacheAttention, causalCacheHost } from './causal-cache-attention.js';
export type { CausalCacheOptions, CausalCacheGrads } from './causal-cache-attention.js';
export { setCausalScanThreads, causalScanThreads } from './causal-scan-pool.js';
export { prepareUserBatch, validateUserBatch } from './user-batch-adapter.js';
export { resolveHistoryPolicy, describeHistoryPolicy } from './history-policy.js';
export type { HistoryPolicy } from './history-policy.js';
export type { TrainerOptions, TrainResult, EpochRecord, EvalMetrics } from './trainer.js';
export { exportModel, importModel } from './model-io.js';
export type { ExportResult, ImportResult } from './model-io.js';
