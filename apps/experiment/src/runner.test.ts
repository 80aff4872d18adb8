import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExperimentConfig } from './config.js';
import { parseExperimentConfig } from './config.js';
import { PRESETS } from './presets.js';
import type { RunExecutor } from './runner.js';
import { checkOutDir, runExperiment } from './runner.js';

/** A deterministic executor that derives numbers from the run's parameters (no training). */
class FakeExecutor implements RunExecutor {
  calls = 0;
  failAt: number | null = null;
  async execute(spec: Parameters<RunExecutor['execute']>[0]) {
    this.calls++;
    if (this.failAt !== null && this.calls === this.failAt) throw new Error('interrupted');
    if (spec.studies.includes('latency')) return { latencyP50Ms: spec.method === 'vql' ? 0.05 : spec.L / 1e4, latencyP99Ms: 0.1, latencyP50Ms100: 0.2, cacheBytesPerUser: 1000 };
    const auc = 0.6 + (spec.method.length % 7) / 100 + spec.L / 1e5;
    return { auc, gauc: auc - 0.01, logloss: 0.6, trainSeconds: 1, samplesPerSecond: 1000, epochs: 1 };
  }
}

const config: ExperimentConfig = parseExperimentConfig({
  ...PRESETS.smoke,
  studies: { ...PRESETS.smoke.studies, codebookSweep: [8, 32], groupSweep: [1, 2], lengthSweep: [50, 100], lengthSweepMethods: ['vql', 'twin'] },
});

