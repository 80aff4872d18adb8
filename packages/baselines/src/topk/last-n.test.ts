import { initBackend, tf } from '@vql/runtime';
import { buildContext, handBatch, inputsFor, randomTable } from '../test-fixtures.js';
import { gradNorms } from '../test-grad.js';
import { LastN } from './last-n.js';

beforeAll(async () => {
  await initBackend();
});

describe('LastN', () => {
  it('attends over the newest n behaviours only; n > L takes all', () => {
    const batch = handBatch({ histories: [[1, 2, 3, 4, 5], [3], []], targets: [1, 2, 3] });
    const t = tf.tensor2d(randomTable(1, 5, 4), [6, 4]);
    const m = new LastN({ n: 2 }, buildContext(4, 5, false));
    expect(m.retrieve(inputsFor(batch, t, 5))).toEqual([[3, 4], [0], []]);
    expect(new LastN({ n: 9 }, buildContext(4, 5, false)).retrieve(inputsFor(batch, t, 5))[0]).toEqual([0, 1, 2, 3, 4]);
    expect(m.config).toEqual({ kind: 'last-n', n: 2, heads: 2, headDim: 2, useContext: true, kernel: null });
    const g = gradNorms(m, batch, randomTable(2, 5, 4), 5, 4);
    for (const n of g.module) expect(n).toBeGreaterThan(0);
    expect(() => new LastN({ n: 0 }, buildContext(4, 5, false))).toThrow(/LastN: n must be ≥ 1, got 0/);
    t.dispose();
    m.dispose();
  });
});
