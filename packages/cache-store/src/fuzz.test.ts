// Property-based tests (fast-check, fixed seed, bounded runs): random histories and operations —
// the codec, appends in any order with redeliveries, re-anchoring, merging — keep the cache equal
// to attention computed directly over every event (float64 log-sum-exp, as the model does), and
// random byte damage to a blob is always a CorruptCacheError.
import fc from 'fast-check';
import { CtrModel } from '@vql/model';
import type { CtrBatch } from '@vql/data';
import { createRng, initBackend } from '@vql/runtime';
import { CtrCacheModel } from './cache-model.js';
import { CachedScorer, appendEvents, buildUserCache } from './cached-scorer.js';
import { cachedAttention } from './cached-attention.js';
import { decodeCache, encodeCache } from './codec.js';
import { CorruptCacheError } from './errors.js';
import { totalHeads } from './layout.js';
import { KERNEL, LAYOUT, bruteForceAttention, maxAbsDiff, randomCodebooks, randomEvents, sliceEvents } from './testing/fixtures.js';
import { appendEncoded, buildFromEncoded, mergeCaches, reanchor } from './user-cache.js';
import type { EncodedEvents, UserCache } from './user-cache.js';

const FP = 'f'.repeat(64);
const SEED = 16;
const H = totalHeads(LAYOUT);
const books = randomCodebooks(LAYOUT, createRng(99));
const YEAR = 365.25 * 86400;

/** Events `idx` of `e` (any order), with ids = their original index. */
function pick(e: EncodedEvents, idx: readonly number[]): EncodedEvents {
  const G = LAYOUT.headsPerGroup.length;
  const w = H * LAYOUT.headDim;
  const codes = new Int32Array(idx.length * G);
  const values = new Float32Array(idx.length * w);
  idx.forEach((i, j) => {
    codes.set(e.codes.subarray(i * G, (i + 1) * G), j * G);
    values.set(e.values.subarray(i * w, (i + 1) * w), j * w);
  });
  return {
    count: idx.length,
    times: Float64Array.from(idx, (i) => e.times[i]!),
    codes,
    weights: Float64Array.from(idx, (i) => e.weights![i]!),
    values,
    ids: [...idx],
  };
}

/** A random history: size, seed, and a time span from minutes to years. */
const history = fc.record({ n: fc.integer({ min: 1, max: 120 }), seed: fc.integer({ min: 0, max: 1e6 }), span: fc.double({ min: 60, max: 5 * YEAR, noNaN: true }) });
/** Request gap after the newest event: log-uniform from 1 s to 1000 years. */
const gap = fc.double({ min: 0, max: Math.log(1000 * YEAR), noNaN: true }).map(Math.exp);

function events(h: { n: number; seed: number; span: number }): EncodedEvents {
  return randomEvents(LAYOUT, h.n, h.seed, 1.5e9, h.span);
}

function agrees(cache: UserCache, all: EncodedEvents, tq: number, seed: number): boolean {
  const q = Float32Array.from({ length: 2 * H * LAYOUT.headDim }, (_, i) => Math.sin(i * 0.7 + seed));
  const got = cachedAttention(cache, books, KERNEL, { count: 2, queries: q, times: tq });
  const want = bruteForceAttention(LAYOUT, all, books, KERNEL, q, tq);
  return got.every(Number.isFinite) && maxAbsDiff(got, want) < 1e-5;
}

