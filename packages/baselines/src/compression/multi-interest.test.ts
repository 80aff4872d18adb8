import type { CtrBatch } from '@vql/data';
import { initBackend, tf } from '@vql/runtime';
import { buildContext, handBatch, inputsFor, randomTable } from '../testing/fixtures.js';
import { gradNorms } from '../testing/grad.js';
import { MultiInterest } from './multi-interest.js';

beforeAll(async () => {
  await initBackend();
});

const N = 20;
const D = 4;
const table = randomTable(13, N, D);

function run(m: MultiInterest, batch: CtrBatch): number[][] {
  const t = tf.tensor2d(table, [N + 1, D]);
  const out = tf.tidy(() => m.forward(inputsFor(batch, t, N)).interest.arraySync() as number[][]);
  t.dispose();
  return out;
}

describe('MultiInterest', () => {
  it('pools without order or time (a set function of the history) unless useTime is set', () => {
    const m = new MultiInterest({ interests: 3 }, buildContext(D, 5, false));
    const a = run(m, handBatch({ histories: [[1, 2, 3, 4, 5], []], targets: [6, 6] }));
    const b = run(m, handBatch({ histories: [[5, 3, 1, 4, 2], []], targets: [6, 6] }));
    a[0]!.forEach((x, i) => expect(b[0]![i]).toBeCloseTo(x, 5));
    expect(a[1]!.every((x) => x === 0)).toBe(true);
    const timed = new MultiInterest({ interests: 3, useTime: true }, buildContext(D, 5, false));
    const c = run(timed, handBatch({ histories: [[1, 2, 3, 4, 5]], targets: [6] }));
    const d = run(timed, handBatch({ histories: [[5, 3, 1, 4, 2]], targets: [6] }));
    expect(c[0]!.some((x, i) => Math.abs(x - d[0]![i]!) > 1e-6)).toBe(true);
    m.dispose();
    timed.dispose();
  });

  it('gradients reach every variable and the embeddings', () => {
    const m = new MultiInterest({ interests: 2, attentionDim: 8, useTime: true }, buildContext(D, 6, false));
    const g = gradNorms(m, handBatch({ histories: [[1, 2, 3, 4, 5, 6], [7]], targets: [9, 10] }), table, N, D);
    expect(g.module).toHaveLength(6);
    for (const n of g.module) expect(n).toBeGreaterThan(0);
    expect(g.table).toBeGreaterThan(0);
    m.dispose();
  });

  it('refuses bad options', () => {
    expect(() => new MultiInterest({ interests: 0 }, buildContext(D, 6, false))).toThrow(/MultiInterest: interests must be in 1\.\.1024, got 0/);
    expect(() => new MultiInterest({ slots: 4 } as never, buildContext(D, 6, false))).toThrow(/unknown option "slots"/);
  });
});
