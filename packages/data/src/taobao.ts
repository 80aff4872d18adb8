import { checkColumnCount, parseId, parseNumber, readCsvRows, resolveDataFile } from './csv.js';
import { VqlDataError, checkOptionKeys } from './errors.js';
import { EventTableBuilder } from './event-table-builder.js';
import type { CleaningOptions } from './event-table-builder.js';
import type { EventTable } from './types.js';

/** The official UserBehavior window, 2017-11-25 to 2017-12-03 Beijing time, as [start, end) seconds. */
export const TAOBAO_OFFICIAL_WINDOW: readonly [number, number] = [1511539200, 1512316800];

export interface TaobaoOptions {
  /** Folder holding `UserBehavior_prefix.csv[.gz]` or `UserBehavior.csv[.gz]`. */
  dir?: string;
  file?: string;
  /** Pass `{ timeWindow: TAOBAO_OFFICIAL_WINDOW }` to drop (and count) the known out-of-window rows. */
  cleaning?: CleaningOptions;
}

function taobaoFile(options: TaobaoOptions): string {
  if (options.file !== undefined) return options.file;
  if (options.dir === undefined) throw new VqlDataError('INVALID_ARGUMENT', 'readTaobao: give options.dir or options.file.');
  try {
    return resolveDataFile(options.dir, 'UserBehavior_prefix.csv');
  } catch {
    return resolveDataFile(options.dir, 'UserBehavior.csv');
  }
}

/**
 * Taobao UserBehavior (headerless `user,item,category,behavior,timestamp`): implicit feedback
 * (every row a positive), category as an item feature, behaviour type as an event feature.
 */
export async function readTaobao(options: TaobaoOptions): Promise<EventTable> {
  checkOptionKeys(options, ['dir', 'file', 'cleaning'], 'readTaobao');
  const file = taobaoFile(options);
  const builder = new EventTableBuilder(
    'taobao',
    [
      { name: 'category', kind: 'categorical', scope: 'item' },
      { name: 'behavior', kind: 'categorical', scope: 'event' },
    ],
    false,
  );
  builder.setSourceFile(file);
  const ev = [0];
  for await (const row of readCsvRows(file)) {
    checkColumnCount(row, 5, file);
    const f = row.fields;
    const at = (column: string) => ({ file, line: row.line, column });
    const user = parseId(f[0], at('user_id'));
    const item = parseId(f[1], at('item_id'));
    const category = parseId(f[2], at('category_id'));
    const behavior = f[3]!.trim();
    if (behavior === '') throw new VqlDataError('BAD_VALUE', `${file}:${row.line} column "behavior_type": empty value.`);
    const time = parseNumber(f[4], at('timestamp'));
    ev[0] = builder.intern('behavior', behavior);
    builder.addEvent(user, item, time, 1, row.line, ev);
    builder.setItemFeature(item, 'category', builder.intern('category', String(category)));
  }
  return builder.build(options.cleaning);
}
