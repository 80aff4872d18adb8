import { initBackend, tf } from '@vql/runtime';
import type { CtrBatchLike, InterestModule } from '@vql/model';
import { buildContext, inputsFor, randomBatch, randomTable, rowsOf } from '../test-fixtures.js';
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
const table = randomTable(17, N, D);
const batch = randomBatch(23, 6, L, N);

function moduleInterest(m: InterestModule, b: CtrBatchLike): Float32Array {
  const t = tf.tensor2d(table, [N + 1, D]);
  const out = tf.tidy(() => m.forward(inputsFor(b, t, N)).interest.dataSync() as Float32Array);
  t.dispose();
  return out;
}

function history(b: number): Float32Array {
  return rowsOf(table, D, batch.historyItem.subarray(b * L, b * L + batch.historyLength[b]!));
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-4);
}

describe('online scorers equal the module forward', () => {
  it.each([3, 100])('TwinScorer (k = %i)', (k) => {
    const m = new Twin({ k, heads: 2, headDim: 3 }, buildContext(D, L, false));
    const expected = moduleInterest(m, batch);
    const scorer = TwinScorer.fromModule(m);
    for (let b = 0; b < batch.size; b++) {
      const state = scorer.buildState(history(b));
      expectClose(scorer.score(state, rowsOf(table, D, [batch.targetItem[b]!])), expected.subarray(b * 6, (b + 1) * 6));
    }
    expect(scorer.stateBytesPerUser(1000)).toBe(1000 * (2 * 6 + 1) * 4);
    m.dispose();
  });

  it('EtaScorer', () => {
    const m = new Eta({ k: 5, hashBits: 40, heads: 1, headDim: 4 }, buildContext(D, L, false));
    const expected = moduleInterest(m, batch);
    const scorer = EtaScorer.fromModule(m);
    for (let b = 0; b < batch.size; b++) {
      const state = scorer.buildState(history(b));
      expectClose(scorer.score(state, rowsOf(table, D, [batch.targetItem[b]!])), expected.subarray(b * 4, (b + 1) * 4));
    }
    expect(scorer.stateBytesPerUser(10)).toBe(10 * (4 * 2 + 4 * (2 * 4 + 1)));
    m.dispose();
  });

  it('SdimScorer, built at once or appended behaviour by behaviour; state size independent of L', () => {
    const m = new Sdim({ rounds: 6, hashBits: 2, outputDim: 5 }, buildContext(D, L, false));
    const expected = moduleInterest(m, batch);
    const scorer = SdimScorer.fromModule(m);
    for (let b = 0; b < batch.size; b++) {
      const target = rowsOf(table, D, [batch.targetItem[b]!]);
      const built = scorer.buildState(history(b));
      expectClose(scorer.score(built, target), expected.subarray(b * 5, (b + 1) * 5));
      const appended = scorer.emptyState();
      const h = history(b);
      for (let i = 0; i < h.length / D; i++) scorer.append(appended, h.subarray(i * D, (i + 1) * D));
      expectClose(scorer.score(appended, target), scorer.score(built, target));
      expect(appended.length).toBe(batch.historyLength[b]);
    }
    expect(scorer.stateBytesPerUser(100)).toBe(6 * 4 * 6 * 4);
    expect(scorer.stateBytesPerUser(1e6)).toBe(scorer.stateBytesPerUser(100));
    m.dispose();
  });

  it('scores many candidates in one call, each as if alone', () => {
    const m = new Twin({ k: 4 }, buildContext(D, L, false));
    const scorer = TwinScorer.fromModule(m);
    const state = scorer.buildState(history(0));
    const many = scorer.score(state, rowsOf(table, D, [1, 2, 3]));
    expectClose(many.subarray(m.outputDim, 2 * m.outputDim), scorer.score(state, rowsOf(table, D, [2])));
    m.dispose();
  });

  it('refuses mis-shaped and non-finite inputs naming the argument', () => {
    const m = new Twin({ k: 4 }, buildContext(D, L, false));
    const scorer = TwinScorer.fromModule(m);
    expect(() => scorer.buildState(new Float32Array(D + 1))).toThrow(/TwinScorer.buildState: historyEmbeddings has 9 values, not a multiple of the embedding width 8/);
    const state = scorer.buildState(history(0));
    expect(() => scorer.score(state, Float32Array.of(0, 0, 0, 0, 0, 0, 0, NaN))).toThrow(/targetEmbeddings\[7\] is NaN/);
    expect(() => new TwinScorer({ ...scorer.options, k: 0 })).toThrow(/k must be a positive integer/);
    m.dispose();
  });
});
