export { VqlDataError, checkOptionKeys } from './errors.js';
export type { VqlDataErrorCode } from './errors.js';
export type { DatasetSchema, EventTable, EventTableView, CleaningReport, ContextColumn } from './types.js';
export { EventTableBuilder, resolveCleaning, timeUnitHint } from './event-table-builder.js';
export type { CleaningOptions, FeatureDecl } from './event-table-builder.js';
export { readCsvRows, resolveDataFile, parseId, parseNumber } from './csv.js';
export type { CsvRow, CsvReadOptions, FieldSite } from './csv.js';
export { readEvents, eventSamplingOptions } from './events.js';
export type { ReadEventsOptions } from './events.js';
export { parseEventSchema, loadEventSchema, eventFileFormat, eventSchemaSchema } from './event-schema.js';
export type { EventSchema, EventFeature, EventFileFormat } from './event-schema.js';
export { readLongCtr } from './longctr.js';
export type { LongCtrOptions, LongCtrDataset } from './longctr.js';
export { readMovieLens } from './movielens.js';
export type { MovieLensOptions } from './movielens.js';
export { readTaobao, TAOBAO_OFFICIAL_WINDOW } from './taobao.js';
export type { TaobaoOptions } from './taobao.js';
export { readKuaiRandLikeHate, readKuaiRandLog, PLAY_RATIO_BOUNDARIES } from './kuairand.js';
export type { KuaiRandLikeHateOptions, KuaiRandLogOptions } from './kuairand.js';
export { readKuaiRec } from './kuairec.js';
export type { KuaiRecOptions } from './kuairec.js';
export { readTmall } from './tmall.js';
export type { TmallOptions } from './tmall.js';
export { saveEventTable, loadEventTable, withTableCache, cacheKey, STORE_FORMAT_VERSION } from './arrow-store.js';
export type { CachedTableResult } from './arrow-store.js';
export {
  loadDataset,
  loadDatasetWithInfo,
  datasetDir,
  defaultDataDir,
  defaultCacheDir,
  findRepoRoot,
  DATASET_NAMES,
  DATASET_DIRS,
} from './load-dataset.js';
export type { DatasetName, LoadDatasetOptions } from './load-dataset.js';
export { buildCtrSamples, splitPoints } from './samples.js';
export type { CtrSampleSet, CtrSplits, BuildCtrSamplesOptions } from './samples.js';
export { batches, makeBatch, batchCount } from './batches.js';
export type { CtrBatch, BatchOptions } from './batches.js';
export { userBatches, userBatchCount, expandUserBatch, isUserBatch } from './user-batches.js';
export type { UserBatch, UserBatchOptions } from './user-batches.js';
export { generateSynthetic, resolveSyntheticConfig, SYNTHETIC_BEHAVIORS } from './synthetic.js';
export type { SyntheticConfig, ResolvedSyntheticConfig, SyntheticDataset, SyntheticOracle } from './synthetic.js';
export { datasetStats, percentileLinear } from './stats.js';
export type { DatasetStats, LengthSummary } from './stats.js';
export { sliceBatch, sliceUserBatch, userSliceEventCount } from './batch-shards.js';