describe('runExperiment', () => {
  it('writes results.json/csv, report.md and report.html with every study', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vql-exp-'));
    const summary = await runExperiment({ config, outDir: out, available: new Set(['synthetic']), executor: new FakeExecutor(), log: () => {}, progress: false });
    for (const f of ['results.json', 'results.csv', 'report.md', 'report.html']) expect(existsSync(join(out, f))).toBe(true);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.records).toHaveLength(summary.executed);
    expect(results.records[0]).toEqual(expect.objectContaining({ method: expect.any(String), dataset: 'synthetic', L: 100, K: 16, G: 2, seed: 1 }));
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/## Main comparison/);
    expect(md).toMatch(/## VQL ablations/);
    expect(md).toMatch(/## Codebook size K/);
    expect(md).toMatch(/## History length L/);
    expect(md).toMatch(/## Online latency/);
    expect(md).toMatch(/\*\*0\.\d{4}\*\*/); // best marked
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(4);
  });

  it('resumes: an interrupted experiment re-runs only what did not finish', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vql-exp-'));
    const first = new FakeExecutor();
    first.failAt = 5;
    await expect(runExperiment({ config, outDir: out, available: new Set(['synthetic']), executor: first, log: () => {}, progress: false })).rejects.toThrow('interrupted');
    const second = new FakeExecutor();
    const summary = await runExperiment({ config, outDir: out, available: new Set(['synthetic']), executor: second, log: () => {}, progress: false });
    expect(summary.resumed).toBe(4);
    expect(second.calls).toBe(summary.records.length - 4);
  });

  it('runs training runs concurrently with jobs > 1, latency runs alone, and saves the same results.json as jobs = 1', async () => {
    /** Finishes runs in a scrambled order and records how many ran at once. */
    class ConcurrentExecutor extends FakeExecutor {
      inFlight = 0;
      maxInFlight = 0;
      latencyWithOthers = 0;
      override async execute(spec: Parameters<RunExecutor['execute']>[0]) {
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        if (spec.studies.includes('latency') && this.inFlight > 1) this.latencyWithOthers++;
        await new Promise((r) => setTimeout(r, (this.calls * 7) % 5));
        try {
          return await super.execute(spec);
        } finally {
          this.inFlight--;
        }
      }
    }
    const records = async (jobs: number, executor: FakeExecutor) => {
      const out = mkdtempSync(join(tmpdir(), 'vql-exp-'));
      await runExperiment({ config, outDir: out, available: new Set(['synthetic']), executor, jobs, log: () => {}, progress: false });
      return JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).records;
    };
    const parallel = new ConcurrentExecutor();
    const three = await records(3, parallel);
    expect(parallel.maxInFlight).toBe(3);
    expect(parallel.latencyWithOthers).toBe(0);
    expect(three).toEqual(await records(1, new FakeExecutor()));
    await expect(records(0, new FakeExecutor())).rejects.toThrow(/--jobs must be a positive integer, got 0/);
  });

  it('with jobs > 1, a failed run stops new runs; the finished ones are saved and resume', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vql-exp-'));
    const first = new FakeExecutor();
    first.failAt = 6;
    await expect(runExperiment({ config, outDir: out, available: new Set(['synthetic']), executor: first, jobs: 2, log: () => {}, progress: false })).rejects.toThrow('interrupted');
    const second = new FakeExecutor();
    const summary = await runExperiment({ config, outDir: out, available: new Set(['synthetic']), executor: second, jobs: 2, log: () => {}, progress: false });
    expect(summary.resumed).toBe(5); // runs 1–5; a 7th that finished beside the failed 6th waits for it and is not saved
    expect(second.calls).toBe(summary.records.length - summary.resumed);
  });

  it('does not train a run marked sameAs: it saves a copy of its source record, also on resume', async () => {
    const longLastN = parseExperimentConfig({ ...config, methods: ['last-n', 'vql'], datasets: [{ ...config.datasets[0]!, maxLen: [100, 200] }], studies: { ...config.studies, ablations: false, latency: null, lengthSweep: [], lengthSweepMethods: [] } });
    const out = mkdtempSync(join(tmpdir(), 'vql-exp-'));
    const executor = new FakeExecutor();
    const summary = await runExperiment({ config: longLastN, outDir: out, available: new Set(['synthetic']), executor, log: () => {}, progress: false });
    const lastN = summary.records.filter((r) => r.method === 'last-n');
    expect(lastN.map((r) => r.L).sort()).toEqual([100, 200]);
    expect(executor.calls).toBe(summary.records.length - 1);
    const [at100, at200] = [lastN.find((r) => r.L === 100)!, lastN.find((r) => r.L === 200)!];
    expect(at200.auc).toBe(at100.auc);
    expect(at200.note).toMatch(new RegExp(`trained once with run ${at100.runId} \\(L = 100\\): both read the newest 20 behaviours at either L`));
    // A results.json that lacks the copy (written before it): resuming adds it without training.
    const file = join(out, 'results.json');
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...saved, records: saved.records.filter((r: { runId: string }) => r.runId !== at200.runId) }));
    const again = new FakeExecutor();
    const resumed = await runExperiment({ config: longLastN, outDir: out, available: new Set(['synthetic']), executor: again, log: () => {}, progress: false });
    expect(again.calls).toBe(0);
    expect(resumed.records.find((r) => r.runId === at200.runId)?.auc).toBe(at100.auc);
  });

  it('skips missing datasets with a message and refuses an empty plan', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vql-exp-'));
    const lines: string[] = [];
    const withReal = parseExperimentConfig({ ...config, datasets: [...config.datasets, { name: 'movielens', maxLen: 50 }] });
    await runExperiment({ config: withReal, outDir: out, available: new Set(['synthetic']), executor: new FakeExecutor(), log: (l) => lines.push(l), progress: false });
    expect(lines).toContain('skipping dataset "movielens": not found in the data directory');
    await expect(runExperiment({ config, outDir: out, available: new Set(), executor: new FakeExecutor(), log: () => {}, progress: false })).rejects.toThrow(/no runs/);
  });
});

describe('checkOutDir', () => {
  it('refuses an unwritable directory before anything runs', () => {
    if (process.getuid?.() === 0) {
      // root writes anywhere; a path under a regular file is still impossible.
      const dir = mkdtempSync(join(tmpdir(), 'vql-exp-'));
      const file = join(dir, 'results.json');
      writeFileSync(file, '{}');
      expect(() => checkOutDir(file)).toThrow(/exists and is not a directory/);
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'vql-exp-'));
    chmodSync(dir, 0o500);
    expect(() => checkOutDir(join(dir, 'out'))).toThrow(/is not writable/);
  });
});
