import { makeBatch } from './batches.js';
import { generateSynthetic } from './synthetic.js';
import { tinySyntheticConfig } from './testing/presets.js';
import { expandUserBatch, userBatchCount, userBatches } from './user-batches.js';
import type { UserBatch } from './user-batches.js';

const ds = generateSynthetic(tinySyntheticConfig);
const train = ds.samples.train;

function sortedSamples(b: UserBatch): number[] {
  return [...b.sampleIndex].sort((x, y) => x - y);
}

describe('userBatches', () => {
  it('yields every sample exactly once, users whole and targets in time order', () => {
    const list = [...userBatches(train, { batchSize: 20 })];
    expect(list.length).toBe(userBatchCount(train, { batchSize: 20 }));
    const seen = list.flatMap(sortedSamples).sort((x, y) => x - y);
    expect(seen).toEqual(Array.from({ length: train.size }, (_, i) => i));
    for (const b of list) {
      expect(b.size).toBeLessThanOrEqual(20);
      for (let k = 0; k < b.numUsers; k++) {
        for (let j = b.targetOffsets[k]! + 1; j < b.targetOffsets[k + 1]!; j++) {
          expect(b.targetTime[j]!).toBeGreaterThanOrEqual(b.targetTime[j - 1]!);
          expect(b.historyEnd[j]!).toBeGreaterThanOrEqual(b.historyEnd[j - 1]!);
        }
        // The user's history is read once: its slice ends at its last target's history end.
        const n = b.eventOffsets[k + 1]! - b.eventOffsets[k]!;
        expect(b.historyEnd[b.targetOffsets[k + 1]! - 1]).toBe(n);
      }
    }
    // Users with at most 20 targets are never split across batches.
    const usersPerBatch = list.map((b) => new Set(b.users));
    const count = new Map<number, number>();
    for (const s of usersPerBatch) for (const u of s) count.set(u, (count.get(u) ?? 0) + 1);
    expect([...count.values()].every((c) => c === 1)).toBe(true);
  });

  it('splits a user with more targets than the budget into consecutive chunks', () => {
    const list = [...userBatches(train, { batchSize: 3 })];
    expect(list.every((b) => b.size <= 3)).toBe(true);
    expect(list.flatMap(sortedSamples).length).toBe(train.size);
  });

  it('expands to the same padded rows as per-sample batches (whole history and newest L)', () => {
    for (const maxLen of [null, 7]) {
      for (const b of userBatches(train, { batchSize: 16, maxLen, shuffle: true, seed: 3 })) {
        const L = maxLen ?? Math.max(...Array.from(b.historyEnd, (e, j) => e - b.historyStart[j]!));
        const expanded = expandUserBatch(b);
        const ref = makeBatch(train, b.sampleIndex, Math.max(L, 1));
        expect(expanded.maxLen).toBe(L);
        expect(expanded.historyLength).toEqual(ref.historyLength);
        expect(expanded.targetItem).toEqual(ref.targetItem);
        expect(expanded.label).toEqual(ref.label);
        for (let j = 0; j < b.size; j++) {
          const len = ref.historyLength[j]!;
          expect(expanded.historyItem.subarray(j * L, j * L + len)).toEqual(ref.historyItem.subarray(j * ref.maxLen, j * ref.maxLen + len));
          expect(expanded.historyTime.subarray(j * L, j * L + len)).toEqual(ref.historyTime.subarray(j * ref.maxLen, j * ref.maxLen + len));
          for (const name of Object.keys(ref.historyContext)) {
            expect(expanded.historyContext[name]!.subarray(j * L, j * L + len)).toEqual(ref.historyContext[name]!.subarray(j * ref.maxLen, j * ref.maxLen + len));
          }
        }
        for (const name of Object.keys(ref.targetContext)) expect(expanded.targetContext[name]).toEqual(ref.targetContext[name]);
      }
    }
  });

  it('is deterministic given the seed and rejects bad options by name', () => {
    const a = [...userBatches(train, { batchSize: 10, shuffle: true, seed: 5 })].map((b) => Array.from(b.sampleIndex));
    const b = [...userBatches(train, { batchSize: 10, shuffle: true, seed: 5 })].map((x) => Array.from(x.sampleIndex));
    const c = [...userBatches(train, { batchSize: 10, shuffle: true, seed: 6 })].map((x) => Array.from(x.sampleIndex));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(() => [...userBatches(train, { batchSize: 0 })]).toThrow(/batchSize/);
    expect(() => [...userBatches(train, { batchSize: 4, maxLen: -1 })]).toThrow(/maxLen/);
    expect(() => [...userBatches(train, { batchSize: 4, maxlen: 3 } as never)]).toThrow(/"maxlen"/);
  });
});

describe('userBatches userChunk', () => {
  it('caps the targets of one user per batch, mixing more users into each batch', () => {
    const whole = [...userBatches(train, { batchSize: 32 })];
    const chunked = [...userBatches(train, { batchSize: 32, userChunk: 4, shuffle: true, seed: 2 })];
    expect(chunked.flatMap(sortedSamples).sort((x, y) => x - y)).toEqual(Array.from({ length: train.size }, (_, i) => i));
    for (const b of chunked) for (let k = 0; k < b.numUsers; k++) expect(b.targetOffsets[k + 1]! - b.targetOffsets[k]!).toBeLessThanOrEqual(4);
    // Distinct users per batch (two chunks of one user may share a batch).
    const mean = (l: UserBatch[]) => l.reduce((a, b) => a + new Set(b.users).size, 0) / l.length;
    expect(mean(chunked)).toBeGreaterThan(1.5 * mean(whole));
    expect(() => [...userBatches(train, { batchSize: 4, userChunk: 5 })]).toThrow(/userChunk/);
  });
});
