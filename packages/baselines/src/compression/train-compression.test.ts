import { initBackend } from '@vql/runtime';
import '../index.js';
import { describeTraining } from '../test-train.js';

beforeAll(async () => {
  await initBackend();
});

describeTraining('SDIM, compression and last-n through the shared trainer', [
  ['sdim', { kind: 'sdim', rounds: 8, hashBits: 3, kernel: { type: 'expDecayMixture', timeUnit: 'seconds', numRates: 2, minTimescale: 3600, maxTimescale: 3.2e7 } }],
  ['slot-compression', { kind: 'slot-compression', slots: 8 }],
  ['multi-interest', { kind: 'multi-interest', interests: 4, attentionDim: 16 }],
  ['last-n', { kind: 'last-n', n: 16 }],
]);