describe('fuzz: cache == direct attention under random operations', () => {
  it('appends in random chunks and random order, with redeliveries, equal one build of every event', () => {
    fc.assert(
      fc.property(history, fc.array(fc.integer({ min: 0, max: 1e6 }), { minLength: 1, maxLength: 8 }), gap, (h, cuts, dt) => {
        const all = events(h);
        const order = createRng(h.seed).permutation(h.n);
        const bounds = [...new Set(cuts.map((c) => c % (h.n + 1)))].sort((a, b) => a - b);
        const chunks: number[][] = [];
        let from = 0;
        for (const b of [...bounds, h.n]) {
          if (b > from) chunks.push(Array.from(order.subarray(from, b)));
          from = Math.max(from, b);
        }
        const cache = buildFromEncoded(FP, LAYOUT, pick(all, chunks[0]!), KERNEL);
        for (const c of chunks.slice(1)) {
          appendEncoded(cache, pick(all, c), KERNEL);
          const redelivered = appendEncoded(cache, pick(all, c.slice(0, 3)), KERNEL); // a retry: no-op
          if (redelivered.applied !== 0) return false;
        }
        return cache.eventCount === h.n && agrees(cache, all, cache.lastEventTime + dt, h.seed);
      }),
      { seed: SEED, numRuns: 60 },
    );
  });

  it('re-anchoring forward any number of times keeps the scores', () => {
    fc.assert(
      fc.property(history, fc.array(fc.double({ min: 0, max: 0.5 * YEAR, noNaN: true }), { maxLength: 5 }), gap, (h, moves, dt) => {
        const all = events(h);
        const cache = buildFromEncoded(FP, LAYOUT, all, KERNEL);
        for (const m of moves) reanchor(cache, cache.anchor + m, KERNEL);
        // Requests at or after the anchor (appends keep it at the newest event; a request far
        // before a moved anchor loses the fast bases, whose history factors underflowed).
        return agrees(cache, all, cache.anchor + dt, h.seed);
      }),
      { seed: SEED, numRuns: 60 },
    );
  });

  it('merging random disjoint shards equals building at once; overlapping shards are refused', () => {
    fc.assert(
      fc.property(history, fc.integer({ min: 1, max: 5 }), gap, (h, k, dt) => {
        const all = events(h);
        const rng = createRng(h.seed + 1);
        const parts: number[][] = Array.from({ length: k }, () => []);
        for (let i = 0; i < h.n; i++) parts[rng.int(k)]!.push(i);
        const shards = parts.filter((p) => p.length > 0).map((p) => buildFromEncoded(FP, LAYOUT, pick(all, p), KERNEL));
        const merged = mergeCaches(shards, KERNEL);
        if (merged.eventCount !== h.n || !agrees(merged, all, merged.lastEventTime + dt, h.seed)) return false;
        if (shards.length >= 2) {
          try {
            mergeCaches([shards[0]!, shards[0]!.clone()], KERNEL);
            return false;
          } catch (error) {
            return (error as { code?: string }).code === 'OVERLAPPING_CACHES';
          }
        }
        return true;
      }),
      { seed: SEED, numRuns: 50 },
    );
  });
});

describe('fuzz: cache == CtrModel.predict', () => {
  let model: CtrModel;
  let cm: CtrCacheModel;
  const NOW = 1.75e9;
  beforeAll(async () => {
    await initBackend();
    model = new CtrModel({
      numItems: 50,
      embeddingDim: 8,
      embeddingInitScale: 0.8,
      interest: { kind: 'vql', heads: 2, groups: 2, headDim: 4, codebookSizes: [4, 8], quantizer: { init: 'random' } },
      tower: [8],
      seed: 21,
    });
    cm = new CtrCacheModel(model, { timeBounds: { maxFutureSkew: Infinity } });
  });
  afterAll(() => {
    cm.dispose();
    model.dispose();
  });

  it('random histories appended in random order and chunks score as predict does, at any later time', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 4 }), gap, (L, seed, k, dt) => {
        const rng = createRng(seed);
        const items = Int32Array.from({ length: L }, () => 1 + rng.int(50));
        const times = Float64Array.from({ length: L }, () => NOW - Math.floor(Math.exp(rng.next() * Math.log(3 * YEAR))));
        times.sort();
        const tq = times[L - 1]! + dt;
        const order = Array.from(rng.permutation(L));
        const chunk = Math.ceil(L / k);
        const part = (a: number, b: number) => {
          const idx = order.slice(a, b);
          return { items: Int32Array.from(idx, (i) => items[i]!), times: Float64Array.from(idx, (i) => times[i]!), ids: idx };
        };
        const cache = buildUserCache(cm, part(0, chunk));
        for (let a = chunk; a < L; a += chunk) appendEvents(cache, part(a, a + chunk), cm);
        appendEvents(cache, part(0, Math.min(2, L)), cm); // a redelivery
        const candidates = Int32Array.of(1 + rng.int(50), 1 + rng.int(50));
        const batch: CtrBatch = {
          size: 2,
          maxLen: L,
          user: new Int32Array(2).fill(1),
          targetItem: candidates,
          targetTime: new Float64Array(2).fill(tq),
          label: new Float32Array(2),
          historyItem: Int32Array.from({ length: 2 * L }, (_, i) => items[i % L]!),
          historyTime: Float64Array.from({ length: 2 * L }, (_, i) => times[i % L]!),
          historyMask: new Float32Array(2 * L).fill(1),
          historyLength: new Int32Array(2).fill(L),
          targetContext: {},
          historyContext: {},
        };
        const want = model.predict(batch);
        const got = new CachedScorer(cm).score(cache, { items: candidates, time: tq });
        // float32 dt in predict: ~1e-4 at gaps of centuries, 1e-5 below.
        return cache.eventCount === L && maxAbsDiff(got, want) < (dt > 100 * YEAR ? 1e-4 : 1e-5);
      }),
      { seed: SEED, numRuns: 25 },
    );
  });
});

