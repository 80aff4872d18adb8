import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserBootstrap, auc, meanOverSeeds, pairedAucDifference } from '@vql/metrics';
import type { RunRecord } from '../results.js';
import { bootstrapSeed, writeReport } from './index.js';
import { formatInterval } from './markdown.js';

const SEEDS = [1, 2, 3];
const N = 1200;
const USERS = 120;
const RESAMPLES = 200;
const ctx = { experiment: 'fixture', generatedAt: '2026-01-01T00:00:00.000Z', skippedDatasets: [], notes: [] };

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

function hash(text: string): number {
  let h = 2166136261;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}

/** One synthetic test set per seed (labels and users), as the runner writes it. */
function testSet(seed: number): { users: Int32Array; labels: Float32Array; userEffect: Float64Array } {
  const rand = lcg(seed * 7919);
  const users = Int32Array.from({ length: N }, (_, i) => 1000 * seed + Math.floor((i * USERS) / N));
  const labels = Float32Array.from({ length: N }, () => (rand() < 0.3 ? 1 : 0));
  const userEffect = Float64Array.from({ length: USERS }, () => 0.7 * normal(rand));
  return { users, labels, userEffect };
}

function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Predictions whose AUC grows with `signal`: sigmoid(signal·y + user effect + noise). */
function predictions(set: ReturnType<typeof testSet>, signal: number, key: string): Float32Array {
  const rand = lcg(hash(key));
  return Float32Array.from(set.labels, (y, i) => 1 / (1 + Math.exp(-(signal * y + set.userEffect[Math.floor((i * USERS) / N)]! + normal(rand)))));
}

interface Spec {
  method: string;
  variant?: string;
  L: number;
  studies: RunRecord['studies'];
  signal?: number | undefined;
  historyPolicy?: RunRecord['historyPolicy'];
  notRun?: string;
  latency?: { p50: number; p50x100: number; bytes: number };
}

function baseRecord(spec: Spec, seed: number): RunRecord {
  const variant = spec.variant ?? 'default';
  return {
    runId: `${spec.studies.join('+')}-${spec.method}-${variant}-${spec.L}-${seed}`,
    studies: spec.studies,
    method: spec.method,
    variant,
    dataset: 'synthetic',
    L: spec.L,
    K: 64,
    G: 2,
    heads: 2,
    codebookSizes: [16, 64],
    seed,
    auc: null,
    gauc: null,
    logloss: null,
    trainSeconds: null,
    samplesPerSecond: null,
    epochs: null,
    latencyP50Ms: null,
    latencyP99Ms: null,
    latencyP50Ms100: null,
    latencyP99Ms100: null,
    cacheBytesPerUser: null,
    ...(spec.historyPolicy !== undefined ? { historyPolicy: spec.historyPolicy } : {}),
  };
}

/** Records and their files under `out`; `withFiles: false` gives results.json as written before predictions existed. */
function fixture(out: string, specs: Spec[], withFiles: boolean): RunRecord[] {
  const records: RunRecord[] = [];
  for (const seed of SEEDS) {
    const set = testSet(seed);
    const prefix = `predictions/synthetic-seed${seed}`;
    if (withFiles) {
      mkdirSync(join(out, 'predictions'), { recursive: true });
      writeFileSync(join(out, `${prefix}.users.i32`), Buffer.from(set.users.buffer));
      writeFileSync(join(out, `${prefix}.labels.f32`), Buffer.from(set.labels.buffer));
    }
    for (const spec of specs) {
      const r = baseRecord(spec, seed);
      if (spec.latency !== undefined) {
        records.push({ ...r, latencyP50Ms: spec.latency.p50, latencyP50Ms100: spec.latency.p50x100 * (1 + seed / 100), cacheBytesPerUser: spec.latency.bytes });
        continue;
      }
      if (spec.notRun !== undefined) {
        records.push({ ...r, status: 'not-run-cost', note: spec.notRun });
        continue;
      }
      const p = predictions(set, spec.signal!, r.runId);
      const file = `predictions/${r.runId}.f32`;
      if (withFiles) writeFileSync(join(out, file), Buffer.from(p.buffer));
      records.push({
        ...r,
        auc: auc(set.labels, p),
        gauc: auc(set.labels, p) - 0.02,
        logloss: 1 - auc(set.labels, p) / 2,
        samplesPerSecond: 1000 + 10 * seed,
        ...(withFiles ? { status: 'ok' as const, predictions: file, testSet: prefix } : {}),
      });
    }
  }
  return records;
}

