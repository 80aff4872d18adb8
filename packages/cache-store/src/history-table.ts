import { featureWidth } from '@vql/context';
import type { EventTableView } from '@vql/data';
import type { UserHistory } from './cache-model.js';
import { VqlCacheStoreError } from './errors.js';

export function numUsers(table: EventTableView): number {
  return table.userOffsets.length - 2;
}

export function checkTable(where: string, table: EventTableView): void {
  if (table == null || !(table.userOffsets instanceof Int32Array) || table.userOffsets.length < 2) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: table must be an EventTable (userOffsets of numUsers + 2 entries).`);
  }
  const E = table.numEvents;
  if (table.item.length !== E || table.time.length !== E || table.userOffsets[table.userOffsets.length - 1] !== E) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: table.item, table.time and the last userOffsets entry must all be numEvents (${E}).`);
  }
  for (const f of table.schema.context) {
    const col = f.scope === 'event' ? table.eventContext[f.name] : table.itemContext[f.name];
    if (col === undefined) throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: table has no ${f.scope}Context column "${f.name}".`);
  }
}

/** Raw history of dense user `u` with every context column the model reads. */
export function userHistory(table: EventTableView, u: number): UserHistory {
  const a = table.userOffsets[u]!;
  const b = table.userOffsets[u + 1]!;
  const items = table.item.subarray(a, b);
  const context: Record<string, Int32Array | Float32Array> = {};
  for (const f of table.schema.context) {
    const w = featureWidth(f);
    if (f.scope === 'event') {
      context[f.name] = table.eventContext[f.name]!.subarray(a * w, b * w);
    } else {
      const src = table.itemContext[f.name]!;
      const col = src instanceof Int32Array ? new Int32Array(items.length * w) : new Float32Array(items.length * w);
      for (let i = 0; i < items.length; i++) col.set(src.subarray(items[i]! * w, (items[i]! + 1) * w), i * w);
      context[f.name] = col;
    }
  }
  return { items: Int32Array.from(items), times: Float64Array.from(table.time.subarray(a, b)), context };
}
