export type { ContextFeatureSpec, ContextScope, ContextColumns } from './feature-spec.js';
export { validateFeatureSpecs, tableRows, featureWidth } from './feature-spec.js';
export { ContextEncoder } from './context-encoder.js';
export type { ContextEncoderOptions, ContextEncoderConfig, FusionMode } from './context-encoder.js';
export { HostContextEncoder } from './host-context-encoder.js';
export { VqlContextError } from './errors.js';
export type { VqlContextErrorCode } from './errors.js';
