import { createRng } from '@vql/runtime';
import { cachedAttention } from './cached-attention.js';
import { CacheFingerprintMismatchError, VqlCacheStoreError } from './errors.js';
import { KERNEL, LAYOUT, bruteForceAttention, maxAbsDiff, randomCodebooks, randomEvents, sliceEvents } from './testing/fixtures.js';
import { UserCache, appendEncoded, buildFromEncoded, checkCacheFor, mergeCaches, reanchor } from './user-cache.js';

const FP = 'a'.repeat(64);
const H = 4;
const dh = LAYOUT.headDim;

function queries(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n * H * dh }, () => rng.normal());
}

describe('UserCache math', () => {
  const books = randomCodebooks(LAYOUT, createRng(1));

  it('cached attention equals brute-force softmax attention over every event', () => {
    const events = randomEvents(LAYOUT, 2000, 7);
    const cache = buildFromEncoded(FP, LAYOUT, events, KERNEL);
    expect(cache.eventCount).toBe(2000);
    expect(cache.entryCount).toBeLessThanOrEqual(4 + 16 + 64);
    const tq = cache.lastEventTime + 3600;
    const q = queries(5, 3);
    const got = cachedAttention(cache, books, KERNEL, { count: 5, queries: q, times: tq });
    const want = bruteForceAttention(LAYOUT, events, books, KERNEL, q, tq);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
  });

  it('stores only the codes that occur', () => {
    const events = randomEvents(LAYOUT, 3, 8);
    const cache = buildFromEncoded(FP, LAYOUT, events, KERNEL);
    const distinct = new Set(Array.from({ length: 3 }, (_, i) => events.codes[i * 3 + 2]));
    expect(cache.groups[2]!.size).toBe(distinct.size);
  });

  it('appending in chunks, in any order, equals building at once', () => {
    const events = randomEvents(LAYOUT, 600, 9);
    const whole = buildFromEncoded(FP, LAYOUT, events, KERNEL);
    // Newest chunk first, then older ones: out-of-order arrivals are exact.
    const parts = buildFromEncoded(FP, LAYOUT, sliceEvents(LAYOUT, events, 400, 600), KERNEL);
    appendEncoded(parts, sliceEvents(LAYOUT, events, 0, 200), KERNEL);
    appendEncoded(parts, sliceEvents(LAYOUT, events, 200, 400), KERNEL);
    expect(parts.eventCount).toBe(600);
    expect(parts.lastEventTime).toBe(whole.lastEventTime);
    const tq = whole.lastEventTime + 10;
    const q = queries(3, 4);
    const a = cachedAttention(whole, books, KERNEL, { count: 3, queries: q, times: tq });
    const b = cachedAttention(parts, books, KERNEL, { count: 3, queries: q, times: tq });
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-6);
  });

  it('reanchors automatically for newer events, or refuses them when asked', () => {
    const events = randomEvents(LAYOUT, 100, 10);
    const cache = buildFromEncoded(FP, LAYOUT, sliceEvents(LAYOUT, events, 0, 50), KERNEL);
    const later = { ...sliceEvents(LAYOUT, events, 50, 51), times: Float64Array.of(cache.anchor + 5 * 86400) };
    expect(() => appendEncoded(cache.clone(), later, KERNEL, { futureEvents: 'refuse' })).toThrow(
      expect.objectContaining({ code: 'EVENT_AFTER_ANCHOR' }),
    );
    appendEncoded(cache, later, KERNEL);
    expect(cache.anchor).toBe(later.times[0]);
    expect(cache.lastEventTime).toBe(later.times[0]);
  });

  it('reanchor leaves scores unchanged and refuses to move before the newest event', () => {
    const events = randomEvents(LAYOUT, 300, 11);
    const cache = buildFromEncoded(FP, LAYOUT, events, KERNEL);
    const tq = cache.anchor + 7200;
    const q = queries(2, 5);
    const before = cachedAttention(cache, books, KERNEL, { count: 2, queries: q, times: tq });
    reanchor(cache, cache.anchor + 3600, KERNEL);
    const after = cachedAttention(cache, books, KERNEL, { count: 2, queries: q, times: tq });
    expect(maxAbsDiff(before, after)).toBeLessThan(1e-6);
    expect(() => reanchor(cache, cache.lastEventTime - 1, KERNEL)).toThrow(expect.objectContaining({ code: 'INVALID_ANCHOR' }));
  });

  it('mergeCaches of shards equals the cache of the union', () => {
    const events = randomEvents(LAYOUT, 900, 12);
    const whole = buildFromEncoded(FP, LAYOUT, events, KERNEL);
    const shards = [0, 1, 2].map((s) => buildFromEncoded(FP, LAYOUT, sliceEvents(LAYOUT, events, s * 300, (s + 1) * 300), KERNEL));
    const merged = mergeCaches(shards, KERNEL);
    expect(merged.eventCount).toBe(900);
    expect(merged.anchor).toBe(whole.anchor);
    const q = queries(4, 6);
    const tq = whole.anchor + 60;
    expect(maxAbsDiff(cachedAttention(whole, books, KERNEL, { count: 4, queries: q, times: tq }), cachedAttention(merged, books, KERNEL, { count: 4, queries: q, times: tq }))).toBeLessThan(1e-6);
    expect(() => mergeCaches([whole, new UserCache('b'.repeat(64), LAYOUT, 0)], KERNEL)).toThrow(CacheFingerprintMismatchError);
  });

  it('an empty cache scores zeros (the model’s empty-history output)', () => {
    const cache = new UserCache(FP, LAYOUT, 0);
    const out = cachedAttention(cache, books, KERNEL, { count: 2, queries: queries(2, 1), times: 1.7e9 });
    expect(Array.from(out).every((v) => v === 0)).toBe(true);
  });

  it('validates events, queries and fingerprints with named errors', () => {
    const events = randomEvents(LAYOUT, 5, 13);
    const badCode = { ...events, codes: events.codes.map((c, i) => (i === 4 ? 99 : c)) };
    expect(() => buildFromEncoded(FP, LAYOUT, badCode, KERNEL)).toThrow(/events\.codes\[4\] \(event 1, group 1\) = 99/);
    const badValue = { ...events, values: events.values.map((v, i) => (i === 40 ? Number.NaN : v)) };
    expect(() => buildFromEncoded(FP, LAYOUT, badValue, KERNEL)).toThrow(/events\.values\[40\]/);
    expect(() => buildFromEncoded(FP, LAYOUT, { ...events, times: new Float64Array(2) }, KERNEL)).toThrow(/events\.times must have length 5/);
    const cache = buildFromEncoded(FP, LAYOUT, events, KERNEL);
    expect(() => cachedAttention(cache, books, KERNEL, { count: 1, queries: queries(1, 1), times: cache.lastEventTime - 1 })).toThrow(
      expect.objectContaining({ code: 'QUERY_BEFORE_HISTORY' }),
    );
    expect(() => checkCacheFor('score', cache, 'c'.repeat(64), LAYOUT)).toThrow(/cache was built by model aaaa/);
    expect(() => checkCacheFor('score', cache, FP, { ...LAYOUT, headDim: 4 })).toThrow(expect.objectContaining({ code: 'LAYOUT_MISMATCH' }));
    expect(() => new UserCache('', LAYOUT, 0)).toThrow(VqlCacheStoreError);
  });
});
