import { METHOD_NAMES } from '../config.js';
import type { PreparedDataset } from '../datasets.js';
import { PRESETS } from '../presets.js';
import type { RunSpec } from '../run-spec.js';
import { modelConfigFor } from './model-config.js';
import { METHOD_TABLE, isReferenceMethod, latencyMethods, methodEntry, methodLabel, methodWithRole, roleOf } from './table.js';

const spec = (method: RunSpec['method'], variant = 'default'): RunSpec => ({
  id: 'x', studies: ['main'], method, variant, dataset: 'synthetic', L: 100, codebookSizes: [8, 16], heads: 4, seed: 1,
});
const data = {
  name: 'synthetic',
  schema: { numUsers: 3, numItems: 50, context: [{ name: 'category', kind: 'categorical', scope: 'item', vocabSize: 4 }], hasExplicitLabels: true },
  categoryFeature: 'category',
  hasOracle: true,
} as unknown as PreparedDataset;
const config = PRESETS.smoke;

describe('the method table', () => {
  it('has one entry per method name, in the config order, each either trained or a reference score', () => {
    expect(METHOD_TABLE.map((e) => e.name)).toEqual([...METHOD_NAMES]);
    for (const e of METHOD_TABLE) expect([e.name, (e.interest === undefined) !== (e.reference === undefined)]).toEqual([e.name, true]);
    expect(METHOD_TABLE.filter((e) => e.reference !== undefined).map((e) => e.name)).toEqual(['floor', 'oracle']);
    expect(METHOD_NAMES.filter(isReferenceMethod)).toEqual(['floor', 'oracle']);
    expect(isReferenceMethod('a-method-of-an-old-results-file')).toBe(false);
  });

  it('names the roles the report and planner use, once each, and the reference rows\' labels', () => {
    expect([methodWithRole('subject'), methodWithRole('exact'), methodWithRole('floor'), methodWithRole('ceiling')]).toEqual(['vql', 'full-attention', 'floor', 'oracle']);
    for (const role of ['subject', 'exact', 'floor', 'ceiling'] as const) expect(METHOD_TABLE.filter((e) => e.role === role)).toHaveLength(1);
    expect(roleOf('twin')).toBe('baseline');
    expect(roleOf('a-method-of-an-old-results-file')).toBe('baseline');
    expect(methodLabel('oracle', 'at-L', '1k')).toBe('oracle@1k');
    expect(methodLabel('oracle', 'full-history', '1k')).toBe('oracle (full history)');
    expect(methodLabel('floor', 'whole-history', '1k')).toBe('floor (logistic, whole history)');
    expect(methodLabel('vql', 'no-context', '1k')).toBe('vql / no-context');
    expect(methodLabel('twin', 'default', '1k')).toBe('twin');
  });

  it('every method a preset times has an online scorer', () => {
    for (const preset of Object.values(PRESETS)) {
      for (const m of preset.studies.latency?.methods ?? []) expect(latencyMethods()).toContain(m);
    }
    expect(latencyMethods()).toEqual(['full-attention', 'vql', 'eta', 'twin', 'sdim']);
    // Full attention is timed over VQL's model (its exact keys): both read one model.
    expect(methodEntry('full-attention').latency?.modelOf).toBe('vql');
  });

  it('last-n is full attention over the newest model.shortTermLength behaviours (the one last-n)', () => {
    const lastN = modelConfigFor(spec('last-n'), config, data);
    const full = modelConfigFor(spec('full-attention'), config, data);
    expect(lastN.interest).toEqual(full.interest);
    expect(lastN.historyWindow).toBe(config.model.shortTermLength);
    // Every other newest-L model records its L; the latency study asks for whole-history models.
    expect(full.historyWindow).toBe(spec('full-attention').L);
    expect(modelConfigFor(spec('full-attention'), config, data, { wholeHistory: true })).toMatchObject({ historyWindow: null, historyPolicy: { kind: 'whole' } });
    expect(modelConfigFor(spec('last-n'), config, data, { wholeHistory: true }).historyWindow).toBe(config.model.shortTermLength);
  });

  it('plans VQL ablations as module options, whole history as the model policy, SIM soft with its own aux weight', () => {
    expect(modelConfigFor(spec('vql', 'no-key-only'), config, data).interest).toMatchObject({ kind: 'vql', quantizeValues: true });
    expect(modelConfigFor(spec('vql', 'no-multi-scale'), config, data).interest).toMatchObject({ sharedCodebook: true });
    expect(modelConfigFor(spec('vql', 'no-temporal-kernel'), config, data).interest).toMatchObject({ kernel: null });
    expect(modelConfigFor(spec('vql', 'no-context'), config, data).contextFeatures).toEqual([]);
    expect(modelConfigFor(spec('vql', 'whole-history'), config, data).historyPolicy).toEqual({ kind: 'whole' });
    expect(modelConfigFor(spec('sim-soft'), config, data).auxLossWeight).toBe(1);
    expect(modelConfigFor(spec('twin'), config, data).auxLossWeight).toBe(config.model.vqWeight);
    expect(modelConfigFor(spec('sim-hard'), config, data).interest).toMatchObject({ kind: 'sim-hard', categoryFeature: 'category', k: config.model.topK });
  });

  it('refuses what a method cannot do, naming it', () => {
    expect(() => modelConfigFor(spec('floor'), config, data)).toThrow(expect.objectContaining({ code: 'NOT_A_MODEL' }));
    expect(() => modelConfigFor(spec('sim-hard'), config, { ...data, categoryFeature: null })).toThrow(expect.objectContaining({ code: 'NEEDS_CATEGORY_FEATURE' }));
    expect(() => methodEntry('nope' as never)).toThrow(/method "nope" is not in the method table/);
    expect(methodEntry('oracle').variants?.('synthetic')).toEqual(['full-history', 'at-L']);
    expect(methodEntry('oracle').variants?.('movielens')).toEqual([]);
  });
});
