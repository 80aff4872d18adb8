// Issue 16, case 1: one bad timestamp used to move the anchor past every real request, breaking
// the user for good. Times are now checked at every entry point, before anything is written.
import { createRng } from '@vql/runtime';
import { cachedAttention } from './cached-attention.js';
import { encodeCache } from './codec.js';
import { MemoryCacheStore } from './memory-cache-store.js';
import { KERNEL, LAYOUT, randomCodebooks, randomEvents, sliceEvents } from './testing/fixtures.js';
import { resolveTimeBounds } from './time-bounds.js';
import { appendEncoded, buildFromEncoded } from './user-cache.js';
import type { EncodedEvents } from './user-cache.js';

const FP = 'e'.repeat(64);
const NOW = 1.75e9; // the tests' server clock
const CLOCK = { now: () => NOW };
const books = randomCodebooks(LAYOUT, createRng(3));
const q = Float32Array.from({ length: 4 * LAYOUT.headDim }, (_, i) => Math.sin(i));

/** One event of `events` (the first) at time `t`, with id `id`. */
function oneAt(events: EncodedEvents, t: number, id: string | number): EncodedEvents {
  const e = sliceEvents(LAYOUT, events, 0, 1);
  return { ...e, times: Float64Array.of(t), ids: [id] };
}

describe('event time bounds', () => {
  const history = randomEvents(LAYOUT, 200, 1, NOW - 90 * 86400, 90 * 86400 - 10);

  it.each([
    ['milliseconds', NOW * 1000, /id "click-7"\) has time 1750000000000 .*more than 300 s \(timeBounds\.maxFutureSkew\) after the server clock 2025-06-15T15:06:40Z; nothing was written\. It looks like milliseconds: 1750000000000 \/ 1000 = 2025-06-15T15:06:40Z; times are epoch seconds/],
    ['microseconds', NOW * 1e6, /It looks like microseconds/],
    ['the year 2100', 4.1e9, /\(2099-12-03T.*more than 300 s/],
    ['1980', 3.2e8, /before the earliest accepted time 631152000 \(1990-01-01T00:00:00Z; timeBounds\.earliest\)/],
    ['NaN', Number.NaN, /has time NaN, which is not a finite number/],
  ])('an event in %s is refused, the cache is untouched, and the user keeps scoring', (_, t, message) => {
    const cache = buildFromEncoded(FP, LAYOUT, history, KERNEL, { timeBounds: CLOCK });
    const before = encodeCache(cache);
    const bad = oneAt(history, t, 'click-7');
    expect(() => appendEncoded(cache, bad, KERNEL, { timeBounds: CLOCK })).toThrow(expect.objectContaining({ code: 'INVALID_TIME' }));
    expect(() => appendEncoded(cache, bad, KERNEL, { timeBounds: CLOCK })).toThrow(message);
    expect(Buffer.from(encodeCache(cache)).equals(Buffer.from(before))).toBe(true);
    // Later normal appends and requests at the server's time still work.
    appendEncoded(cache, oneAt(history, NOW - 1, 'click-8'), KERNEL, { timeBounds: CLOCK });
    const out = cachedAttention(cache, books, KERNEL, { count: 1, queries: q, times: NOW });
    expect(out.every(Number.isFinite)).toBe(true);
    expect(out.some((x) => x !== 0)).toBe(true);
  });

  it('a bad event in the middle of a batch writes none of it, naming its index', () => {
    const cache = buildFromEncoded(FP, LAYOUT, sliceEvents(LAYOUT, history, 0, 100), KERNEL, { timeBounds: CLOCK });
    const batch = sliceEvents(LAYOUT, history, 100, 110);
    batch.times[4] = NOW * 1000;
    expect(() => appendEncoded(cache, batch, KERNEL, { timeBounds: CLOCK })).toThrow(/events\.times\[4\] \(event 4\) has time/);
    expect(cache.eventCount).toBe(100);
  });

  it('build refuses bad event times and an anchor outside the bounds', () => {
    const bad = sliceEvents(LAYOUT, history, 0, 5);
    bad.times[2] = NOW * 1000;
    expect(() => buildFromEncoded(FP, LAYOUT, bad, KERNEL, { timeBounds: CLOCK })).toThrow(/buildFromEncoded: events\.times\[2\]/);
    expect(() => buildFromEncoded(FP, LAYOUT, history, KERNEL, { timeBounds: CLOCK, anchor: 4.1e9 })).toThrow(/options\.anchor has time 4100000000/);
  });

  it('store.append refuses a bad time and writes nothing', async () => {
    const store = new MemoryCacheStore();
    const target = { fingerprint: FP, layout: LAYOUT, kernel: KERNEL, timeBounds: CLOCK };
    await store.append('u', sliceEvents(LAYOUT, history, 0, 50), target);
    const before = await store.getBlob('u');
    await expect(store.append('u', oneAt(history, NOW * 1000, 9), target)).rejects.toThrow(/looks like milliseconds/);
    expect(Buffer.from((await store.getBlob('u'))!).equals(Buffer.from(before!))).toBe(true);
    await expect(store.append('fresh', oneAt(history, NOW * 1000, 9), target)).rejects.toThrow(/INVALID_TIME|looks like milliseconds/);
    expect(await store.get('fresh')).toBeUndefined();
  });

  it('bounds are configurable: earlier history, a larger skew, no upper bound', () => {
    const old = randomEvents(LAYOUT, 10, 2, 1e8, 1e6); // 1973
    expect(() => buildFromEncoded(FP, LAYOUT, old, KERNEL, { timeBounds: CLOCK })).toThrow(/before the earliest/);
    expect(buildFromEncoded(FP, LAYOUT, old, KERNEL, { timeBounds: { ...CLOCK, earliest: 0 } }).eventCount).toBe(10);
    const soon = oneAt(history, NOW + 3600, 'x');
    expect(() => buildFromEncoded(FP, LAYOUT, soon, KERNEL, { timeBounds: CLOCK })).toThrow(/more than 300 s/);
    expect(buildFromEncoded(FP, LAYOUT, soon, KERNEL, { timeBounds: { ...CLOCK, maxFutureSkew: 7200 } }).eventCount).toBe(1);
    expect(buildFromEncoded(FP, LAYOUT, oneAt(history, 4.1e9, 'y'), KERNEL, { timeBounds: { ...CLOCK, maxFutureSkew: Infinity } }).eventCount).toBe(1);
  });

  it('bad bounds are errors naming the field', () => {
    expect(() => resolveTimeBounds('f', { maxFutureSkew: -1 })).toThrow(/timeBounds\.maxFutureSkew must be a number ≥ 0/);
    expect(() => resolveTimeBounds('f', { earliest: Number.NaN })).toThrow(/timeBounds\.earliest/);
    expect(() => resolveTimeBounds('f', { skew: 5 } as never)).toThrow(/unknown option "skew"/);
  });
});
