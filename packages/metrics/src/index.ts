export { auc, gauc, gaucDetail } from './auc.js';
export type { GaucResult } from './auc.js';
export { logLoss } from './log-loss.js';
export { latencySummary, percentileSorted } from './latency.js';
export type { LatencySummary } from './latency.js';
export { VqlMetricsError } from './errors.js';