const newest = 'newest-L' as const;
const SPECS: Spec[] = [
  ...[1000, 10_000].flatMap((L): Spec[] => [
    { method: 'vql', L, studies: ['main', 'length-sweep'], signal: 1.4, historyPolicy: newest },
    { method: 'full-attention', L, studies: ['main', 'length-sweep'], signal: 1.6, historyPolicy: newest },
    { method: 'sim-hard', L, studies: ['main'], signal: 0.3, historyPolicy: newest },
    { method: 'floor', L, studies: ['main'], signal: 0.8, historyPolicy: newest },
    { method: 'oracle', variant: 'at-L', L, studies: ['main', 'length-sweep'], signal: 1.8, historyPolicy: newest },
  ]),
  { method: 'twin', L: 1000, studies: ['main'], signal: 1.1, historyPolicy: newest },
  // Whole-history VQL above the newest-10k floor but below the whole-history one: only the latter counts.
  { method: 'vql', variant: 'whole-history', L: 10_000, studies: ['main'], signal: 1.2, historyPolicy: 'whole-history' },
  { method: 'floor', variant: 'whole-history', L: 10_000, studies: ['main'], signal: 1.5, historyPolicy: 'whole-history' },
  { method: 'twin', L: 10_000, studies: ['main'], notRun: 'est. 5400 s per epoch', historyPolicy: newest },
  // As the runner files it: the full-history oracle at every main and sweep L (the same model each time).
  ...[100, 1000, 10_000].map((L): Spec => ({ method: 'oracle', variant: 'full-history', L, studies: L === 100 ? ['length-sweep'] : ['main', 'length-sweep'], signal: 2.2, historyPolicy: 'whole-history' })),
  { method: 'vql', L: 100, studies: ['length-sweep'], signal: 1.0, historyPolicy: newest },
  { method: 'oracle', variant: 'at-L', L: 100, studies: ['length-sweep'], signal: 1.3, historyPolicy: newest },
  { method: 'vql', variant: 'no-context', L: 1000, studies: ['ablation'], signal: 1.0, historyPolicy: newest },
  { method: 'vql', variant: 'no-temporal-kernel', L: 1000, studies: ['ablation'], signal: 1.39, historyPolicy: newest },
  ...[1000, 10_000].flatMap((L): Spec[] => [
    { method: 'vql', L, studies: ['latency'], latency: { p50: 0.05, p50x100: 0.4, bytes: 12_000 } },
    { method: 'full-attention', L, studies: ['latency'], latency: { p50: L / 2e4, p50x100: L / 500, bytes: L * 256 } },
  ]),
  { method: 'twin', L: 1000, studies: ['latency'], latency: { p50: 0.2, p50x100: 1.5, bytes: 64_000 } },
];

/** The interval the report should print for a − b, computed directly from the files' contents. */
function directInterval(records: RunRecord[], a: (r: RunRecord) => boolean, b: (r: RunRecord) => boolean, out: string): string {
  const perSeed = SEEDS.map((seed) => {
    const set = testSet(seed);
    const ra = records.find((r) => r.seed === seed && a(r))!;
    const rb = records.find((r) => r.seed === seed && b(r))!;
    const read = (file: string) => new Float32Array(new Uint8Array(readFileSync(join(out, file))).buffer);
    const boot = new UserBootstrap(set.users, set.labels, { resamples: RESAMPLES, seed: bootstrapSeed('synthetic', seed) });
    const [xa, xb] = boot.aucReplicates([read(ra.predictions!), read(rb.predictions!)]);
    return pairedAucDifference(xa!, xb!);
  });
  return formatInterval({ interval: meanOverSeeds(perSeed), seeds: 3, of: 3 });
}

