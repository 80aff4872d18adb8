import { basename } from 'node:path';
import { checkColumnCount, columnIndex, parseId, parseNumber, readCsvRows } from './csv.js';
import { VqlDataError, checkOptionKeys } from './errors.js';
import { EventTableBuilder } from './event-table-builder.js';
import type { CleaningOptions } from './event-table-builder.js';
import type { EventTable } from './types.js';

export interface KuaiRecOptions {
  /** Official `big_matrix.csv` or `small_matrix.csv`. */
  matrixFile: string;
  /** Official `item_categories.csv` (`video_id,feat` with feat like "[27, 9]"). */
  categoriesFile?: string;
  /** watch_ratio >= threshold → label 1; default 2 (the usual KuaiRec convention). */
  watchRatioThreshold?: number;
  cleaning?: CleaningOptions;
}

async function readCategories(file: string): Promise<{ map: Map<number, string[]>; width: number }> {
  const map = new Map<number, string[]>();
  let width = 1;
  let header: string[] | null = null;
  let c: Record<'video_id' | 'feat', number> | null = null;
  for await (const row of readCsvRows(file)) {
    if (header === null) {
      header = row.fields;
      c = columnIndex(header, ['video_id', 'feat'] as const, file);
      continue;
    }
    checkColumnCount(row, header.length, file);
    const video = parseId(row.fields[c!.video_id], { file, line: row.line, column: 'video_id' });
    const raw = row.fields[c!.feat]!.trim();
    if (!/^\[[\d,\s]*\]$/.test(raw)) {
      throw new VqlDataError('BAD_VALUE', `${basename(file)}:${row.line} column "feat": expected a list like [8, 27], got "${raw}".`);
    }
    const feats = raw.slice(1, -1).split(',').map((s) => s.trim()).filter((s) => s !== '');
    map.set(video, feats);
    width = Math.max(width, feats.length);
  }
  return { map, width };
}

/**
 * KuaiRec `big_matrix.csv` / `small_matrix.csv`: explicit labels from watch_ratio. Rows without
 * a timestamp (the official files have some) are dropped and counted as `missingTimestamp`.
 */
export async function readKuaiRec(options: KuaiRecOptions): Promise<EventTable> {
  checkOptionKeys(options, ['matrixFile', 'categoriesFile', 'watchRatioThreshold', 'cleaning'], 'readKuaiRec');
  const threshold = options.watchRatioThreshold ?? 2;
  if (!Number.isFinite(threshold)) {
    throw new VqlDataError('INVALID_ARGUMENT', `readKuaiRec: watchRatioThreshold must be finite, got ${threshold}.`);
  }
  const cats = options.categoriesFile === undefined ? null : await readCategories(options.categoriesFile);
  const builder = new EventTableBuilder(
    'kuairec',
    cats === null ? [] : [{ name: 'category', kind: 'multi', scope: 'item', width: cats.width }],
    true,
  );
  const file = options.matrixFile;
  builder.setSourceFile(file);
  const scratch = new Array<number>(cats?.width ?? 1).fill(0);
  let header: string[] | null = null;
  let c: Record<'user_id' | 'video_id' | 'timestamp' | 'watch_ratio', number> | null = null;
  for await (const row of readCsvRows(file)) {
    if (header === null) {
      header = row.fields;
      c = columnIndex(header, ['user_id', 'video_id', 'timestamp', 'watch_ratio'] as const, file);
      continue;
    }
    checkColumnCount(row, header.length, file);
    const f = row.fields;
    const at = (column: string) => ({ file, line: row.line, column });
    const user = parseId(f[c!.user_id], at('user_id'));
    const item = parseId(f[c!.video_id], at('video_id'));
    const rawTime = f[c!.timestamp]!.trim();
    if (rawTime === '' || rawTime.toLowerCase() === 'nan') {
      builder.countDropped('missingTimestamp');
      continue;
    }
    const time = parseNumber(rawTime, at('timestamp'));
    const ratio = parseNumber(f[c!.watch_ratio], at('watch_ratio'));
    builder.addEvent(user, item, time, ratio >= threshold ? 1 : 0, row.line);
    const feats = cats?.map.get(item);
    if (feats !== undefined) {
      scratch.fill(0);
      for (let k = 0; k < feats.length; k++) scratch[k] = builder.intern('category', feats[k]!);
      builder.setItemFeature(item, 'category', scratch);
    }
  }
  return builder.build(options.cleaning);
}
