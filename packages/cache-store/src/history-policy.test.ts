import { CtrModel } from '@vql/model';
import type { CtrModelConfig } from '@vql/model';
import { initBackend } from '@vql/runtime';
import { CtrCacheModel } from './cache-model.js';

const config: CtrModelConfig = { numItems: 50, embeddingDim: 4, interest: { kind: 'vql', heads: 2, groups: 1, codebookSizes: [4] }, tower: [4], seed: 1 };

beforeAll(async () => {
  await initBackend();
});

describe('CtrCacheModel and the history policy', () => {
  it('serves a whole-history model and refuses a newest-L one, naming the policy and the option', () => {
    const whole = new CtrModel({ ...config, historyPolicy: { kind: 'whole' } });
    const served = new CtrCacheModel(whole);
    expect(served.layout.codebookSizes).toEqual([4]);
    (served as { dispose?: () => void }).dispose?.(); // a full snapshot owns a model copy
    const newest = new CtrModel({ ...config, historyPolicy: { kind: 'newest', length: 100 } });
    expect(() => new CtrCacheModel(newest)).toThrow(/historyPolicy is \{ kind: 'newest', length: 100 \}.*ignoreHistoryWindow/);
    try {
      new CtrCacheModel(newest);
    } catch (err) {
      expect((err as { code?: string }).code).toBe('UNSUPPORTED_MODEL');
    }
    whole.dispose();
    newest.dispose();
  });
});