describe('report from fixtures with predictions files', () => {
  const out = mkdtempSync(join(tmpdir(), 'vql-report-'));
  const records = fixture(out, SPECS, true);
  let md = '';
  let html = '';
  beforeAll(async () => {
    md = (await writeReport(out, records, ctx, { resamples: RESAMPLES })).markdown;
    html = readFileSync(join(out, 'report.html'), 'utf8');
  });

  it('puts the title first, then the headline at the largest main L with oracle@L, the full-history oracle and the floor', () => {
    const headings = md.split('\n').filter((l) => l.startsWith('#'));
    expect(headings[0]).toBe('# vql experiment report: `fixture`');
    expect(headings[1]).toBe('## Headline');
    const headline = md.slice(md.indexOf('## Headline'), md.indexOf('## Checks'));
    expect(headline).toMatch(/\*\*synthetic data, L = 10k, 3 seeds\.\*\*/);
    for (const row of ['| vql |', '| oracle@10k |', '| oracle (full history) |', '| floor (logistic) |', '| twin | newest-L | not run: cost (est. 5400 s per epoch) |']) {
      expect(headline).toContain(row);
    }
    expect(headline).toMatch(/\| oracle \(full history\) \| whole-history \| 0\.\d{4} ± 0\.\d{4} \|/);
    expect(headline).toMatch(/\| floor \(logistic, whole history\) \| whole-history \| 0\.\d{4} ± 0\.\d{4} \|/);
    expect(headline).toMatch(/logistic floor 0\.\d{4} ± 0\.\d{4}, logistic floor on the whole history 0\.\d{4} ± 0\.\d{4}\./);
    // Full attention is the stronger fixture model: the headline says VQL loses to it.
    expect(headline).toMatch(/VQL beats 1 of 2 baselines \(sim-hard\); it loses to full-attention\. Not run at this L \(cost\): twin\./);
    expect(headline).toContain('Online p50 for 100 candidates: VQL 0.408 ± 0.004 ms, full attention 20.400 ± 0.200 ms.');
    expect(headline).toContain('| twin | newest-L | not run: cost (est. 5400 s per epoch) | — | 1.530 ± 0.015 (at L = 1k) | 64000 ± 0 (at L = 1k) |');
  });

  it('prints paired intervals equal to a direct bootstrap of the predictions files', () => {
    const at10k = (m: string) => (r: RunRecord) => r.method === m && r.variant === 'default' && r.L === 10_000 && r.studies.includes('main');
    const simHard = directInterval(records, at10k('vql'), at10k('sim-hard'), out);
    const full = directInterval(records, at10k('vql'), at10k('full-attention'), out);
    const section = md.slice(md.indexOf('### synthetic (L = 10k)'));
    expect(section).toContain(`| sim-hard | ${simHard} |`);
    expect(section).toContain(`| full-attention | ${full} |`);
    expect(section).toMatch(/\| sim-hard \| \+0\.\d{4} \[\+0\.\d{4}, \+0\.\d{4}\] \| 0\.\d{4} \| VQL better \|/);
    expect(section).toMatch(/\| full-attention \| −0\.\d{4} \[−0\.\d{4}, −0\.\d{4}\] \| 0\.\d{4} \| VQL worse \|/);
    expect(section).toContain('| twin | not run: cost (est. 5400 s per epoch) | — | — |');
  });

  it('shows mean ± std with the history policy in the main tables', () => {
    expect(md).toMatch(/\| method \| history \| AUC \| GAUC \| LogLoss \| train samples\/s \| seeds \|/);
    expect(md).toMatch(/\| vql \| newest-L \| 0\.\d{4} ± 0\.\d{4} \| 0\.\d{4} ± 0\.\d{4} \| 0\.\d{4} ± 0\.\d{4} \| \*\*1020 ± 10\*\* \| 3 \|/);
    expect(md).toMatch(/\| full-attention \| newest-L \| \*\*0\.\d{4} ± 0\.\d{4}\*\* \|/);
  });

  it('flags the neural method below the floor, and only it', () => {
    const checks = md.slice(md.indexOf('## Checks'), md.indexOf('<!-- charts -->'));
    expect(checks.match(/^- \*\*/gm)).toHaveLength(3); // sim-hard at L = 1k and 10k, whole-history VQL
    expect(checks).toMatch(/- \*\*vql \/ whole-history\*\* on synthetic at L = 10k: AUC 0\.\d{4} ± 0\.\d{4} < floor 0\.\d{4} ± 0\.\d{4}/);
    expect(checks).toMatch(/- \*\*sim-hard\*\* on synthetic at L = 1k: AUC 0\.\d{4} ± 0\.\d{4} < floor 0\.\d{4} ± 0\.\d{4} \(difference −0\.\d{4} \[/);
  });

  it('gives ablations as paired differences from full VQL', () => {
    expect(md).toMatch(/\| no-context \| 0\.\d{4} ± 0\.\d{4} \| −0\.\d{4} \[−0\.\d{4}, −0\.\d{4}\] \| the removed part helps \|/);
    expect(md).toMatch(/\| no-temporal-kernel \| 0\.\d{4} ± 0\.\d{4} \| [+−]0\.\d{4} \[−0\.\d{4}, \+0\.\d{4}\] \| no clear difference \|/);
  });

  it('has oracle@L in the length table and the Pareto table with costs at the nearest measured L', () => {
    expect(md).toMatch(/\| oracle@L \| 0\.\d{4} ± 0\.\d{4} \| 0\.\d{4} ± 0\.\d{4} \| 0\.\d{4} ± 0\.\d{4} \|/);
    expect(md).toMatch(/Full-history oracle: 0\.\d{4} ± 0\.\d{4}\./);
    const pareto = md.slice(md.indexOf('## Accuracy against online cost'));
    expect(pareto).toMatch(/\| full-attention \| 0\.\d{4} ± 0\.\d{4} \| 20\.400 ± 0\.200 \| 2560000 ± 0 \|/);
    expect(pareto).toMatch(/\| sim-hard \| 0\.\d{4} ± 0\.\d{4} \| — \| — \|/);
  });

  it('writes the charts after the headline: AUC vs L with bars, two Pareto charts, ablation differences', () => {
    expect(html.indexOf('<h1>')).toBeLessThan(html.indexOf('<h2>Headline</h2>'));
    expect(html.indexOf('<h2>Headline</h2>')).toBeLessThan(html.indexOf('<h2>Charts</h2>'));
    expect(html.indexOf('<h2>Charts</h2>')).toBeLessThan(html.indexOf('<h2>Main comparison</h2>'));
    expect(html).toContain('AUC vs history length L (synthetic; oracle@L = true model on the newest L, dashed = full-history oracle; bars: 95% bootstrap interval)');
    expect(html).toContain('Test AUC vs online p50 latency (100 candidates) (synthetic, L = 10k; line = Pareto frontier; not measured: sim-hard)');
    expect(html).toContain('Test AUC vs state bytes per user');
    expect(html).toContain('VQL ablations: AUC difference from full VQL (bars: 95% bootstrap interval)');
    expect((html.match(/<svg/g) ?? []).length).toBe(5);
    expect(html).toContain('<li><b>sim-hard</b> on synthetic at L = 1k');
    expect(html).not.toContain('<!-- charts -->');
  });

  it('is deterministic', async () => {
    const again = await writeReport(out, records, ctx, { resamples: RESAMPLES });
    expect(again.markdown).toBe(md);
  });
});

describe('report from results.json without the new fields', () => {
  it('still writes every table and says the intervals are unavailable', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vql-report-old-'));
    const old = SPECS.filter((s) => s.method !== 'floor' && s.notRun === undefined).map((s): Spec => {
      const rest: Spec = { ...s };
      delete rest.historyPolicy;
      return s.method === 'oracle' && s.variant === 'full-history' ? { ...rest, variant: 'default' } : rest;
    });
    const records = fixture(out, old, false);
    const { markdown } = await writeReport(out, records, ctx);
    expect(markdown).toContain('## Headline');
    expect(markdown).toMatch(/no paired intervals: these results have no predictions files/);
    expect(markdown).toContain('Intervals: none — these results have no per-run predictions files');
    expect(markdown).toMatch(/\| method \| AUC \| GAUC \| LogLoss \| train samples\/s \| seeds \|/); // no history column
    expect(markdown).toContain('| oracle (full history) |');
    expect(markdown).toMatch(/\| sim-hard \| no interval \(no predictions file for vql seed 1\) \| — \| — \|/);
    expect(markdown).not.toContain('## Checks'); // no floor runs
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('bars: ± std over seeds');
  });
});

describe('report with unusable prediction files', () => {
  it('lists each bad file by name and keeps the other intervals', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vql-report-bad-'));
    const records = fixture(out, SPECS.filter((s) => s.L === 1000 && s.studies.includes('main')), true);
    const twin2 = records.find((r) => r.method === 'twin' && r.seed === 2)!;
    writeFileSync(join(out, twin2.predictions!), Buffer.alloc(12));
    const sim3 = records.find((r) => r.method === 'sim-hard' && r.seed === 3)!;
    const nan = new Float32Array(N).fill(0.5);
    nan[17] = Number.NaN;
    writeFileSync(join(out, sim3.predictions!), Buffer.from(nan.buffer));
    const { markdown } = await writeReport(out, records, ctx, { resamples: 50 });
    const problems = markdown.slice(markdown.indexOf('## Unusable prediction files'));
    expect(problems).toContain(`- predictions ${twin2.predictions} of run ${twin2.runId} hold 3 values but test set predictions/synthetic-seed2 has ${N} samples`);
    expect(problems).toContain(`- predictions ${sim3.predictions} of run ${sim3.runId}: value 17 is NaN`);
    expect(markdown).toMatch(/\| twin \| [+−]0\.\d{4} \[[+−]0\.\d{4}, [+−]0\.\d{4}\] \(2 of 3 seeds\) \|/);
    expect(markdown).toMatch(/\| full-attention \| −0\.\d{4} \[−0\.\d{4}, −0\.\d{4}\] \| 0\.\d{4} \| VQL worse \|/);
  });

  it('names a missing test-set file', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vql-report-missing-'));
    const records = fixture(out, SPECS.filter((s) => s.L === 1000 && s.studies.includes('main')), true).map((r) =>
      r.seed === 1 && r.testSet !== undefined ? { ...r, testSet: 'predictions/elsewhere' } : r,
    );
    const { markdown } = await writeReport(out, records, ctx, { resamples: 50 });
    expect(markdown).toContain(`- test set predictions/elsewhere: test-set users predictions/elsewhere.users.i32 not found in ${out}`);
    expect(markdown).toMatch(/\(2 of 3 seeds\)/);
  });
});

