// The main correctness guarantee: scores from the cache alone equal the model's own forward
// pass (`CtrModel.predict` over the raw history) for random models and histories.
import { CtrModel } from '@vql/model';
import type { CtrBatch } from '@vql/data';
import type { CtrModelConfig } from '@vql/model';
import { createRng, initBackend, tf } from '@vql/runtime';
import { CtrCacheModel } from './cache-model.js';
import type { UserHistory } from './cache-model.js';
import { decodeCache, encodeCache } from './codec.js';
import { CachedScorer, appendEvents, buildUserCache } from './cached-scorer.js';
import { CacheFingerprintMismatchError } from './errors.js';
import { maxAbsDiff } from './testing/fixtures.js';

const NUM_ITEMS = 400;
const CAT_VOCAB = 12;
const itemCategory = (item: number) => 1 + ((item * 7919) % CAT_VOCAB);

function modelConfig(seed: number, interest: CtrModelConfig['interest']): CtrModelConfig {
  return {
    numItems: NUM_ITEMS,
    embeddingDim: 12,
    embeddingInitScale: 0.8, // O(1) keys and queries: code logits matter, not just the kernel
    contextFeatures: [
      { name: 'cat', kind: 'categorical', scope: 'item', vocabSize: CAT_VOCAB },
      { name: 'play', kind: 'numeric', scope: 'event', boundaries: [0.25, 0.5, 0.75] },
    ],
    context: { logitBias: true },
    interest,
    tower: [16],
    seed,
  };
}

function randomHistory(L: number, seed: number, now: number): UserHistory {
  const rng = createRng(seed);
  const items = Int32Array.from({ length: L }, () => 1 + rng.int(NUM_ITEMS));
  // Spread over two years, newest last (like a CtrBatch row), with multi-scale gaps.
  const times = Float64Array.from({ length: L }, () => now - 1 - Math.floor(Math.exp(rng.next() * Math.log(2 * 365 * 86400))));
  times.sort();
  return {
    items,
    times,
    context: { cat: Int32Array.from(items, itemCategory), play: Float32Array.from({ length: L }, () => rng.next()) },
  };
}

/** N candidate rows sharing one user's history: what the model's forward pass sees. */
function batchFor(history: UserHistory, candidates: Int32Array, now: number): CtrBatch {
  const B = candidates.length;
  const L = history.items.length;
  const rep = <T extends Int32Array | Float32Array | Float64Array>(src: T, make: (n: number) => T): T => {
    const out = make(B * L);
    for (let b = 0; b < B; b++) out.set(src, b * L);
    return out;
  };
  return {
    size: B,
    maxLen: L,
    user: new Int32Array(B).fill(1),
    targetItem: candidates,
    targetTime: new Float64Array(B).fill(now),
    label: new Float32Array(B),
    historyItem: rep(history.items, (n) => new Int32Array(n)),
    historyTime: rep(history.times, (n) => new Float64Array(n)),
    historyMask: new Float32Array(B * L).fill(1),
    historyLength: new Int32Array(B).fill(L),
    targetContext: { cat: Int32Array.from(candidates, itemCategory) },
    historyContext: {
      cat: rep(history.context!['cat'] as Int32Array, (n) => new Int32Array(n)),
      play: rep(history.context!['play'] as Float32Array, (n) => new Float32Array(n)),
    },
  };
}

const NOW = 1.75e9;

