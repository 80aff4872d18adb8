import { basename } from 'node:path';
import { checkColumnCount, columnIndex, parseId, readCsvRows } from './csv.js';
import { VqlDataError, checkOptionKeys } from './errors.js';
import { EventTableBuilder } from './event-table-builder.js';
import type { CleaningOptions } from './event-table-builder.js';
import type { EventTable } from './types.js';

export interface TmallOptions {
  /** Official IJCAI-15 `user_log_format1.csv`. */
  logFile: string;
  /** `time_stamp` is "mmdd" without a year; default 2015 (the competition's year). */
  year?: number;
  /**
   * Default `{ duplicates: 'keep' }`: times have one-day resolution, so the same action on the
   * same item twice in a day is two real events, not a logging duplicate.
   */
  cleaning?: CleaningOptions;
}

const COLUMNS = ['user_id', 'item_id', 'cat_id', 'seller_id', 'brand_id', 'time_stamp', 'action_type'] as const;
const BEIJING_OFFSET_SECONDS = 8 * 3600;

/**
 * Tmall IJCAI-15 user log: implicit feedback; category, seller, brand as item features, action
 * type (click/cart/purchase/favourite) as an event feature; time = Beijing midnight of the day.
 */
export async function readTmall(options: TmallOptions): Promise<EventTable> {
  checkOptionKeys(options, ['logFile', 'year', 'cleaning'], 'readTmall');
  const year = options.year ?? 2015;
  if (!Number.isInteger(year)) throw new VqlDataError('INVALID_ARGUMENT', `readTmall: year must be an integer, got ${year}.`);
  const file = options.logFile;
  const builder = new EventTableBuilder(
    'tmall',
    [
      { name: 'cat_id', kind: 'categorical', scope: 'item' },
      { name: 'seller_id', kind: 'categorical', scope: 'item' },
      { name: 'brand_id', kind: 'categorical', scope: 'item' },
      { name: 'action_type', kind: 'categorical', scope: 'event' },
    ],
    false,
  );
  builder.setSourceFile(file);
  const ev = [0];
  let header: string[] | null = null;
  let c: Record<(typeof COLUMNS)[number], number> | null = null;
  for await (const row of readCsvRows(file)) {
    if (header === null) {
      header = row.fields;
      c = columnIndex(header, COLUMNS, file);
      continue;
    }
    checkColumnCount(row, header.length, file);
    const f = row.fields;
    const at = (column: string) => ({ file, line: row.line, column });
    const user = parseId(f[c!.user_id], at('user_id'));
    const item = parseId(f[c!.item_id], at('item_id'));
    const stamp = f[c!.time_stamp]!.trim();
    const mmdd = parseId(stamp, at('time_stamp'));
    const month = Math.floor(mmdd / 100);
    const day = mmdd % 100;
    const date = new Date(Date.UTC(year, month - 1, day));
    if (month < 1 || month > 12 || day < 1 || date.getUTCDate() !== day) {
      throw new VqlDataError('BAD_VALUE', `${basename(file)}:${row.line} column "time_stamp": "${stamp}" is not a valid mmdd date.`);
    }
    ev[0] = builder.intern('action_type', String(parseId(f[c!.action_type], at('action_type'))));
    builder.addEvent(user, item, date.getTime() / 1000 - BEIJING_OFFSET_SECONDS, 1, row.line, ev);
    // brand_id is empty for some rows in the official file: that is "missing" (0), not an error.
    for (const name of ['cat_id', 'seller_id', 'brand_id'] as const) {
      const raw = f[c![name]]!.trim();
      if (raw === '') continue;
      builder.setItemFeature(item, name, builder.intern(name, String(parseId(raw, at(name)))));
    }
  }
  return builder.build({ duplicates: 'keep', ...options.cleaning });
}
