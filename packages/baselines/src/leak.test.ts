import { initBackend, tf, type Tensor } from '@vql/runtime';
import { assertNoTensorLeak } from '@vql/runtime/testing';
import { createInterestModule } from '@vql/model';
import type { InterestModuleConfig } from '@vql/model';
import { registerBaselines } from './register.js';
import { buildContext, inputsFor, randomBatch, randomTable } from './testing/fixtures.js';

beforeAll(async () => {
  registerBaselines();
  await initBackend();
});

const N = 30;
const D = 4;
const L = 12;
const categories = Array.from({ length: N + 1 }, (_, i) => (i === 0 ? 0 : 1 + (i % 3)));

describe('no tensor leaks in forward + backward', () => {
  it.each<InterestModuleConfig>([
    { kind: 'sim-hard', k: 3 },
    { kind: 'sim-soft', k: 3 },
    { kind: 'eta', k: 3, hashBits: 16 },
    { kind: 'twin', k: 3 },
    { kind: 'twin', k: 3, kernel: { type: 'expDecayMixture', timeUnit: 'seconds', numRates: 2, minTimescale: 3600, maxTimescale: 3.2e7 } },
    { kind: 'sim-soft', k: 3, kernel: { type: 'expDecayMixture', timeUnit: 'seconds', numRates: 2, minTimescale: 3600, maxTimescale: 3.2e7 } },
    { kind: 'sdim', rounds: 4, hashBits: 2, normalize: 'count', kernel: { type: 'expDecayMixture', timeUnit: 'seconds', numRates: 2, minTimescale: 3600, maxTimescale: 3.2e7 } },
    { kind: 'sdim', rounds: 4, hashBits: 2 },
    { kind: 'slot-compression', slots: 3, useTime: true },
    { kind: 'multi-interest', interests: 2, useTime: true },
  ])('$kind', async (config) => {
    const module = createInterestModule(config, buildContext(D, L, true));
    const table = tf.variable(tf.tensor2d(randomTable(1, N, D), [N + 1, D]));
    const batch = randomBatch(5, 4, L, N, categories);
    const opt = tf.train.sgd(0.01);
    await assertNoTensorLeak(
      () => {
        opt.minimize(() => {
          const out = module.forward(inputsFor(batch, table, N, true));
          let loss: Tensor = tf.mean(tf.square(out.interest));
          if (out.auxLoss !== undefined) loss = tf.add(loss, out.auxLoss);
          return loss as tf.Scalar;
        });
      },
      { label: `${config.kind} training step` },
    );
    opt.dispose();
    table.dispose();
    module.dispose();
  });
});

describe('no tensors left after dispose', () => {
  // Without a kernel: @vql/temporal-kernel's variables keep their initial tensors (2 per kernel), not ours.
  it.each(['sim-hard', 'sim-soft', 'eta', 'twin', 'sdim', 'slot-compression', 'multi-interest'])('%s', (kind) => {
    const before = tf.memory().numTensors;
    createInterestModule({ kind }, buildContext(D, L, true)).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('setWeights with the module’s own live weights', () => {
  it.each(['sim-soft', 'eta', 'twin', 'sdim', 'slot-compression', 'multi-interest'])('%s keeps them intact', (kind) => {
    const m = createInterestModule({ kind }, buildContext(D, L, true));
    const before = Object.fromEntries(Object.entries(m.getWeights()).map(([k, t]) => [k, Array.from(t.dataSync())]));
    m.setWeights(m.getWeights()); // each variable handed itself
    for (const [k, t] of Object.entries(m.getWeights())) expect(Array.from(t.dataSync())).toEqual(before[k]);
    m.dispose();
  });
});
