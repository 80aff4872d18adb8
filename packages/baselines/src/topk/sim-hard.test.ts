import { initBackend, tf } from '@vql/runtime';
import { buildContext, handBatch, inputsFor, randomTable } from '../testing/fixtures.js';
import { gradNorms } from '../testing/grad.js';
import { SimHard } from './sim-hard.js';

beforeAll(async () => {
  await initBackend();
});

const N = 12;
const D = 4;
// Items 1..11 cycle through categories 1, 2, 3; item 12 has no category (0).
const itemCategory = Array.from({ length: N + 1 }, (_, i) => (i === 0 || i === 12 ? 0 : ((i - 1) % 3) + 1));
const batch = handBatch({
  histories: [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1, 4, 7], []],
  targets: [4, 12, 5],
  itemCategory,
});

describe('SimHard', () => {
  it('keeps the newest k behaviours of the target category; missing category and empty history pick nothing', () => {
    const m = new SimHard({ k: 2 }, buildContext(D, 10, true));
    const table = tf.tensor2d(randomTable(1, N, D), [N + 1, D]);
    expect(m.retrieve(inputsFor(batch, table, N))).toEqual([[6, 9], [], []]);
    const all = new SimHard({ k: 100 }, buildContext(D, 10, true));
    expect(all.retrieve(inputsFor(batch, table, N))).toEqual([[0, 3, 6, 9], [], []]);
    const out = tf.tidy(() => m.forward(inputsFor(batch, table, N)).interest.arraySync() as number[][]);
    expect(out).toHaveLength(3);
    expect(out[0]!.some((x) => x !== 0)).toBe(true);
    expect(out[1]!.every((x) => x === 0)).toBe(true); // nothing retrieved → zeros
    expect(out[2]!.every((x) => x === 0)).toBe(true);
    tf.dispose(table);
    m.dispose();
    all.dispose();
  });

  it('with a multi-valued category (genres), keeps the newest behaviours sharing any of the target\'s', () => {
    const ctx = { ...buildContext(D, 10, true), contextFeatures: [{ name: 'genres', kind: 'multi' as const, scope: 'item' as const, vocabSize: 5, width: 2 }] };
    const m = new SimHard({ k: 2, categoryFeature: 'genres' }, ctx);
    const table = tf.tensor2d(randomTable(1, N, D), [N + 1, D]);
    const base = inputsFor(batch, table, N);
    // Row 0 has 10 behaviours; the target has genres {1, 3}. Behaviour genres, oldest → newest:
    const rows = [[2, 0], [1, 4], [4, 0], [3, 2], [0, 0], [2, 4], [4, 3], [2, 0], [0, 0], [5, 2]];
    const L = base.maxLen;
    const history = new Int32Array(3 * L * 2);
    rows.forEach((g, l) => history.set(g, l * 2));
    const target = Int32Array.of(1, 3, 0, 0, 2, 0);
    const inputs = { ...base, host: { ...base.host, targetContext: { genres: target }, historyContext: { genres: history } } };
    expect(m.retrieve(inputs)).toEqual([[3, 6], [], []]);
    const all = new SimHard({ k: 100, categoryFeature: 'genres' }, ctx);
    expect(all.retrieve(inputs)).toEqual([[1, 3, 6], [], []]);
    tf.dispose(table);
    m.dispose();
    all.dispose();
  });

  it('gradients reach W_Q, W_K, W_V and the embeddings', () => {
    const m = new SimHard({ k: 3, heads: 2, headDim: 2 }, buildContext(D, 10, true));
    const g = gradNorms(m, batch, randomTable(2, N, D), N, D);
    for (const n of g.module) expect(n).toBeGreaterThan(0);
    expect(g.table).toBeGreaterThan(0);
    m.dispose();
  });

  it('refuses a bad k and a category feature the dataset lacks or that is not item-scope categorical or multi-valued', () => {
    expect(() => new SimHard({ k: 0 }, buildContext(D, 10, true))).toThrow(/SimHard: k must be ≥ 1, got 0/);
    expect(() => new SimHard({ k: 2.5 }, buildContext(D, 10, true))).toThrow(/SimHard: k must be an integer/);
    expect(() => new SimHard({ categoryFeature: 'genre' }, buildContext(D, 10, true))).toThrow(/categoryFeature "genre" is not a context feature.*category/);
    const ctx = { ...buildContext(D, 10, false), contextFeatures: [{ name: 'category', kind: 'numeric' as const, scope: 'event' as const, boundaries: [1] }] };
    expect(() => new SimHard({}, ctx)).toThrow(/must be an item-scope categorical or multi-valued feature/);
    expect(() => new SimHard({ kk: 3 } as never, buildContext(D, 10, true))).toThrow(/unknown option "kk"/);
  });
});
