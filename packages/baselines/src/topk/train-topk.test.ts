import { initBackend } from '@vql/runtime';
import { registerBaselines } from '../register.js';
import { describeTraining } from '../testing/train.js';

const KERNEL = { type: 'expDecayMixture', timeUnit: 'seconds', numRates: 2, minTimescale: 3600, maxTimescale: 3.2e7 };

beforeAll(async () => {
  registerBaselines();
  await initBackend();
});

describeTraining('top-k baselines through the shared trainer', [
  ['sim-hard', { kind: 'sim-hard', k: 16, categoryFeature: 'category' }],
  ['sim-soft', { kind: 'sim-soft', k: 16, retrievalDim: 8, kernel: KERNEL }],
  ['eta', { kind: 'eta', k: 16, hashBits: 32 }],
  ['twin', { kind: 'twin', k: 16, kernel: KERNEL }],
]);
