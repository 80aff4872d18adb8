import { initBackend, tf } from '@vql/runtime';
import type { InterestModule } from '@vql/model';
import type { CtrBatch } from '@vql/data';
import type { KernelConfig } from '@vql/temporal-kernel';
import { buildContext, inputsFor, randomBatch, randomTable, rowsOf } from '../testing/fixtures.js';
import { Eta } from '../topk/eta.js';
import { Sdim } from '../topk/sdim.js';
import { Twin } from '../topk/twin.js';
import { EtaScorer } from './eta-scorer.js';
import { SdimScorer } from './sdim-scorer.js';
import { TwinScorer } from './twin-scorer.js';

beforeAll(async () => {
  await initBackend();
});

const N = 60;
const D = 8;
const L = 40;
const KERNEL: KernelConfig = { type: 'expDecayMixture', timeUnit: 'seconds', numRates: 3, minTimescale: 3600, maxTimescale: 365 * 86400 };
const table = randomTable(17, N, D);
/** "Fused" rows that differ from the item rows, as with context features (ETA / SDIM must hash the item rows). */
const fusedTable = table.map((x, i) => (i < D ? 0 : x + 0.7 * Math.sin(i)));
const plainBatch = randomBatch(23, 6, L, N);
/** Times from minutes to a year before the target, oldest first. */
const batch: CtrBatch = {
  ...plainBatch,
  historyTime: plainBatch.historyTime.map((_, i) => {
    const b = Math.floor(i / L);
    const n = plainBatch.historyLength[b]!;
    const l = i % L;
    return l < n ? plainBatch.targetTime[b]! - 120 * Math.pow(1.35, n - l) : 0;
  }),
};

function moduleInterest(m: InterestModule, b: CtrBatch, fused = false): Float32Array {
  const t = tf.tensor2d(table, [N + 1, D]);
  const f = tf.tensor2d(fusedTable, [N + 1, D]);
  const out = tf.tidy(() => m.forward(inputsFor(b, t, N, false, fused ? f : t)).interest.dataSync() as Float32Array);
  tf.dispose([t, f]);
  return out;
}

const rowItems = (b: number): Int32Array => batch.historyItem.subarray(b * L, b * L + batch.historyLength[b]!);
const history = (b: number, fused = false) => ({
  embeddings: rowsOf(fused ? fusedTable : table, D, rowItems(b)),
  itemEmbeddings: rowsOf(table, D, rowItems(b)),
  times: batch.historyTime.slice(b * L, b * L + batch.historyLength[b]!),
});
const request = (b: number, fused = false) => ({
  embeddings: rowsOf(fused ? fusedTable : table, D, [batch.targetItem[b]!]),
  itemEmbeddings: rowsOf(table, D, [batch.targetItem[b]!]),
  time: batch.targetTime[b]!,
});

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-4);
}

