import { prepareBatch } from './batch-adapter.js';
import { randomCtrBatch } from './testing/index.js';

const itemScope = { name: 'category', kind: 'categorical' as const, scope: 'item' as const, vocabSize: 6 };
const action = { name: 'action', kind: 'categorical' as const, scope: 'event' as const, vocabSize: 3 };
const dwell = { name: 'dwell', kind: 'numeric' as const, scope: 'event' as const, boundaries: [0.5] };

/** The rows a deduplication must produce: one per distinct (item, event context), first-seen order. */
function expectedRows(batch: ReturnType<typeof randomCtrBatch>, eventColumns: (Int32Array | Float32Array)[]): { rows: number; inverse: Int32Array } {
  const N = batch.size * batch.maxLen;
  const seen = new Map<string, number>();
  const inverse = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    if (batch.historyMask[i] === 0) continue;
    const key = [batch.historyItem[i], ...eventColumns.map((c) => c[i])].join('|');
    if (!seen.has(key)) seen.set(key, seen.size + 1);
    inverse[i] = seen.get(key)!;
  }
  return { rows: seen.size + 1, inverse };
}

describe('prepareBatch deduplication', () => {
  it.each([
    ['item-scope context only', [itemScope]],
    ['a categorical event feature (integer keys)', [itemScope, action]],
    ['a numeric event feature (string keys)', [itemScope, action, dwell]],
  ])('%s: one unique row per distinct (item, event context), each position pointing at its own', (_name, features) => {
    const batch = randomCtrBatch({ size: 7, maxLen: 40, numItems: 12, features, emptyRows: [2], seed: 5 });
    const eventColumns = features.filter((f) => f.scope === 'event').map((f) => batch.historyContext[f.name]!);
    const prepared = prepareBatch(batch, { numItems: 12, features, historyWindow: null, shortTermLength: 0 });
    const want = expectedRows(batch, eventColumns);
    expect(prepared.uniqueItem.length).toBe(want.rows);
    expect(Array.from(prepared.inverse)).toEqual(Array.from(want.inverse));
    // Every position's unique row carries its own item and context.
    for (let i = 0; i < batch.size * batch.maxLen; i++) {
      if (batch.historyMask[i] === 0) continue;
      const r = prepared.inverse[i]!;
      expect(prepared.uniqueItem[r]).toBe(batch.historyItem[i]);
      for (const f of features) expect(prepared.uniqueContext[f.name]![r]).toBe(batch.historyContext[f.name]![i]);
    }
  });
});
