import { interestModuleKinds } from '@vql/model';
import * as baselines from './index.js';

describe('registerBaselines', () => {
  it('importing the package registers nothing; the call registers every baseline, once', () => {
    expect(interestModuleKinds()).toEqual(['full-attention', 'vql']);
    expect(baselines.registerBaselines().sort()).toEqual(['eta', 'multi-interest', 'sdim', 'sim-hard', 'sim-soft', 'slot-compression', 'twin']);
    expect(interestModuleKinds()).toEqual(['eta', 'full-attention', 'multi-interest', 'sdim', 'sim-hard', 'sim-soft', 'slot-compression', 'twin', 'vql']);
    expect(baselines.registerBaselines()).toEqual([]);
  });
});
