import { existsSync } from 'node:fs';
import { buildCtrSamples, eventSamplingOptions, loadEventSchema, readEvents, readLongCtr } from '@vql/data';
import type { CtrSplits, DatasetSchema } from '@vql/data';
import type { DatasetConfig } from './config.js';
import { ExperimentRunError } from './errors.js';

/** Datasets the user brings: an event log + schema (`--events/--schema`) or a LongCTR folder (`--longctr`). */
export function isUserDataset(ds: DatasetConfig): boolean {
  return ds.name === 'events' || ds.name === 'longctr';
}

/** Whether the user's files are there (a missing one is skipped with the usual message). */
export function userDatasetAvailable(ds: DatasetConfig): boolean {
  if (ds.name === 'events') return ds.events !== undefined && existsSync(ds.events.file) && existsSync(ds.events.schema);
  if (ds.name === 'longctr') return ds.longctr !== undefined && existsSync(ds.longctr.dir);
  return false;
}

/**
 * Reads the user's data. Event logs go through `buildCtrSamples` like the shipped datasets
 * (negatives as the schema says); LongCTR folders bring their own train / valid / test samples.
 */
export async function loadUserDataset(ds: DatasetConfig, seed: number): Promise<{ schema: DatasetSchema; splits: CtrSplits }> {
  if (ds.name === 'events' && ds.events !== undefined) {
    const schema = loadEventSchema(ds.events.schema);
    const table = await readEvents(ds.events.file, schema);
    return { schema: table.schema, splits: buildCtrSamples(table, { ...eventSamplingOptions(schema), seed: `events/samples/${seed}` }) };
  }
  if (ds.name === 'longctr' && ds.longctr !== undefined) {
    const { table, splits } = await readLongCtr({ dir: ds.longctr.dir });
    return { schema: table.schema, splits };
  }
  throw new ExperimentRunError('NOT_A_USER_DATASET', `dataset "${ds.name}" is not a user dataset (neither --events nor --longctr)`);
}
