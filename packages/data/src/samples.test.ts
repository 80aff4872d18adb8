import { batches, batchCount, makeBatch } from './batches.js';
import { EventTableBuilder } from './event-table-builder.js';
import { VqlDataError } from './errors.js';
import { buildCtrSamples } from './samples.js';
import { generateSynthetic } from './synthetic.js';
import { tinySyntheticConfig } from './testing/presets.js';

function implicitTable() {
  const b = new EventTableBuilder('t', [
    { name: 'cat', kind: 'categorical', scope: 'item' },
    { name: 'beh', kind: 'categorical', scope: 'event' },
  ], false);
  // user 1: 10 events at times 0..9 with a tie at t=5 (rows 5 and 6); user 2: 3 events
  const times = [0, 1, 2, 3, 4, 5, 5, 7, 8, 9];
  times.forEach((t, k) => {
    b.addEvent(1, 100 + k, t, 1, k + 1, [b.intern('beh', k % 2 ? 'pv' : 'buy')]);
    b.setItemFeature(100 + k, 'cat', b.intern('cat', `c${k % 3}`));
  });
  for (let k = 0; k < 3; k++) b.addEvent(2, 100 + k, 50 + k, 1, 20 + k, [b.intern('beh', 'pv')]);
  for (let k = 0; k < 30; k++) b.setItemFeature(200 + k, 'cat', b.intern('cat', 'other'));
  for (let k = 0; k < 30; k++) b.addEvent(3, 200 + k, 1000 + k, 1, 40 + k, [1]);
  return b.build();
}

describe('buildCtrSamples', () => {
  it('uses only strictly earlier events as history and splits 80/10/10 by time per user', () => {
    const table = implicitTable();
    const { train, valid, test } = buildCtrSamples(table, { negativesPerPositive: 0 });
    const u1 = (s: typeof train) => Array.from(s.endOffset.filter((_, i) => s.user[i] === 1));
    // user 1 targets 1..9 (target 0 has no history); the tie at t=5 shares end 5
    expect([...u1(train), ...u1(valid), ...u1(test)]).toEqual([1, 2, 3, 4, 5, 5, 7, 8, 9]);
    expect(u1(valid)).toEqual([8]);
    expect(u1(test)).toEqual([9]);
    for (const s of [train, valid, test]) {
      for (let i = 0; i < s.size; i++) {
        const end = s.endOffset[i]!;
        expect(table.time[end - 1]!).toBeLessThan(s.targetTime[i]!);
      }
    }
  });

  it('samples seeded negatives that avoid the target and the items touched before it, not later ones', () => {
    const table = implicitTable();
    const a = buildCtrSamples(table, { negativesPerPositive: 2, seed: 3 });
    const b = buildCtrSamples(table, { negativesPerPositive: 2, seed: 3 });
    const c = buildCtrSamples(table, { negativesPerPositive: 2, seed: 4 });
    expect(a.train.targetItem).toEqual(b.train.targetItem);
    expect(a.train.targetItem).not.toEqual(c.train.targetItem);
    const neg = a.train.label.reduce((n, l) => n + (l === 0 ? 1 : 0), 0);
    expect(neg).toBe(2 * (a.train.size - neg));
    // User 3 touches raw items 200..229 in order at times 1000..1029: a negative at time t may be
    // any item but 200..(200 + t - 1000) — later items stay eligible (no future leak).
    let futureNegatives = 0;
    for (const set of [a.train, a.valid, a.test]) {
      for (let i = 0; i < set.size; i++) {
        if (set.label[i] !== 0 || set.user[i] !== 3) continue;
        const raw = table.rawItemId[set.targetItem[i]!]!;
        const touchedUpTo = 200 + (set.targetTime[i]! - 1000);
        expect(raw >= 200 && raw <= touchedUpTo).toBe(false);
        if (raw > touchedUpTo && raw < 230) futureNegatives++;
      }
    }
    expect(futureNegatives).toBeGreaterThan(0);
    expect(() => buildCtrSamples(table, { split: [0.5, 0.5, 0.5] })).toThrow(VqlDataError);
    expect(() => buildCtrSamples(table, { negativesPerPositive: -1 })).toThrow(/negativesPerPositive/);
  });
});

describe('batches', () => {
  it('pads oldest→newest histories after the real events and keeps the newest L', () => {
    const table = implicitTable();
    const { train } = buildCtrSamples(table, { negativesPerPositive: 0 });
    const idx = Array.from(train.user).findIndex((u, i) => u === 1 && train.endOffset[i] === 7);
    const batch = makeBatch(train, [idx], 4);
    expect(batch.historyLength[0]).toBe(4);
    expect(Array.from(batch.historyTime)).toEqual([3, 4, 5, 5]);
    const short = makeBatch(train, [0], 4); // first target of user 1: one event of history
    expect(Array.from(short.historyMask)).toEqual([1, 0, 0, 0]);
    expect(Array.from(short.historyItem.subarray(1))).toEqual([0, 0, 0]);
    expect(Array.from(short.historyContext.cat!.subarray(1))).toEqual([0, 0, 0]);
    // item-scope context of history and target come from the item table; event scope from the row
    const cat = table.itemContext.cat!;
    expect(batch.historyContext.cat![0]).toBe(cat[batch.historyItem[0]!]);
    expect(batch.targetContext.cat![0]).toBe(cat[batch.targetItem[0]!]);
    expect(Array.from(batch.historyContext.beh!)).toEqual(Array.from(table.eventContext.beh!.subarray(3, 7)));
  });

  it('covers every sample once per pass, shuffled reproducibly by seed', () => {
    const ds = generateSynthetic(tinySyntheticConfig);
    const s = ds.samples.train;
    const opts = { batchSize: 37, maxLen: 50, shuffle: true, seed: 9 };
    const seen: number[] = [];
    let n = 0;
    for (const b of batches(s, opts)) {
      n++;
      expect(b.trueProb).toBeDefined();
      for (let i = 0; i < b.size; i++) seen.push(b.user[i]! * 1e7 + b.targetTime[i]!);
    }
    expect(n).toBe(batchCount(s, opts));
    expect(seen.length).toBe(s.size);
    const first = [...batches(s, opts)][0]!;
    const again = [...batches(s, opts)][0]!;
    const other = [...batches(s, { ...opts, seed: 10 })][0]!;
    expect(again.targetItem).toEqual(first.targetItem);
    expect(other.targetItem).not.toEqual(first.targetItem);
    expect(() => [...batches(s, { batchSize: 0, maxLen: 5 })]).toThrow(/batchSize/);
  });
});