describe('headline when a cost budget left only the L-free methods at the largest L', () => {
  it('is the L where most methods ran, with whole-history VQL in its table and the larger L in one sentence', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vql-report-budget-'));
    // As paper: at L = 10k every baseline is "not run: cost"; VQL and the references ran.
    const specs = SPECS.map((s): Spec =>
      s.L === 10_000 && s.studies.includes('main') && (s.method === 'full-attention' || s.method === 'sim-hard') ? { ...s, signal: undefined, notRun: 'estimated 900 s > budget 350 s' } : s,
    );
    const records = fixture(out, specs, true);
    const { markdown } = await writeReport(out, records, ctx, { resamples: 50 });
    const headline = markdown.slice(markdown.indexOf('## Headline'), markdown.indexOf('## Checks'));
    expect(headline).toMatch(/\*\*synthetic data, L = 1k, 3 seeds\.\*\*/);
    expect(headline).toMatch(/The best baseline, full-attention, reaches 0\.\d{4} ± 0\.\d{4}/);
    expect(headline).toMatch(/\| vql \/ whole-history \| whole-history \| 0\.\d{4} ± 0\.\d{4} \| [+−]0\.\d{4} \[/);
    expect(headline).toMatch(/At L = 10k: vql 0\.\d{4} ± 0\.\d{4}, vql \/ whole-history 0\.\d{4} ± 0\.\d{4} \(oracle@10k 0\.\d{4} ± 0\.\d{4}\); not run \(cost\): full-attention, sim-hard, twin\./);
  });
});
