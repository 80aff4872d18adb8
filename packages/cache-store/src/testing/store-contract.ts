// Test-only: the one contract every CacheStore passes (memory, LMDB, Redis).
import { createRng } from '@vql/runtime';
import type { CacheStore } from '../cache-store.js';
import { cachedAttention } from '../cached-attention.js';
import { encodeCache } from '../codec.js';
import { CacheFingerprintMismatchError, CorruptCacheError } from '../errors.js';
import { KERNEL, LAYOUT, maxAbsDiff, randomCodebooks, randomEvents, sliceEvents } from './fixtures.js';
import { UserCache, buildFromEncoded } from '../user-cache.js';

export interface StoreHarness {
  /** A fresh, empty store. */
  create(): Promise<CacheStore>;
  /** A second handle on the same data (another connection / process view), for concurrency. */
  reopen(store: CacheStore): Promise<CacheStore>;
  /** Writes raw bytes under `user`, bypassing the store's encoder (corruption tests). */
  writeRaw(store: CacheStore, user: string, bytes: Uint8Array): Promise<void>;
}

const FP_A = 'a'.repeat(64);
const FP_B = 'b'.repeat(64);
const TARGET = { fingerprint: FP_A, layout: LAYOUT, kernel: KERNEL };

export function describeStoreContract(name: string, harness: StoreHarness): void {
  describe(`${name}: CacheStore contract`, () => {
    let store: CacheStore;
    const books = randomCodebooks(LAYOUT, createRng(5));
    const q = Float32Array.from({ length: 2 * 4 * LAYOUT.headDim }, (_, i) => Math.cos(i));
    const score = (c: UserCache, tq: number) => cachedAttention(c, books, KERNEL, { count: 2, queries: q, times: tq });

    beforeEach(async () => {
      store = await harness.create();
    });
    afterEach(async () => {
      await store.close();
    });

    it('get of an unknown user is undefined; put then get round-trips', async () => {
      expect(await store.get('nobody')).toBeUndefined();
      expect(await store.getBlob('nobody')).toBeUndefined();
      const cache = buildFromEncoded(FP_A, LAYOUT, randomEvents(LAYOUT, 300, 1), KERNEL);
      await store.put('u1', cache);
      const back = (await store.get('u1'))!;
      expect(back.eventCount).toBe(300);
      expect(back.fingerprint).toBe(FP_A);
      expect(maxAbsDiff(score(back, cache.anchor + 1), score(cache, cache.anchor + 1))).toBeLessThan(1e-5);
      expect(Buffer.from((await store.getBlob('u1'))!).equals(Buffer.from(encodeCache(cache)))).toBe(true);
    });

    it('put replaces, delete removes once', async () => {
      await store.put('u1', buildFromEncoded(FP_A, LAYOUT, randomEvents(LAYOUT, 10, 2), KERNEL));
      await store.put('u1', buildFromEncoded(FP_A, LAYOUT, randomEvents(LAYOUT, 20, 3), KERNEL));
      expect((await store.get('u1'))!.eventCount).toBe(20);
      expect(await store.delete('u1')).toBe(true);
      expect(await store.delete('u1')).toBe(false);
      expect(await store.get('u1')).toBeUndefined();
    });

    it('append creates then extends a cache, equal to building from all events', async () => {
      const events = randomEvents(LAYOUT, 400, 4);
      await store.append('u2', sliceEvents(LAYOUT, events, 0, 150), TARGET);
      const after = await store.append('u2', sliceEvents(LAYOUT, events, 150, 400), TARGET);
      expect(after.cache.eventCount).toBe(400);
      expect(after.applied).toBe(250);
      const stored = (await store.get('u2'))!;
      const whole = buildFromEncoded(FP_A, LAYOUT, events, KERNEL);
      const tq = whole.anchor + 100;
      expect(maxAbsDiff(score(stored, tq), score(whole, tq))).toBeLessThan(1e-5);
    });

    it('append to a cache of another model is refused', async () => {
      await store.put('u3', buildFromEncoded(FP_B, LAYOUT, randomEvents(LAYOUT, 5, 5), KERNEL));
      await expect(store.append('u3', randomEvents(LAYOUT, 5, 6), TARGET)).rejects.toThrow(CacheFingerprintMismatchError);
      expect((await store.get('u3'))!.fingerprint).toBe(FP_B);
    });

    it('concurrent appends from several handles lose no event', async () => {
      const other = await harness.reopen(store);
      try {
        const events = randomEvents(LAYOUT, 240, 7);
        const writers = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? store : other).append('hot', sliceEvents(LAYOUT, events, i * 20, (i + 1) * 20), TARGET));
        await Promise.all(writers);
        const final = (await store.get('hot'))!;
        expect(final.eventCount).toBe(240);
        const whole = buildFromEncoded(FP_A, LAYOUT, events, KERNEL);
        expect(maxAbsDiff(score(final, whole.anchor + 5), score(whole, whole.anchor + 5))).toBeLessThan(1e-5);
      } finally {
        if (other !== store) await other.close();
      }
    });

    it('update returning undefined changes nothing', async () => {
      const cache = buildFromEncoded(FP_A, LAYOUT, randomEvents(LAYOUT, 7, 8), KERNEL);
      await store.put('u4', cache);
      const before = await store.getBlob('u4');
      const seen = await store.update('u4', () => undefined);
      expect(seen!.eventCount).toBe(7);
      expect(Buffer.from((await store.getBlob('u4'))!).equals(Buffer.from(before!))).toBe(true);
    });

    it('scan lists users, filtered by fingerprint, and follows re-puts and deletes', async () => {
      for (const u of ['a1', 'a2', 'a3']) await store.put(u, new UserCache(FP_A, LAYOUT, 0));
      for (const u of ['b1', 'b2']) await store.put(u, new UserCache(FP_B, LAYOUT, 0));
      const collect = async (fingerprint?: string) => {
        const out: string[] = [];
        for await (const e of store.scan(fingerprint === undefined ? {} : { fingerprint })) out.push(`${e.user}:${e.fingerprint[0]}`);
        return out.sort();
      };
      expect(await collect()).toEqual(['a1:a', 'a2:a', 'a3:a', 'b1:b', 'b2:b']);
      expect(await collect(FP_A)).toEqual(['a1:a', 'a2:a', 'a3:a']);
      await store.put('a1', new UserCache(FP_B, LAYOUT, 0));
      await store.delete('a2');
      expect(await collect(FP_A)).toEqual(['a3:a']);
      expect(await collect(FP_B)).toEqual(['a1:b', 'b1:b', 'b2:b']);
    });

    it('a damaged or truncated blob is a CorruptCacheError naming the user', async () => {
      const blob = encodeCache(buildFromEncoded(FP_A, LAYOUT, randomEvents(LAYOUT, 50, 9), KERNEL));
      const flipped = blob.slice();
      flipped[blob.length - 20]! ^= 1;
      await harness.writeRaw(store, 'bad', flipped);
      await expect(store.get('bad')).rejects.toThrow(CorruptCacheError);
      await expect(store.get('bad')).rejects.toThrow(/user "bad"/);
      await harness.writeRaw(store, 'short', blob.subarray(0, blob.length - 100));
      await expect(store.get('short')).rejects.toThrow(CorruptCacheError);
      await expect(store.append('short', randomEvents(LAYOUT, 1, 10), TARGET)).rejects.toThrow(CorruptCacheError);
    });

    it('a retried append is a no-op that says so; only new ids of a batch are applied', async () => {
      const events = randomEvents(LAYOUT, 60, 13);
      const withIds = (from: number, to: number, ids: Array<string | number>) => ({ ...sliceEvents(LAYOUT, events, from, to), ids });
      const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
      const first = await store.append('idem', withIds(0, 40, range(0, 40)), TARGET);
      expect([first.applied, first.duplicates, first.stale]).toEqual([40, [], []]);
      const blob = Buffer.from((await store.getBlob('idem'))!);
      // The same append again (a client retrying after a timeout that had in fact been applied):
      const retry = await store.append('idem', withIds(0, 40, range(0, 40)), TARGET);
      expect(retry.applied).toBe(0);
      expect(retry.duplicates).toEqual(range(0, 40));
      expect(retry.cache.eventCount).toBe(40);
      expect(Buffer.from((await store.getBlob('idem'))!).equals(blob)).toBe(true); // nothing written
      // Overlapping redelivery: ids 30..59, of which 30..39 were applied.
      const overlap = await store.append('idem', withIds(30, 60, range(30, 60)), TARGET);
      expect(overlap.applied).toBe(20);
      expect(overlap.duplicates).toEqual(range(30, 40));
      const stored = (await store.get('idem'))!;
      expect(stored.eventCount).toBe(60);
      const whole = buildFromEncoded(FP_A, LAYOUT, events, KERNEL);
      expect(maxAbsDiff(score(stored, whole.anchor + 60), score(whole, whole.anchor + 60))).toBeLessThan(1e-5);
      // String ids, and a repeat inside one batch, on a new user.
      const strings = await store.append('idem-s', withIds(0, 3, ['a', 'b', 'a']), TARGET);
      expect([strings.applied, strings.duplicates]).toEqual([2, ['a']]);
      expect((await store.append('idem-s', withIds(3, 4, ['b']), TARGET)).duplicates).toEqual(['b']);
      // idWindow 0: a high-water mark only; an id at or below it is stale, a larger one applies.
      await store.append('hwm', withIds(0, 3, [5, 9, 7]), TARGET, { idWindow: 0 });
      const late = await store.append('hwm', withIds(3, 6, [8, 9, 10]), TARGET);
      expect([late.applied, late.stale, late.duplicates]).toEqual([1, [8, 9], []]);
      expect((await store.get('hwm'))!.ids.floor).toBe(10);
    });

    it('concurrent redeliveries of one batch from several handles apply it once', async () => {
      const other = await harness.reopen(store);
      try {
        const batch = { ...randomEvents(LAYOUT, 20, 14), ids: Array.from({ length: 20 }, (_, i) => `e${i}`) };
        const results = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? store : other).append('redeliver', batch, TARGET)));
        expect(results.map((r) => r.applied).sort()).toEqual([0, 0, 0, 0, 0, 20]);
        expect((await store.get('redeliver'))!.eventCount).toBe(20);
      } finally {
        if (other !== store) await other.close();
      }
    });

    it('scan skips and reports a blob that is not a cache, listing every other user', async () => {
      await store.put('good', new UserCache(FP_A, LAYOUT, 0));
      await harness.writeRaw(store, 'junk', Buffer.from('not a cache at all'));
      const reported: string[] = [];
      const listed: string[] = [];
      for await (const e of store.scan({ onCorrupt: (c) => reported.push(`${c.user}: ${c.reason}`) })) listed.push(e.user);
      expect(listed).toEqual(['good']);
      expect(reported).toEqual([expect.stringMatching(/^junk: .*user "junk": not a VQL cache/)]);
      const quiet: string[] = [];
      for await (const e of store.scan()) quiet.push(e.user);
      expect(quiet).toEqual(['good']);
      await expect(store.get('junk')).rejects.toThrow(CorruptCacheError);
    });

    it('unknown option keys are errors', async () => {
      await expect(store.append('u', randomEvents(LAYOUT, 1, 15), TARGET, { futureEvent: 'refuse' } as never)).rejects.toThrow(
        /unknown option "futureEvent" \(did you mean "futureEvents"\?\)/,
      );
      await expect(store.append('u', randomEvents(LAYOUT, 1, 15), TARGET, { futureEvents: 'bogus' as never })).rejects.toThrow(/options\.futureEvents must be 'reanchor' or 'refuse', got "bogus"/);
      const scan = async () => {
        for await (const e of store.scan({ fingerPrint: FP_A } as never)) void e;
      };
      await expect(scan()).rejects.toThrow(expect.objectContaining({ code: 'UNKNOWN_OPTION' }));
      expect(await store.get('u')).toBeUndefined();
    });

    it('rejects bad user ids and non-cache values with INVALID_ARGUMENT', async () => {
      await expect(store.get('')).rejects.toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      await expect(store.put('x', {} as UserCache)).rejects.toThrow(/cache must be a UserCache/);
    });

    it('a closed store refuses work', async () => {
      const extra = await harness.create();
      await extra.close();
      await expect(extra.get('u1')).rejects.toThrow(expect.objectContaining({ code: 'STORE_CLOSED' }));
    });
  });
}
