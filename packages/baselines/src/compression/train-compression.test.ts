import { initBackend } from '@vql/runtime';
import { registerBaselines } from '../register.js';
import { describeTraining } from '../testing/train.js';

beforeAll(async () => {
  registerBaselines();
  await initBackend();
});

describeTraining('SDIM and compression through the shared trainer', [
  ['sdim', { kind: 'sdim', rounds: 8, hashBits: 3, kernel: { type: 'expDecayMixture', timeUnit: 'seconds', numRates: 2, minTimescale: 3600, maxTimescale: 3.2e7 } }],
  ['slot-compression', { kind: 'slot-compression', slots: 8 }],
  ['multi-interest', { kind: 'multi-interest', interests: 4, attentionDim: 16 }],
]);
