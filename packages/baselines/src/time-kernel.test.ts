import { initBackend, tf } from '@vql/runtime';
import { createInterestModule } from '@vql/model';
import type { CtrBatch } from '@vql/data';
import type { InterestModule, InterestModuleConfig } from '@vql/model';
import { createKernel } from '@vql/temporal-kernel';
import type { KernelConfig } from '@vql/temporal-kernel';
import { registerBaselines } from './register.js';
import { buildContext, handBatch, inputsFor, randomTable } from './testing/fixtures.js';
import { gradNorms } from './testing/grad.js';
import { Twin } from './topk/twin.js';

beforeAll(async () => {
  registerBaselines();
  await initBackend();
});

const KERNEL: KernelConfig = { type: 'expDecayMixture', timeUnit: 'seconds', numRates: 2, minTimescale: 3600, maxTimescale: 30 * 86400 };
const N = 12;
const D = 4;
const table = randomTable(31, N, D);
const categories = Array.from({ length: N + 1 }, (_, i) => (i === 0 ? 0 : 1 + (i % 2)));
const hourly = handBatch({ histories: [[1, 2, 3, 4, 5, 6, 7, 8], [9, 3]], targets: [10, 11], itemCategory: categories });
/** Same items, one a day instead of one an hour: only dt changes. */
const daily: CtrBatch = { ...hourly, historyTime: hourly.historyTime.map((t) => (t === 0 ? 0 : 1e6 - (1e6 - t) * 24)) };

function interest(m: InterestModule, batch: CtrBatch): number[][] {
  const t = tf.tensor2d(table, [N + 1, D]);
  const out = tf.tidy(() => m.forward(inputsFor(batch, t, N)).interest.arraySync() as number[][]);
  t.dispose();
  return out;
}

const maxDiff = (a: number[][], b: number[][]): number => Math.max(...a.flatMap((r, i) => r.map((x, j) => Math.abs(x - b[i]![j]!))));

const KINDS: InterestModuleConfig[] = [
  { kind: 'sim-hard', k: 4 },
  { kind: 'sim-soft', k: 4, retrievalDim: 4 },
  { kind: 'eta', k: 4, hashBits: 16 },
  { kind: 'twin', k: 4 },
  { kind: 'sdim', rounds: 4, hashBits: 1, normalize: 'count' },
];

describe('the temporal kernel in the baselines', () => {
  it.each(KINDS)('$kind: the output follows dt with a kernel, ignores it without; gradients reach the kernel; weights round-trip', (config) => {
    const ctx = buildContext(D, 8, true);
    const plain = createInterestModule(config, ctx);
    expect(plain.config['kernel']).toBeNull();
    expect(maxDiff(interest(plain, hourly), interest(plain, daily))).toBe(0);
    const timed = createInterestModule({ ...config, kernel: KERNEL }, ctx);
    expect(timed.config['kernel']).toEqual(KERNEL);
    expect(maxDiff(interest(timed, hourly), interest(timed, daily))).toBeGreaterThan(1e-4);
    const names = Object.keys(timed.getWeights()).filter((k) => k.startsWith('kernel/')).sort();
    expect(names).toEqual(['kernel/logBeta', 'kernel/logRate']);
    const g = gradNorms(timed, hourly, table, N, D);
    expect(g.module.slice(-2).every((n) => n > 0)).toBe(true); // the kernel's two variables come last
    // A rebuilt module with the saved weights gives the same output (kernel restored too).
    const rebuilt = createInterestModule(timed.config, { ...ctx, seed: 99 });
    rebuilt.setWeights(timed.getWeights());
    expect(maxDiff(interest(rebuilt, daily), interest(timed, daily))).toBeLessThan(1e-6);
    for (const m of [plain, timed, rebuilt]) m.dispose();
  });

  it('adds log κ(dt) to the attention logits (one head, k ≥ L: full attention with the kernel)', () => {
    const m = new Twin({ k: 50, heads: 1, headDim: D, kernel: KERNEL }, buildContext(D, 8, false));
    const eye = tf.eye(D);
    m.setWeights({ ...m.getWeights(), wq: eye, wk: eye, wv: eye });
    const out = interest(m, daily)[0]!;
    const kernel = createKernel(KERNEL);
    const items = [1, 2, 3, 4, 5, 6, 7, 8];
    const e = (i: number) => Array.from(table.subarray(i * D, (i + 1) * D));
    const z = items.map((it, l) => e(it).reduce((s, x, c) => s + x * e(10)[c]!, 0) / Math.sqrt(D) + Math.log(kernel.evaluate((items.length - l) * 86400)));
    const w = z.map((x) => Math.exp(x - Math.max(...z)));
    const sum = w.reduce((p, q) => p + q, 0);
    for (let c = 0; c < D; c++) expect(out[c]).toBeCloseTo(items.reduce((s, it, j) => s + (w[j]! / sum) * e(it)[c]!, 0), 4);
    kernel.dispose();
    eye.dispose();
    m.dispose();
  });

  it('TWIN ranks by the time-aware logit: a fast-decaying kernel turns its picks towards the newest', () => {
    const fast: KernelConfig = { type: 'expDecayMixture', timeUnit: 'seconds', numRates: 1, minTimescale: 3600, maxTimescale: 3600 };
    const plain = new Twin({ k: 2, heads: 1, headDim: D }, buildContext(D, 8, false));
    const timed = new Twin({ k: 2, heads: 1, headDim: D, kernel: fast }, buildContext(D, 8, false));
    const t = tf.tensor2d(table, [N + 1, D]);
    // One behaviour a day under e^{−dt/1h}: each older one loses 24 logits.
    expect(tf.tidy(() => timed.retrieve(inputsFor(daily, t, N)))[0]).toEqual([6, 7]);
    expect(tf.tidy(() => plain.retrieve(inputsFor(daily, t, N)))[0]).not.toEqual([6, 7]);
    t.dispose();
    plain.dispose();
    timed.dispose();
  });

  it('refuses a kernel that is not a config object or not in seconds', () => {
    expect(() => new Twin({ kernel: 'exp' as never }, buildContext(D, 8, false))).toThrow(/Twin: kernel must be a kernel config object or null, got "exp"/);
    expect(() => new Twin({ kernel: { ...KERNEL, timeUnit: 'milliseconds' } }, buildContext(D, 8, false))).toThrow(/Twin: kernel.timeUnit must be "seconds"/);
    expect(() => createInterestModule({ kind: 'sdim', kernel: { type: 'nope' } as never }, buildContext(D, 8, false))).toThrow(/Sdim: kernel/);
  });
});
