import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auc } from '@vql/metrics';
import { METHOD_NAMES, parseExperimentConfig } from './config.js';
import { availableDatasets, createExecutor } from './execute.js';
import { PRESETS } from './presets.js';
import type { RunRecord } from './results.js';
import { runExperiment } from './runner.js';

// The CI run of the real pipeline: the smoke preset trains every method once on tiny synthetic
// data, runs the four VQL ablations and the latency study, and writes the report.
describe('smoke preset, end to end', () => {
  it('trains every method, measures latency and writes all outputs', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vql-smoke-'));
    const config = parseExperimentConfig(PRESETS.smoke);
    const available = availableDatasets(config, join(out, 'no-data'));
    const summary = await runExperiment({ config, outDir: out, available, executor: createExecutor(join(out, 'no-data'), () => {}), log: () => {}, progress: false });
    const records = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).records as RunRecord[];
    expect(records).toHaveLength(summary.executed);
    const main = records.filter((r) => r.studies.includes('main'));
    expect([...new Set(main.map((r) => r.method))].sort()).toEqual([...METHOD_NAMES].sort());
    for (const r of main) {
      expect(r.auc).toBeGreaterThan(0.5);
      expect(Number.isFinite(r.logloss)).toBe(true);
      // Every scored run left its test predictions for the report's paired bootstrap.
      const preds = new Float32Array(new Uint8Array(readFileSync(join(out, r.predictions!))).buffer);
      const labels = new Float32Array(new Uint8Array(readFileSync(join(out, `${r.testSet!}.labels.f32`))).buffer);
      expect(preds.length).toBe(labels.length);
      expect(auc(labels, preds)).toBeCloseTo(r.auc!, 6);
    }
    const oracle = main.find((r) => r.method === 'oracle' && r.variant === 'full-history')!;
    const oracleAtL = main.find((r) => r.method === 'oracle' && r.variant === 'at-L')!;
    expect(oracle.historyPolicy).toBe('whole-history');
    expect(oracleAtL.historyPolicy).toBe('newest-L');
    expect(oracleAtL.auc!).toBeLessThan(oracle.auc!);
    for (const r of main) expect(r.auc!).toBeLessThanOrEqual(oracle.auc! + 0.02);
    expect(records.filter((r) => r.studies.includes('ablation')).map((r) => r.variant).sort()).toEqual(['no-context', 'no-key-only', 'no-multi-scale', 'no-temporal-kernel']);
    const latency = records.filter((r) => r.studies.includes('latency'));
    expect(latency.length).toBeGreaterThan(0);
    for (const r of latency) {
      expect(r.latencyP50Ms).toBeGreaterThan(0);
      expect(r.cacheBytesPerUser).toBeGreaterThan(0);
    }
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    // Same preset and seed → same metrics.
    const again = mkdtempSync(join(tmpdir(), 'vql-smoke-'));
    const twice = parseExperimentConfig({ ...PRESETS.smoke, methods: ['vql'], studies: { ...PRESETS.smoke.studies, ablations: false, latency: null } });
    await runExperiment({ config: twice, outDir: again, available, executor: createExecutor(join(out, 'no-data'), () => {}), log: () => {}, progress: false });
    const vqlAgain = (JSON.parse(readFileSync(join(again, 'results.json'), 'utf8')).records as RunRecord[])[0]!;
    const vqlFirst = main.find((r) => r.method === 'vql')!;
    expect(vqlAgain.auc).toBe(vqlFirst.auc);
    expect(vqlAgain.logloss).toBe(vqlFirst.logloss);
  }, 600_000);
});