describe('online scorers equal the module forward', () => {
  it.each([
    [3, null],
    [100, null],
    [5, KERNEL],
  ])('TwinScorer (k = %i, kernel %p): per-head top-k', (k, kernel) => {
    const m = new Twin({ k, heads: 2, headDim: 3, kernel }, buildContext(D, L, false));
    const expected = moduleInterest(m, batch);
    const scorer = TwinScorer.fromModule(m);
    for (let b = 0; b < batch.size; b++) {
      const state = scorer.buildState(history(b));
      expectClose(scorer.score(state, request(b)), expected.subarray(b * 6, (b + 1) * 6));
    }
    expect(scorer.stateBytesPerUser(1000)).toBe(1000 * ((2 * 6 + 1) * 4 + (kernel === null ? 0 : 8)));
    m.dispose();
  });

  it('TwinScorer: the per-head picks matter (heads disagree on this data, and the scorer follows them)', () => {
    const m = new Twin({ k: 3, heads: 2, headDim: 3 }, buildContext(D, L, false));
    const t = tf.tensor2d(table, [N + 1, D]);
    const sets = tf.tidy(() => m.retrieveSets(inputsFor(batch, t, N)));
    expect(sets.some(([h0, h1]) => JSON.stringify(h0) !== JSON.stringify(h1))).toBe(true);
    t.dispose();
    m.dispose();
  });

  it.each([null, KERNEL])('EtaScorer (kernel %p): hashes item embeddings, attends over fused ones', (kernel) => {
    const m = new Eta({ k: 5, hashBits: 40, heads: 1, headDim: 4, kernel }, buildContext(D, L, false));
    const expected = moduleInterest(m, batch, true);
    const scorer = EtaScorer.fromModule(m);
    for (let b = 0; b < batch.size; b++) {
      const state = scorer.buildState(history(b, true));
      expectClose(scorer.score(state, request(b, true)), expected.subarray(b * 4, (b + 1) * 4));
    }
    expect(scorer.stateBytesPerUser(10)).toBe(10 * (4 * 2 + 4 * (2 * 4 + 1) + (kernel === null ? 0 : 8)));
    expect(() => scorer.buildState({ embeddings: history(0, true).embeddings })).toThrow(/EtaScorer.buildState: itemEmbeddings is required/);
    m.dispose();
  });

  it.each([
    ['l2', null],
    ['l2', KERNEL],
    ['count', KERNEL],
  ] as const)('SdimScorer (%s, kernel %p), built at once or appended behaviour by behaviour; state size independent of L', (normalize, kernel) => {
    const m = new Sdim({ rounds: 6, hashBits: 2, outputDim: 5, normalize, kernel }, buildContext(D, L, false));
    const expected = moduleInterest(m, batch, true);
    const scorer = SdimScorer.fromModule(m);
    for (let b = 0; b < batch.size; b++) {
      const built = scorer.buildState(history(b, true));
      expectClose(scorer.score(built, request(b, true)), expected.subarray(b * 5, (b + 1) * 5));
      // One behaviour at a time, oldest first: with a kernel every append moves the anchor forward.
      const appended = scorer.emptyState();
      const h = history(b, true);
      for (let i = 0; i < h.times.length; i++) {
        scorer.append(appended, { embeddings: h.embeddings.subarray(i * D, (i + 1) * D), itemEmbeddings: h.itemEmbeddings.subarray(i * D, (i + 1) * D), times: h.times.subarray(i, i + 1) });
      }
      expectClose(scorer.score(appended, request(b, true)), scorer.score(built, request(b, true)));
      expect(appended.length).toBe(batch.historyLength[b]);
    }
    const cell = kernel === null ? 5 + 1 : 3 * (5 + 1) + 1;
    expect(scorer.stateBytesPerUser(100)).toBe(6 * 4 * cell * 4);
    expect(scorer.stateBytesPerUser(1e6)).toBe(scorer.stateBytesPerUser(100));
    m.dispose();
  });

  it('a kernel needs the times and the request time; a request before the history is refused', () => {
    const m = new Twin({ k: 4, kernel: KERNEL }, buildContext(D, L, false));
    const scorer = TwinScorer.fromModule(m);
    expect(() => scorer.buildState({ embeddings: history(0).embeddings })).toThrow(/TwinScorer.buildState: times are required \(the module has a temporal kernel\)/);
    const state = scorer.buildState(history(0));
    expect(() => scorer.score(state, { embeddings: request(0).embeddings })).toThrow(/TwinScorer.score: a finite request time is required/);
    expect(() => scorer.score(state, { ...request(0), time: 0 })).toThrow(/TwinScorer.score: history time \[\d+\] = .* is after the request time 0/);
    const s = new Sdim({ rounds: 2, hashBits: 1, kernel: KERNEL }, buildContext(D, L, false));
    const sdim = SdimScorer.fromModule(s);
    expect(() => sdim.score(sdim.buildState(history(0)), { ...request(0), time: 0 })).toThrow(/SdimScorer.score: the request time 0 is before the user's newest behaviour/);
    m.dispose();
    s.dispose();
  });

  it('scores many candidates in one call, each as if alone', () => {
    const m = new Twin({ k: 4 }, buildContext(D, L, false));
    const scorer = TwinScorer.fromModule(m);
    const state = scorer.buildState(history(0));
    const many = scorer.score(state, { embeddings: rowsOf(table, D, [1, 2, 3]) });
    expectClose(many.subarray(m.outputDim, 2 * m.outputDim), scorer.score(state, { embeddings: rowsOf(table, D, [2]) }));
    m.dispose();
  });

  it('refuses mis-shaped and non-finite inputs naming the argument', () => {
    const m = new Twin({ k: 4 }, buildContext(D, L, false));
    const scorer = TwinScorer.fromModule(m);
    expect(() => scorer.buildState({ embeddings: new Float32Array(D + 1) })).toThrow(/TwinScorer.buildState: embeddings has 9 values, not a multiple of the embedding width 8/);
    const state = scorer.buildState(history(0));
    expect(() => scorer.score(state, { embeddings: Float32Array.of(0, 0, 0, 0, 0, 0, 0, NaN) })).toThrow(/embeddings\[7\] is NaN/);
    expect(() => scorer.buildState({ embeddings: history(0).embeddings, bias: new Float32Array(2) })).toThrow(/TwinScorer.buildState: bias has 2 values, expected 40/);
    expect(() => new TwinScorer({ ...scorer.options, k: 0 })).toThrow(/k must be a positive integer/);
    expect(() => new TwinScorer({ ...scorer.options, topK: 4 } as never)).toThrow(/TwinScorer: options: unknown option "topK"; allowed: k, kernel, inputDim/);
    expect(() => new TwinScorer({ ...scorer.options, kernal: null } as never)).toThrow(expect.objectContaining({ code: 'UNKNOWN_OPTION' }));
    m.dispose();
  });
});
