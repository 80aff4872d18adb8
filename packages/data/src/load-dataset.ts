import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { withTableCache } from './arrow-store.js';
import { resolveDataFile } from './csv.js';
import { VqlDataError, checkOptionKeys } from './errors.js';
import type { CleaningOptions } from './event-table-builder.js';
import { kuaiRandSubsetFiles, readKuaiRandLikeHate } from './kuairand.js';
import { movieLensFiles, readMovieLens } from './movielens.js';
import { readTaobao } from './taobao.js';
import type { EventTable } from './types.js';

export const DATASET_NAMES = ['movielens', 'taobao', 'kuairand'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** Folder of each shipped dataset inside the data directory. */
export const DATASET_DIRS: Record<DatasetName, string> = {
  movielens: 'movielens-latest-small',
  taobao: 'taobao-userbehavior-prefix',
  kuairand: 'kuairand-27k-likehate-subset',
};

export interface LoadDatasetOptions {
  /** Root holding the dataset folders; default env VQL_DATA_DIR, else `<repo>/../shared/datasets`. */
  dataDir?: string;
  /** Arrow cache folder; default `<repo>/.vql-cache/data`; `false` disables the cache. */
  cacheDir?: string | false;
  /** MovieLens: rating ≥ threshold → 1 (default 4). */
  labelThreshold?: number;
  cleaning?: CleaningOptions;
}

/** The monorepo root (folder with pnpm-workspace.yaml) above `from`, or null. */
export function findRepoRoot(from: string = process.cwd()): string | null {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

export function defaultDataDir(): string {
  const env = process.env.VQL_DATA_DIR;
  if (env !== undefined && env !== '') return resolve(env);
  const root = findRepoRoot();
  if (root === null) {
    throw new VqlDataError('INVALID_ARGUMENT', 'No data directory: pass options.dataDir or set VQL_DATA_DIR (not inside the vql repo).');
  }
  return resolve(root, '..', 'shared', 'datasets');
}

export function defaultCacheDir(): string {
  const root = findRepoRoot();
  return root === null ? resolve('.vql-cache', 'data') : join(root, '.vql-cache', 'data');
}

/** The folder of a shipped dataset, or null when it is absent (callers skip with a message). */
export function datasetDir(name: DatasetName, dataDir: string = defaultDataDir()): string | null {
  const dir = join(dataDir, DATASET_DIRS[name]);
  return existsSync(dir) ? dir : null;
}

function checkName(name: string): asserts name is DatasetName {
  if (!(DATASET_NAMES as readonly string[]).includes(name)) {
    throw new VqlDataError('UNKNOWN_DATASET', `Unknown dataset "${name}"; expected one of ${DATASET_NAMES.join(', ')}.`);
  }
}

function sourceFiles(name: DatasetName, dir: string): string[] {
  switch (name) {
    case 'movielens': {
      const f = movieLensFiles({ dir });
      return [f.ratings, f.movies];
    }
    case 'taobao':
      return [resolveDataFile(dir, 'UserBehavior_prefix.csv')];
    case 'kuairand':
      return kuaiRandSubsetFiles(dir);
  }
}

/**
 * Loads a shipped dataset as a normalized `EventTable`. The first run parses the source files
 * and writes an Arrow cache keyed on the files' sizes/mtimes and the options; later runs reload
 * it zero-copy.
 */
export async function loadDataset(name: DatasetName, options: LoadDatasetOptions = {}): Promise<EventTable> {
  return (await loadDatasetWithInfo(name, options)).table;
}

/** `loadDataset` that also says whether the cache was used and where it lives. */
export async function loadDatasetWithInfo(
  name: DatasetName,
  options: LoadDatasetOptions = {},
): Promise<{ table: EventTable; fromCache: boolean; cachePath: string | null }> {
  checkName(name);
  checkOptionKeys(options, ['dataDir', 'cacheDir', 'labelThreshold', 'cleaning'], 'loadDataset');
  const dataDir = options.dataDir ?? defaultDataDir();
  const dir = join(dataDir, DATASET_DIRS[name]);
  if (!existsSync(dir)) {
    throw new VqlDataError('FILE_NOT_FOUND', `Dataset "${name}" not found: ${dir} does not exist (data dir ${dataDir}).`);
  }
  const build = (): Promise<EventTable> => {
    switch (name) {
      case 'movielens':
        return readMovieLens({
          dir,
          ...(options.labelThreshold !== undefined ? { labelThreshold: options.labelThreshold } : {}),
          ...(options.cleaning !== undefined ? { cleaning: options.cleaning } : {}),
        });
      case 'taobao':
        return readTaobao({ dir, ...(options.cleaning !== undefined ? { cleaning: options.cleaning } : {}) });
      case 'kuairand':
        return readKuaiRandLikeHate({ dir, ...(options.cleaning !== undefined ? { cleaning: options.cleaning } : {}) });
    }
  };
  if (options.cacheDir === false) return { table: await build(), fromCache: false, cachePath: null };
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const keyOptions = { labelThreshold: options.labelThreshold ?? null, cleaning: options.cleaning ?? null };
  const result = await withTableCache(name, sourceFiles(name, dir), keyOptions, cacheDir, build);
  return { table: result.table, fromCache: result.fromCache, cachePath: result.path };
}
