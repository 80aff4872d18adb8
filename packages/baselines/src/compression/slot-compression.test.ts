import type { CtrBatch } from '@vql/data';
import { initBackend, tf } from '@vql/runtime';
import { buildContext, handBatch, inputsFor, randomTable } from '../testing/fixtures.js';
import { gradNorms } from '../testing/grad.js';
import { SlotCompression } from './slot-compression.js';

beforeAll(async () => {
  await initBackend();
});

const N = 20;
const D = 4;
const table = randomTable(9, N, D);

function run(m: SlotCompression, batch: CtrBatch): number[][] {
  const t = tf.tensor2d(table, [N + 1, D]);
  const out = tf.tidy(() => m.forward(inputsFor(batch, t, N)).interest.arraySync() as number[][]);
  t.dispose();
  return out;
}

describe('SlotCompression', () => {
  it('compresses by recency rank: behaviours older than maxLen are dropped, users without history get zeros', () => {
    const m = new SlotCompression({ slots: 3, maxLen: 4 }, buildContext(D, 4, false));
    const base = run(m, handBatch({ histories: [[1, 2, 3, 4, 5, 6], []], targets: [7, 7] }));
    const olderChanged = run(m, handBatch({ histories: [[9, 8, 3, 4, 5, 6], []], targets: [7, 7] }));
    const newerChanged = run(m, handBatch({ histories: [[1, 2, 3, 4, 5, 9], []], targets: [7, 7] }));
    expect(olderChanged[0]).toEqual(base[0]);
    expect(newerChanged[0]).not.toEqual(base[0]);
    expect(base[1]!.every((x) => x === 0)).toBe(true);
    m.dispose();
  });

  it('ignores time unless useTime is set', () => {
    const early = handBatch({ histories: [[1, 2, 3]], targets: [4] });
    const late = { ...early, targetTime: Float64Array.of(5e7) };
    const plain = new SlotCompression({ slots: 2 }, buildContext(D, 3, false));
    expect(run(plain, late)).toEqual(run(plain, early));
    const timed = new SlotCompression({ slots: 2, useTime: true }, buildContext(D, 3, false));
    expect(run(timed, late)).not.toEqual(run(timed, early));
    plain.dispose();
    timed.dispose();
  });

  it('gradients reach every variable, the time tables included', () => {
    const m = new SlotCompression({ slots: 3, useTime: true }, buildContext(D, 6, false));
    const g = gradNorms(m, handBatch({ histories: [[1, 2, 3, 4, 5, 6], [7, 8]], targets: [9, 10] }), table, N, D);
    expect(g.module).toHaveLength(7);
    for (const n of g.module) expect(n).toBeGreaterThan(0);
    expect(g.table).toBeGreaterThan(0);
    m.dispose();
  });

  it('refuses bad options', () => {
    expect(() => new SlotCompression({ slots: 0 }, buildContext(D, 6, false))).toThrow(/SlotCompression: slots must be in 1\.\.4096, got 0/);
    expect(() => new SlotCompression({ useTime: 'yes' as never }, buildContext(D, 6, false))).toThrow(/useTime must be a boolean/);
  });
});