describe('fuzz: codec', () => {
  const idArb = fc.oneof(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }));

  it('round-trips any cache (ids, window, precision): same ids; float32 also the same bytes and scores', () => {
    fc.assert(
      fc.property(history, fc.uniqueArray(idArb, { minLength: 0, maxLength: 60, selector: (x) => `${typeof x}:${x}` }), fc.integer({ min: 0, max: 64 }), fc.boolean(), (h, ids, window, half) => {
        const all = events(h);
        const n = Math.min(h.n, ids.length);
        const cache = buildFromEncoded(FP, LAYOUT, sliceEvents(LAYOUT, all, 0, h.n), KERNEL, { idWindow: window });
        if (n > 0) appendEncoded(cache, { ...sliceEvents(LAYOUT, all, 0, n), ids: ids.slice(0, n) }, KERNEL);
        const precision = half ? 'float16' : 'float32';
        const blob = encodeCache(cache, { precision });
        const back = decodeCache(blob);
        // float32 blobs are canonical (float16 re-quantises: not a byte-exact fixed point).
        if (!half && !Buffer.from(encodeCache(back, { precision })).equals(Buffer.from(blob))) return false;
        if (JSON.stringify(back.ids.list()) !== JSON.stringify(cache.ids.list()) || back.ids.floor !== cache.ids.floor) return false;
        if (half) return true; // float16 accuracy has its own test
        const q = Float32Array.from({ length: H * LAYOUT.headDim }, (_, i) => Math.cos(i));
        const tq = cache.lastEventTime + 60;
        return maxAbsDiff(cachedAttention(back, books, KERNEL, { count: 1, queries: q, times: tq }), cachedAttention(cache, books, KERNEL, { count: 1, queries: q, times: tq })) < 1e-5;
      }),
      { seed: SEED, numRuns: 80 },
    );
  });

  it('random byte damage (flips, overwrites, truncation, extension) is always a CorruptCacheError', () => {
    const base = buildFromEncoded(FP, LAYOUT, { ...randomEvents(LAYOUT, 40, 5), ids: Array.from({ length: 40 }, (_, i) => (i % 2 ? i : `s${i}`)) }, KERNEL);
    const blobs = [encodeCache(base), encodeCache(base, { precision: 'float16' })];
    const damage = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('grow' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), fc.array(damage, { minLength: 1, maxLength: 4 }), (which, ops) => {
        let blob = blobs[which]!.slice();
        for (const op of ops) {
          if (op.kind === 'flip') blob[op.at % blob.length]! ^= 1 << op.bit;
          else if (op.kind === 'set') blob.set(op.bytes.subarray(0, Math.max(0, blob.length - (op.at % blob.length))), op.at % blob.length);
          else if (op.kind === 'cut') blob = blob.slice(0, op.at % blob.length);
          else blob = Uint8Array.from([...blob, ...op.bytes]);
        }
        if (Buffer.from(blob).equals(Buffer.from(blobs[which]!))) return true; // the damage undid itself
        try {
          decodeCache(blob, 'fuzzed');
          return false;
        } catch (error) {
          return error instanceof CorruptCacheError;
        }
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });
});
