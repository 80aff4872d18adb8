// The main correctness guarantee: scores from the cache alone equal the model's own forward
// pass (`CtrModel.predict` over the raw history) for random models and histories.
import { CtrModel } from '@vql/model';
import type { CtrBatchLike, CtrModelConfig } from '@vql/model';
import { createRng, initBackend } from '@vql/runtime';
import { CtrCacheModel } from './cache-model.js';
import type { UserHistory } from './cache-model.js';
import { decodeCache, encodeCache } from './codec.js';
import { CachedScorer, appendEvents, buildUserCache } from './cached-scorer.js';
import { CacheFingerprintMismatchError } from './errors.js';
import { maxAbsDiff } from './test-utils.js';

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
function batchFor(history: UserHistory, candidates: Int32Array, now: number): CtrBatchLike {
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
