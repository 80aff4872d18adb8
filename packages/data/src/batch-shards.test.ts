import { batches } from './batches.js';
import type { CtrBatch } from './batches.js';
import { sliceBatch, sliceUserBatch, userSliceEventCount } from './batch-shards.js';
import { generateSynthetic } from './synthetic.js';
import { tinySyntheticConfig } from './testing/presets.js';
import { expandUserBatch, userBatches } from './user-batches.js';

const ds = generateSynthetic(tinySyntheticConfig);
const train = ds.samples.train;

/** Row r of a per-sample batch as plain numbers (context included), for comparing rows across batches. */
function row(b: CtrBatch, r: number): unknown {
  const L = b.maxLen;
  const cols = (c: Record<string, ArrayLike<number>>, rows: number, from: number, n: number) =>
    Object.fromEntries(Object.entries(c).map(([k, v]) => [k, Array.from(v).slice((from * v.length) / rows, ((from + n) * v.length) / rows)]));
  return {
    user: b.user[r],
    item: b.targetItem[r],
    time: b.targetTime[r],
    label: b.label[r],
    len: b.historyLength[r],
    items: Array.from(b.historyItem.subarray(r * L, (r + 1) * L)),
    times: Array.from(b.historyTime.subarray(r * L, (r + 1) * L)),
    mask: Array.from(b.historyMask.subarray(r * L, (r + 1) * L)),
    target: cols(b.targetContext, b.size, r, 1),
    history: cols(b.historyContext, b.size * L, r * L, L),
  };
}

describe('batch shards', () => {
  it('sliceBatch keeps rows [from, to) exactly, context included', () => {
    const b = [...batches(train, { batchSize: 13, maxLen: 6 })][0]!;
    const s = sliceBatch(b, 4, 11);
    expect(s.size).toBe(7);
    for (let r = 0; r < 7; r++) expect(row(s, r)).toEqual(row(b, r + 4));
    expect(() => sliceBatch(b, 5, 5)).toThrow(/rows \[5, 5\) must be a non-empty range/);
  });

  it('sliceUserBatch: every target of the slices sees exactly the history it saw in the whole batch, also when a user is cut', () => {
    const b = [...userBatches(train, { batchSize: 40 })].find((x) => x.numUsers >= 2)!;
    const whole = expandUserBatch(b);
    // Cut inside the first user's targets and at an arbitrary point after it.
    const cuts = [0, Math.max(1, b.targetOffsets[1]! - 2), Math.min(b.size - 1, b.targetOffsets[1]! + 3), b.size];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const s = sliceUserBatch(b, cuts[i]!, cuts[i + 1]!);
      expect(s.size).toBe(cuts[i + 1]! - cuts[i]!);
      const part = expandUserBatch(s, whole.maxLen);
      for (let r = 0; r < s.size; r++) expect(row(part, r)).toEqual(row(whole, cuts[i]! + r));
      expect(Array.from(s.sampleIndex)).toEqual(Array.from(b.sampleIndex.subarray(cuts[i]!, cuts[i + 1]!)));
      // The count data-parallel training balances on is the slice's own event count.
      expect(userSliceEventCount(b, cuts[i]!, cuts[i + 1]!)).toBe(s.historyItem.length);
    }
    expect(() => sliceUserBatch(b, 0, b.size + 1)).toThrow(/must be a non-empty range within the batch/);
    expect(() => userSliceEventCount(b, 3, 3)).toThrow(/userSliceEventCount: rows \[3, 3\) must be a non-empty range/);
  });
});
