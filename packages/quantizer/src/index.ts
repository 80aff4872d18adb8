export { GroupedQuantizer } from './grouped-quantizer.js';
export type {
  GroupedQuantizerOptions,
  QuantizeOptions,
  QuantizeResult,
  GroupStats,
  Metric,
  CodebookInit,
} from './grouped-quantizer.js';
export { VectorQuantizer } from './vector-quantizer.js';
export type { VectorQuantizerOptions, VectorQuantizeResult } from './vector-quantizer.js';
export { Codebook } from './codebook.js';
export type { CodebookOptions, CodeUpdate } from './codebook.js';
export { kmeansPlusPlus } from './kmeans.js';
export type { KMeansResult } from './kmeans.js';
export { nearestCodes, nearestCodesHost } from './distance.js';
export { VqlQuantizerError } from './errors.js';
export type { VqlQuantizerErrorCode } from './errors.js';