describe('cached scores equal the model forward pass', () => {
  beforeAll(async () => {
    await initBackend();
  });

  const cases = [
    { name: 'G=3 (6 heads), K=[4,16,64], L=5000', seed: 1, L: 5000, interest: { kind: 'vql', heads: 6, groups: 3, headDim: 6, codebookSizes: [4, 16, 64], quantizer: { init: 'random' } } },
    { name: 'G=2 (4 heads), K=[8,32], L=1200', seed: 2, L: 1200, interest: { kind: 'vql', heads: 4, groups: 2, headDim: 8, codebookSizes: [8, 32], quantizer: { init: 'random' } } },
    { name: 'G=4 (4 heads), K=[16,16,16,16], L=40', seed: 3, L: 40, interest: { kind: 'vql', heads: 4, groups: 4, headDim: 4, codebookSizes: [16, 16, 16, 16], quantizer: { init: 'random' } } },
  ] as const;

  for (const c of cases) {
    it(c.name, () => {
      const model = new CtrModel(modelConfig(c.seed, c.interest as unknown as CtrModelConfig['interest']));
      try {
        const cm = new CtrCacheModel(model);
        expect(cm.layout.kernelRank).toBe(3); // the default kernel: R = 3 decay rates
        const history = randomHistory(c.L, c.seed + 100, NOW);
        const rng = createRng(c.seed + 200);
        const candidates = Int32Array.from({ length: 6 }, () => 1 + rng.int(NUM_ITEMS));
        const expected = model.predict(batchFor(history, candidates, NOW));
        const scorer = new CachedScorer(cm);
        const cache = buildUserCache(cm, history);
        expect(cache.eventCount).toBe(c.L);
        const req = { items: candidates, time: NOW, context: { cat: Int32Array.from(candidates, itemCategory) } };
        const got = scorer.score(cache, req);
        expect(maxAbsDiff(got, expected)).toBeLessThan(1e-5);
        // Through the float32 blob, and built incrementally (two appends, older half last).
        expect(maxAbsDiff(scorer.score(decodeCache(encodeCache(cache)), req), expected)).toBeLessThan(1e-5);
        const half = Math.floor(c.L / 2);
        const slice = (a: number, b: number): UserHistory => ({
          items: history.items.slice(a, b),
          times: history.times.slice(a, b),
          context: { cat: (history.context!['cat'] as Int32Array).slice(a, b), play: (history.context!['play'] as Float32Array).slice(a, b) },
        });
        const incremental = buildUserCache(cm, slice(half, c.L));
        appendEvents(incremental, slice(0, half), cm);
        expect(maxAbsDiff(scorer.score(incremental, req), expected)).toBeLessThan(1e-5);
      } finally {
        model.dispose();
      }
    });
  }

  // Issue 16, case 2: plain query factors β·e^{−λΔ} all underflow once λ_min·Δ > ~745, and the
  // cache scored an empty history where predict's log-sum-exp still gave a proper softmax.
  it('cache == predict at +1 s, +30 d, +10 y and +1000 y after the last event', () => {
    const interest = { kind: 'vql', heads: 4, groups: 2, headDim: 6, codebookSizes: [8, 32], quantizer: { init: 'random' } } as unknown as CtrModelConfig['interest'];
    const model = new CtrModel(modelConfig(11, interest));
    try {
      const history = randomHistory(300, 12, NOW);
      const last = history.times[history.times.length - 1]!;
      const candidates = Int32Array.of(5, 50, 150, 350);
      const YEAR = 365.25 * 86400;
      for (const gap of [1, 30 * 86400, 10 * YEAR, 1000 * YEAR]) {
        const tq = last + gap;
        // The server clock is the request time: a user returning after that long.
        const cm = new CtrCacheModel(model, { timeBounds: { now: () => tq } });
        try {
          const cache = buildUserCache(cm, history);
          const expected = model.predict(batchFor(history, candidates, tq));
          const got = new CachedScorer(cm).score(cache, { items: candidates, time: tq, context: { cat: Int32Array.from(candidates, itemCategory) } });
          // float32 dt in predict spaces epoch-scale gaps by up to ~2 ks at +1000 y: 1e-4.
          expect(maxAbsDiff(got, expected)).toBeLessThan(gap > 100 * YEAR ? 1e-4 : 1e-5);
          // ... and it is not the empty-history score the old factors gave.
          const empty = new CachedScorer(cm).score(undefined, { items: candidates, time: tq, context: { cat: Int32Array.from(candidates, itemCategory) } });
          expect(maxAbsDiff(got, empty)).toBeGreaterThan(1e-3);
        } finally {
          cm.dispose();
        }
      }
    } finally {
      model.dispose();
    }
  });

  // Issue 16, case 3: W_K, W_V and the quantizer used to be read live, so a model that trained on
  // produced caches with the old fingerprint and new codes.
  it('CtrCacheModel is a full snapshot: changing the wrapped model afterwards changes nothing it produces', () => {
    const interest = { kind: 'vql', heads: 4, groups: 2, headDim: 6, codebookSizes: [8, 32], quantizer: { init: 'random' } } as unknown as CtrModelConfig['interest'];
    const model = new CtrModel(modelConfig(13, interest));
    const cm = new CtrCacheModel(model);
    try {
      const history = randomHistory(200, 14, NOW);
      const candidates = Int32Array.of(1, 2, 3);
      const req = { items: candidates, time: NOW, context: { cat: Int32Array.from(candidates, itemCategory) } };
      const fingerprint = model.fingerprint();
      const encoded = cm.encodeEvents(history);
      const before = model.predict(batchFor(history, candidates, NOW));
      // "Train on": every weight of the wrapped model moves.
      tf.tidy(() => {
        const moved: Record<string, tf.Tensor> = {};
        for (const [name, w] of Object.entries(model.getWeights())) moved[name] = tf.add(tf.mul(w, 1.5), 0.01);
        model.setWeights(moved);
      });
      expect(model.fingerprint()).not.toBe(fingerprint);
      expect(cm.fingerprint).toBe(fingerprint);
      const again = cm.encodeEvents(history);
      expect(Array.from(again.codes)).toEqual(Array.from(encoded.codes));
      expect(maxAbsDiff(again.values, encoded.values)).toBe(0);
      expect(maxAbsDiff(again.weights!, encoded.weights!)).toBe(0);
      const scorer = new CachedScorer(cm);
      expect(maxAbsDiff(scorer.score(buildUserCache(cm, history), req), before)).toBeLessThan(1e-5);
      expect(cm.model).not.toBe(model);
      expect(cm.model.fingerprint()).toBe(fingerprint);
    } finally {
      cm.dispose();
      model.dispose();
    }
  });

  it('times are checked at build, append and score (naming the event), and ids make appends idempotent', () => {
    const interest = { kind: 'vql', heads: 2, groups: 1, headDim: 4, codebookSizes: [8], quantizer: { init: 'random' } } as unknown as CtrModelConfig['interest'];
    const model = new CtrModel(modelConfig(15, interest));
    const cm = new CtrCacheModel(model, { timeBounds: { now: () => NOW } });
    try {
      const history = { ...randomHistory(50, 16, NOW), ids: Array.from({ length: 50 }, (_, i) => `ev-${i}`) };
      const cache = buildUserCache(cm, history);
      const one = (t: number, id: string): UserHistory => ({ items: Int32Array.of(7), times: Float64Array.of(t), context: { cat: Int32Array.of(itemCategory(7)), play: Float32Array.of(0.5) }, ids: [id] });
      expect(() => appendEvents(cache, one(NOW * 1000, 'ms'), cm)).toThrow(/history\.times\[0\] \(event 0, id "ms"\) has time 1750000000000 .*looks like milliseconds/);
      expect(() => buildUserCache(cm, one(4.1e9, 'y2100'))).toThrow(/more than 300 s/);
      const req = { items: Int32Array.of(1), time: NOW * 1000, context: { cat: Int32Array.of(itemCategory(1)) } };
      expect(() => new CachedScorer(cm).score(cache, req)).toThrow(/the request \(candidates\.time\) has time 1750000000000 .*nothing was scored\. It looks like milliseconds/);
      const r1 = appendEvents(cache, one(NOW - 5, 'ev-50'), cm);
      const r2 = appendEvents(cache, one(NOW - 5, 'ev-50'), cm);
      expect([r1.applied, r2.applied, r2.duplicates]).toEqual([1, 0, ['ev-50']]);
      expect(cache.eventCount).toBe(51);
      expect(appendEvents(cache, one(NOW - 5, 'ev-3'), cm).duplicates).toEqual(['ev-3']); // applied at build
      expect(() => appendEvents(cache, one(NOW - 4, 'x'), cm, { futureEvents: 'bogus' as never })).toThrow(/options\.futureEvents must be 'reanchor' or 'refuse', got "bogus"/);
      expect(() => appendEvents(cache, one(NOW - 4, 'x'), cm, { futureEvent: 'refuse' } as never)).toThrow(/unknown option "futureEvent"/);
      expect(() => buildUserCache(cm, history, { anchr: NOW } as never)).toThrow(/buildUserCache: options: unknown option "anchr" \(did you mean "anchor"\?\)/);
      expect(() => new CtrCacheModel(model, { ignoreHistorywindow: true } as never)).toThrow(/unknown option "ignoreHistorywindow" \(did you mean "ignoreHistoryWindow"\?\)/);
      expect(cache.eventCount).toBe(51);
      // A cache written before times were checked (here: with no upper bound) is named, with the way out.
      const loose = new CtrCacheModel(model, { timeBounds: { now: () => NOW, maxFutureSkew: Infinity } });
      const legacy = buildUserCache(loose, one(NOW * 1000, 'legacy'));
      loose.dispose();
      expect(() => new CachedScorer(cm).score(legacy, { ...req, time: NOW })).toThrow(/the cache's newest event has time 1750000000000 .*written before event times were checked: rebuild it/);
    } finally {
      cm.dispose();
      model.dispose();
    }
  });

  it('no cache scores as an empty history; a cache of another model is refused', () => {
    const interest = { kind: 'vql', heads: 4, groups: 2, headDim: 4, codebookSizes: [4, 8], quantizer: { init: 'random' } } as unknown as CtrModelConfig['interest'];
    const model = new CtrModel(modelConfig(5, interest));
    const other = new CtrModel(modelConfig(6, interest));
    try {
      const cm = new CtrCacheModel(model);
      const candidates = Int32Array.of(3, 9, 27);
      const empty: UserHistory = { items: new Int32Array(0), times: new Float64Array(0), context: { cat: new Int32Array(0), play: new Float32Array(0) } };
      const batch = { ...batchFor(empty, candidates, NOW), historyLength: new Int32Array(3) };
      const expected = model.predict(batch);
      const scorer = new CachedScorer(cm);
      const req = { items: candidates, time: NOW, context: { cat: Int32Array.from(candidates, itemCategory) } };
      expect(maxAbsDiff(scorer.score(undefined, req), expected)).toBeLessThan(1e-5);
      const foreign = buildUserCache(new CtrCacheModel(other), randomHistory(20, 1, NOW));
      expect(() => scorer.score(foreign, req)).toThrow(CacheFingerprintMismatchError);
      expect(() => scorer.score(undefined, { ...req, items: Int32Array.of(0) })).toThrow(/candidates: items\[0\] = 0 is outside 1\.\.400/);
      expect(() => buildUserCache(cm, { ...empty, items: Int32Array.of(5), times: Float64Array.of(NOW) })).toThrow(/context\.cat must have 1 values/);
    } finally {
      model.dispose();
      other.dispose();
    }
  });

  it('refuses models the cache cannot reproduce, naming the option', () => {
    const full = new CtrModel({ ...modelConfig(7, { kind: 'full-attention', heads: 2 }) });
    const windowed = new CtrModel({ ...modelConfig(8, { kind: 'vql', heads: 2, groups: 1, codebookSizes: [8] }), historyWindow: 50 });
    try {
      expect(() => new CtrCacheModel(full)).toThrow(/must be VqlAttention/);
      expect(() => new CtrCacheModel(windowed)).toThrow(/historyWindow = 50/);
      expect(new CtrCacheModel(windowed, { ignoreHistoryWindow: true }).layout.headsPerGroup).toEqual([2]);
    } finally {
      full.dispose();
      windowed.dispose();
    }
  });
});
