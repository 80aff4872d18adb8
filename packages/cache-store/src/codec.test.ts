import { createRng } from '@vql/runtime';
import { cachedAttention } from './cached-attention.js';
import { decodeCache, encodeCache, readCacheHeader } from './codec.js';
import { crc32 } from './crc32.js';
import { CorruptCacheError } from './errors.js';
import { fromHalf, toHalf } from './float16.js';
import { KERNEL, LAYOUT, maxAbsDiff, randomCodebooks, randomEvents } from './testing/fixtures.js';
import { UserCache, buildFromEncoded } from './user-cache.js';

const FP = 'f'.repeat(64);

describe('cache codec', () => {
  const cache = buildFromEncoded(FP, LAYOUT, randomEvents(LAYOUT, 500, 21), KERNEL);
  const books = randomCodebooks(LAYOUT, createRng(2));
  const q = Float32Array.from({ length: 3 * 4 * LAYOUT.headDim }, (_, i) => Math.sin(i));
  const score = (c: UserCache) => cachedAttention(c, books, KERNEL, { count: 3, queries: q, times: cache.anchor + 100 });

  it('float32 round-trips header fields and sums to float32 precision, with canonical bytes', () => {
    const blob = encodeCache(cache);
    const back = decodeCache(blob);
    expect(back.fingerprint).toBe(FP);
    expect(back.anchor).toBe(cache.anchor);
    expect(back.lastEventTime).toBe(cache.lastEventTime);
    expect(back.eventCount).toBe(500);
    expect(back.entryCount).toBe(cache.entryCount);
    expect(maxAbsDiff(score(back), score(cache))).toBeLessThan(1e-5);
    expect(Buffer.from(encodeCache(back)).equals(Buffer.from(blob))).toBe(true);
    expect(readCacheHeader(blob)).toEqual({ formatVersion: 2, precision: 'float32', fingerprint: FP });
  });

  it('float16 shrinks the blob and stays within ~1e-2 of the float32 scores', () => {
    const b32 = encodeCache(cache);
    const b16 = encodeCache(cache, { precision: 'float16' });
    expect(b16.length).toBeLessThan(0.65 * b32.length);
    const back = decodeCache(b16);
    expect(readCacheHeader(b16).precision).toBe('float16');
    expect(maxAbsDiff(score(back), score(cache))).toBeLessThan(2e-2);
  });

  it('float16 conversion rounds to nearest and handles subnormals, overflow and zero', () => {
    for (const v of [0, 1, -2.5, 65504, 6.1e-5, 5.96e-8, 0.1, 1 / 3]) {
      expect(Math.abs(fromHalf(toHalf(v)) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25);
    }
    expect(fromHalf(toHalf(1e6))).toBe(Infinity);
    expect(fromHalf(toHalf(1e-9))).toBe(0);
  });

  it('an empty cache round-trips', () => {
    const empty = new UserCache(FP, LAYOUT, 123);
    const back = decodeCache(encodeCache(empty));
    expect(back.eventCount).toBe(0);
    expect(back.lastEventTime).toBe(-Infinity);
    expect(back.anchor).toBe(123);
  });

  it('rejects flipped bits, truncation, foreign bytes and future versions', () => {
    const blob = encodeCache(cache);
    const flipped = blob.slice();
    flipped[Math.floor(blob.length / 2)]! ^= 0x10;
    expect(() => decodeCache(flipped, 'user 7')).toThrow(/user 7: checksum mismatch/);
    expect(() => decodeCache(blob.subarray(0, blob.length - 9))).toThrow(CorruptCacheError);
    expect(() => decodeCache(blob.subarray(0, 6))).toThrow(CorruptCacheError);
    expect(() => decodeCache(Buffer.from('hello world, not a cache'))).toThrow(/missing 'VQLC' magic/);
    const v3 = blob.slice();
    v3[4] = 3;
    expect(() => decodeCache(v3)).toThrow(CorruptCacheError); // a damaged version byte fails the checksum
    new DataView(v3.buffer).setUint32(v3.length - 4, crc32(v3.subarray(0, v3.length - 4)), true); // an intact future blob
    expect(() => decodeCache(v3)).toThrow(expect.objectContaining({ code: 'FORMAT_VERSION_MISMATCH' }));
    expect(() => decodeCache(v3)).toThrow(/version 3, this build reads versions 1 and 2/);
  });

  it('applied event ids round-trip (numbers, strings, window, floor), and change the bytes', () => {
    const withIds = buildFromEncoded(FP, LAYOUT, { ...randomEvents(LAYOUT, 6, 22), ids: [1, 2, 'ä-ü', 'x'.repeat(255), 7, 'a'] }, KERNEL, { idWindow: 4 });
    const back = decodeCache(encodeCache(withIds));
    expect(back.ids.list()).toEqual(['ä-ü', 'x'.repeat(255), 7, 'a']);
    expect(back.ids.window).toBe(4);
    expect(back.ids.floor).toBe(2);
    expect(back.ids.status(1)).toBe('stale');
    expect(back.ids.status('a')).toBe('duplicate');
    expect(back.ids.status('b')).toBe('new');
    expect(Buffer.from(encodeCache(back)).equals(Buffer.from(encodeCache(withIds)))).toBe(true);
  });

  it('reads a version-1 blob (written before event ids) as a cache with no applied ids', () => {
    // A v1 blob is today's encoding without the 16-byte empty id section, version 1, its own CRC.
    const v2 = encodeCache(cache);
    const v1 = new Uint8Array(v2.length - 16);
    v1.set(v2.subarray(0, v2.length - 20));
    v1[4] = 1;
    new DataView(v1.buffer).setUint32(v1.length - 4, crc32(v1.subarray(0, v1.length - 4)), true);
    const back = decodeCache(v1);
    expect(readCacheHeader(v1).formatVersion).toBe(1);
    expect(back.eventCount).toBe(500);
    expect(back.ids.size).toBe(0);
    expect(maxAbsDiff(score(back), score(cache))).toBeLessThan(1e-5);
    expect(Buffer.from(encodeCache(back)).equals(Buffer.from(v2))).toBe(true); // rewritten as v2
  });

  it('refuses unknown options', () => {
    expect(() => encodeCache(cache, { precison: 'float16' } as never)).toThrow(/encodeCache: options: unknown option "precison" \(did you mean "precision"\?\)/);
    expect(() => cachedAttention(cache, books, KERNEL, { count: 3, queries: q, times: cache.anchor }, { scale: 1 } as never)).toThrow(expect.objectContaining({ code: 'UNKNOWN_OPTION' }));
  });

  it('refuses to encode non-finite sums', () => {
    const bad = cache.clone();
    bad.groups[0]!.n[0] = Number.POSITIVE_INFINITY;
    expect(() => encodeCache(bad)).toThrow(expect.objectContaining({ code: 'NON_FINITE_CACHE' }));
  });
});
