import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedBudgetSizes, multiScaleSizes, parseExperimentConfig, runBudgetSeconds } from './config.js';
import { loadConfig } from './load-config.js';
import { planRuns } from './plan.js';
import { PRESETS } from './presets.js';

const dir = mkdtempSync(join(tmpdir(), 'vql-config-'));
function configFile(content: unknown): string {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

// paper with the K, G and L sweeps a config can add (paper itself leaves K and G out for time).
const withSweeps = { ...PRESETS.paper, studies: { ...PRESETS.paper.studies, codebookSweep: [16, 64, 256], groupSweep: [1, 2, 4], lengthSweep: [100, 300, 1000] } };

describe('presets', () => {
  it.each(Object.keys(PRESETS))('%s is a valid config', (name) => {
    expect(() => parseExperimentConfig(PRESETS[name as keyof typeof PRESETS])).not.toThrow();
  });

  it('smoke runs every method once on synthetic data, the oracle on the whole history and on the newest L', () => {
    const runs = planRuns(PRESETS.smoke, new Set(['synthetic']));
    const main = runs.filter((r) => r.studies.includes('main'));
    expect(main.filter((r) => r.variant === 'default').map((r) => r.method).sort()).toEqual(PRESETS.smoke.methods.filter((m) => m !== 'oracle').sort());
    expect(main.filter((r) => r.method === 'oracle').map((r) => r.variant).sort()).toEqual(['at-L', 'full-history']);
    expect(main.filter((r) => r.method === 'vql').map((r) => r.variant).sort()).toEqual(['default', 'whole-history']);
    // Whole-history VQL is checked against a floor that sees the same (whole) history.
    expect(main.filter((r) => r.method === 'floor').map((r) => r.variant).sort()).toEqual(['default', 'whole-history']);
  });

  it('paper runs the synthetic main comparison at L = 1000 and 10⁴, three seeds, on every training sample', () => {
    const runs = planRuns(PRESETS.paper, new Set(['synthetic']));
    const main = runs.filter((r) => r.studies.includes('main') && r.method === 'vql' && r.variant === 'default');
    expect(main.map((r) => `${r.L}/${r.seed}`).sort()).toEqual(['1000/1', '1000/2', '1000/3', '10000/1', '10000/2', '10000/3']);
    // Whole-history VQL is trained once per seed (listed with the largest L).
    expect(runs.filter((r) => r.method === 'vql' && r.variant === 'whole-history').map((r) => `${r.L}/${r.seed}`).sort()).toEqual(['10000/1', '10000/2', '10000/3']);
    expect(runs.filter((r) => r.method === 'floor' && r.variant === 'whole-history').map((r) => `${r.L}/${r.seed}`).sort()).toEqual(['10000/1', '10000/2', '10000/3']);
    expect(runs.filter((r) => r.method === 'oracle' && r.variant === 'at-L' && r.seed === 1).map((r) => r.L).sort((a, b) => a - b)).toEqual([300, 1000, 10_000]);
    // Every method is in the main comparison at both L; the costly ones on the first seed only.
    for (const method of PRESETS.paper.methods) {
      const seeds = new Set(runs.filter((r) => r.studies.includes('main') && r.method === method && r.L === 1000).map((r) => r.seed));
      expect([...seeds].sort()).toEqual(PRESETS.paper.studies.seedsPerMethod?.[method] === 1 ? [1] : [1, 2, 3]);
    }
    const synthetic = PRESETS.paper.datasets.find((d) => d.name === 'synthetic')!;
    expect(synthetic.maxTrainSamples).toBeUndefined();
    const s = synthetic.synthetic!;
    const total = s.numUsers * s.impressionsPerUser!;
    expect(Math.floor(total * s.split![0]!)).toBeGreaterThanOrEqual(100_000);
    expect(Math.floor(total * s.split![2]!)).toBeGreaterThanOrEqual(50_000);
    const quick = PRESETS.quick.datasets.find((d) => d.name === 'synthetic')!.synthetic!;
    expect(Math.floor(quick.numUsers * quick.impressionsPerUser! * quick.split![0]!)).toBeGreaterThanOrEqual(60_000);
    expect(Math.floor(quick.numUsers * quick.impressionsPerUser! * quick.split![2]!)).toBeGreaterThanOrEqual(20_000);
  });

  it('trains once the runs that read the same behaviours: last-n at L ≥ n, newest-10⁴ and whole-history VQL', () => {
    const runs = planRuns(PRESETS.paper, new Set(['synthetic']));
    const byId = new Map(runs.map((r) => [r.id, r]));
    const copies = runs.filter((r) => r.sameAs !== undefined);
    expect(copies.map((r) => `${r.method}/${r.variant}@${r.L}/${r.seed}`).sort()).toEqual(
      [1, 2, 3].flatMap((seed) => [`last-n/default@10000/${seed}`, `vql/whole-history@10000/${seed}`]).sort(),
    );
    for (const copy of copies) {
      const source = byId.get(copy.sameAs!.id)!;
      expect(source.sameAs).toBeUndefined();
      expect([source.method, source.seed]).toEqual([copy.method, copy.seed]);
      expect(source.L).toBe(copy.method === 'last-n' ? 1000 : 10_000);
    }
    expect(copies.find((r) => r.method === 'last-n')!.sameAs!.why).toMatch(/both read the newest 100 behaviours at either L/);
    expect(copies.find((r) => r.method === 'vql')!.sameAs!.why).toMatch(/both read every behaviour \(no synthetic history is longer than 10000\)/);
    // Ablations change the model, and a longest history above L leaves newest-L and whole apart.
    const longer = { ...PRESETS.paper, datasets: PRESETS.paper.datasets.map((d) => ({ ...d, synthetic: { ...d.synthetic!, historyLength: { ...d.synthetic!.historyLength, max: 20_000 } } })) };
    expect(planRuns(longer, new Set(['synthetic'])).filter((r) => r.sameAs !== undefined).map((r) => r.method)).toEqual(['last-n', 'last-n', 'last-n']);
  });

  it('runs the ablations, sweeps and latency on the first sweepSeeds seeds only', () => {
    const runs = planRuns(PRESETS.paper, new Set(['synthetic']));
    const apart = runs.filter((r) => !r.studies.includes('main'));
    expect(new Set(apart.flatMap((r) => r.studies))).toEqual(new Set(['ablation', 'length-sweep', 'latency']));
    expect(new Set(apart.map((r) => r.seed))).toEqual(new Set([1]));
    const everySeed = planRuns({ ...PRESETS.paper, studies: { ...PRESETS.paper.studies, sweepSeeds: undefined } }, new Set(['synthetic']));
    expect(new Set(everySeed.filter((r) => r.studies.includes('ablation')).map((r) => r.seed))).toEqual(new Set([1, 2, 3]));
  });

  it('gives each L its run budget: a number everywhere, an object per L', () => {
    expect(runBudgetSeconds(PRESETS.paper.train, 10_000)).toBe(350);
    expect(runBudgetSeconds(PRESETS.paper.train, 1000)).toBeUndefined();
    expect(runBudgetSeconds({ ...PRESETS.paper.train, maxRunSeconds: 60 }, 1000)).toBe(60);
    // Whole-history runs (no particular L) get only a budget for every L.
    expect(runBudgetSeconds(PRESETS.paper.train, undefined)).toBeUndefined();
    expect(runBudgetSeconds({ ...PRESETS.paper.train, maxRunSeconds: 60 }, undefined)).toBe(60);
    expect(() => parseExperimentConfig({ ...PRESETS.paper, train: { ...PRESETS.paper.train, maxRunSeconds: { ten: 5 } } })).toThrow(
      /config\.train\.maxRunSeconds: must be seconds \(> 0\) or an object from history length L/,
    );
    expect(() => parseExperimentConfig({ ...PRESETS.paper, studies: { ...PRESETS.paper.studies, sweepSeeds: 4 } })).toThrow(
      /config\.studies\.sweepSeeds: is 4 but seeds lists 3/,
    );
  });

  it('the G sweep keeps the total code budget fixed', () => {
    const runs = planRuns(withSweeps, new Set(['synthetic'])).filter((r) => r.studies.includes('group-sweep') && r.seed === 1);
    const budget = PRESETS.paper.model.codebookSizes.reduce((a, b) => a + b, 0);
    expect(runs.map((r) => r.codebookSizes.length).sort()).toEqual([1, 2, 4]);
    for (const r of runs) expect(r.codebookSizes.reduce((a, b) => a + b, 0)).toBe(budget);
  });

  it('quick covers the main comparison, ablations, the L sweep and latency; real datasets stay out of paper', () => {
    const quick = planRuns(PRESETS.quick, new Set(['synthetic', 'movielens']));
    expect([...new Set(quick.flatMap((r) => r.studies))].sort()).toEqual(['ablation', 'latency', 'length-sweep', 'main']);
    const runs = planRuns(withSweeps, new Set(['synthetic', 'movielens']));
    const studies = new Set(runs.flatMap((r) => r.studies));
    expect([...studies].sort()).toEqual(['ablation', 'codebook-sweep', 'group-sweep', 'latency', 'length-sweep', 'main']);
    expect(runs.filter((r) => r.method === 'oracle').every((r) => r.dataset === 'synthetic')).toBe(true);
    expect(runs.some((r) => r.dataset === 'movielens')).toBe(false);
    expect(new Set(runs.map((r) => r.id)).size).toBe(runs.length);
  });

  it('trains a run shared by several studies once (the main VQL run is a K, G and L sweep point)', () => {
    const runs = planRuns({ ...withSweeps, seeds: [1], studies: { ...withSweeps.studies, sweepSeeds: 1 } }, new Set(['synthetic']));
    const mainVql = runs.filter((r) => r.method === 'vql' && r.variant === 'default' && r.L === 1000 && r.studies.includes('main'));
    expect(mainVql).toHaveLength(1);
    expect(mainVql[0]!.studies.sort()).toEqual(['codebook-sweep', 'group-sweep', 'length-sweep', 'main']);
    expect(mainVql[0]!.codebookSizes).toEqual(PRESETS.paper.model.codebookSizes);
    expect(runs.filter((r) => r.studies.includes('codebook-sweep')).map((r) => Math.max(...r.codebookSizes)).sort((a, b) => a - b)).toEqual([16, 64, 256]);
    // Latency runs are measured apart even where their parameters match a training run.
    expect(runs.filter((r) => r.studies.includes('latency')).every((r) => r.studies.length === 1)).toBe(true);
  });
});

describe('loadConfig', () => {
  it('applies a config file over its preset and flags over the file', () => {
    const path = configFile({ extends: 'smoke', train: { epochs: 3 } });
    const cfg = loadConfig({ config: path, seed: '7', methods: 'vql,full-attention' });
    expect(cfg.train).toEqual({ ...PRESETS.smoke.train, epochs: 3 });
    expect(cfg.seeds).toEqual([7]);
    expect(cfg.methods).toEqual(['vql', 'full-attention']);
  });

  it('names the offending key, preset, method or dataset', () => {
    expect(() => loadConfig({ preset: 'huge' })).toThrow(/--preset: unknown preset "huge"; known presets: smoke, quick, paper/);
    expect(() => loadConfig({ methods: 'vql,din' })).toThrow(/--methods: unknown method "din"/);
    expect(() => loadConfig({ datasets: 'netflix' })).toThrow(/--datasets: unknown dataset "netflix"/);
    expect(() => loadConfig({ config: configFile({ extends: 'smoke', model: { codebookSizes: [0, 16] } }) })).toThrow(
      /config\.model\.codebookSizes\[0\]: .*>=1/,
    );
    expect(() => loadConfig({ config: configFile({ extends: 'smoke', datasets: [{ name: 'synthetic', maxLen: 0 }] }) })).toThrow(
      /config\.datasets\[0\]\.maxLen/,
    );
    expect(() => loadConfig({ config: configFile({ extends: 'smoke', train: { epochz: 2 } }) })).toThrow(/config\.train: unknown key "epochz"/);
    expect(() => loadConfig({ config: configFile({ extends: 'smoke', model: { groups: 3 } }) })).toThrow(
      /config\.model\.codebookSizes: has 2 entries but model\.groups is 3/,
    );
    expect(() => loadConfig({ config: configFile('{not json') })).toThrow(/not valid JSON/);
    expect(() => loadConfig({ config: join(dir, 'missing.json') })).toThrow(/--config .*missing\.json: ENOENT/);
    expect(() => loadConfig({ seed: 'x' })).toThrow(/--seed: "x" is not a non-negative integer/);
  });
});

describe('multiScaleSizes', () => {
  it('goes coarse to fine by factors of 4', () => {
    expect(multiScaleSizes(256, 3)).toEqual([16, 64, 256]);
    expect(multiScaleSizes(16, 4)).toEqual([2, 2, 4, 16]);
  });
});

describe('fixedBudgetSizes', () => {
  it('splits a fixed number of codes coarse to fine, each group at least 2', () => {
    expect(fixedBudgetSizes(80, 1)).toEqual([80]);
    expect(fixedBudgetSizes(80, 2)).toEqual([16, 64]);
    expect(fixedBudgetSizes(80, 4)).toEqual([2, 3, 15, 60]);
    expect(() => fixedBudgetSizes(5, 3)).toThrow(/budget of 5 cannot give 3 groups/);
  });
});
