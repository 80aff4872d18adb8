// What an author of a new interest module needs beyond the contract types of `@vql/model`:
// row gathers with host-side gradients, weight restore with named errors, the batch adapter that
// turns a `CtrBatch` into `InterestInputs` (for a module's unit tests), the output check the
// model runs on every forward, and the default temporal kernel of the attention methods.
export { gatherRows } from '@vql/runtime';
export { takeWeight } from '../take-weight.js';
export { prepareBatch } from '../batch-adapter.js';
export type { PreparedBatch, AdapterOptions } from '../batch-adapter.js';
export { makeInterestInputs } from '../interest-inputs.js';
export type { EmbeddedBatch } from '../interest-inputs.js';
export { checkInterestOutput } from '../interest-registry.js';
export { DEFAULT_KERNEL } from '../target-attention-base.js';
export type { TargetAttentionOptions } from '../target-attention-base.js';
export { targetAttention } from '../fused-attention.js';
export type { AttentionLogitTerms, FusedAttentionShape, TargetAttentionOptions as FusedAttentionOptions } from '../fused-attention.js';
