export { SlotCompression } from './slot-compression.js';
export type { SlotCompressionOptions } from './slot-compression.js';
export { MultiInterest } from './multi-interest.js';
export type { MultiInterestOptions } from './multi-interest.js';
export { TIME_BUCKETS, timeBucket } from './time-buckets.js';
