// Scoring latency of 100 candidates from one user's cache (issue: ≤ 2 ms p50 on one core at any L)
// at the production shape H = 4 heads in 2 groups, d_h = 16, K = [64, 256], D = 32, tower [64, 32].
// Timed: `CachedScorer.score(cache, candidates)` = query projection + cached attention + tower, on
// typed arrays; the cache is already decoded (the store read is measured by the load test).
//
//   pnpm --filter @vql/serving bench [-- --lengths 100,1000,100000 --baseline /path/to/older/checkout]
//
// `--baseline <checkout>` scores the same caches with that checkout's @vql/cache-store (e.g. the
// commit before the fast kernel), in this process, for a side-by-side number.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CachedScorer, CtrCacheModel, buildFromEncoded, buildUserCache, encodeCache } from '@vql/cache-store';
import type { UserCache } from '@vql/cache-store';
import { latencySummary } from '@vql/metrics';
import { exportModel } from '@vql/model';
import { createRng, initBackend } from '@vql/runtime';
import { NUM_ITEMS, benchModel, flag } from './bench-setup.js';

const LENGTHS = (flag('--lengths') ?? '100,1000,10000,100000,1000000').split(',').map(Number);
const baseline = flag('--baseline');
const NOW = 1.75e9;
const REPS = 400;

await initBackend();
const model = benchModel();
const cm = new CtrCacheModel(model);
const scorer = new CachedScorer(cm);

// The baseline runs in a child process inside the baseline checkout (one tfjs per process): it
// loads the same exported weights and times its own CachedScorer on the same blobs.
const BASELINE_SCRIPT = `
import { readFileSync } from 'node:fs';
const [rt, md, cs] = await Promise.all(['runtime', 'model', 'cache-store'].map((p) => import(process.cwd() + '/../' + p + '/src/index.ts')));
await rt.initBackend();
const job = JSON.parse(readFileSync(process.env.VQL_BENCH_JOB, 'utf8'));
const { model } = await md.importModel(job.modelDir);
const scorer = new cs.CachedScorer(new cs.CtrCacheModel(model));
const out = [];
for (const c of job.cases) {
  const cache = cs.decodeCache(new Uint8Array(readFileSync(c.blob)));
  const req = { items: Int32Array.from(c.items), time: job.now };
  for (let r = 0; r < 50; r++) scorer.score(cache, req);
  const t = [];
  for (let r = 0; r < job.reps; r++) { const a = performance.now(); scorer.score(cache, req); t.push(performance.now() - a); }
  out.push({ times: t, probs: Array.from(scorer.score(cache, req)) });
}
console.log(JSON.stringify(out));
`;

interface BaselineCase {
  blob: string;
  items: number[];
}

async function runBaseline(cases: BaselineCase[], work: string): Promise<Array<{ times: number[]; probs: number[] }>> {
  const modelDir = join(work, 'model');
  await exportModel(model, modelDir);
  const job = join(work, 'job.json');
  writeFileSync(job, JSON.stringify({ modelDir, cases, now: NOW, reps: REPS }));
  const tsx = join(baseline!, 'node_modules', '.bin', 'tsx');
  const out = execFileSync(tsx, ['--conditions=@vql/source', '--input-type=module', '-e', BASELINE_SCRIPT], {
    cwd: join(baseline!, 'packages', 'cache-store'),
    env: { ...process.env, VQL_BENCH_JOB: job },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Array<{ times: number[]; probs: number[] }>;
}

function timeIt(fn: () => void): number[] {
  for (let r = 0; r < 50; r++) fn(); // warm-up (JIT)
  const out: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t = performance.now();
    fn();
    out.push(performance.now() - t);
  }
  return out;
}

const round = (x: number) => Number(x.toPrecision(3));
const rng = createRng(7);
const rows: Array<Record<string, number | string>> = [];
const work = mkdtempSync(join(tmpdir(), 'vql-bench-'));
const cases: Array<BaselineCase & { probs: Float32Array }> = [];
/** The worst case for any L: every one of the Σ K_g = 320 codes occurs (random values and times). */
function fullCache(): UserCache {
  const n = 4 * 256;
  const codes = new Int32Array(n * 2);
  for (let i = 0; i < n; i++) {
    codes[2 * i] = i % 64;
    codes[2 * i + 1] = i % 256;
  }
  const times = Float64Array.from({ length: n }, () => NOW - 1 - Math.floor(rng.next() * 86400 * 365));
  const values = Float32Array.from({ length: n * 4 * 16 }, () => rng.next() - 0.5);
  return buildFromEncoded(cm.fingerprint, cm.layout, { count: n, times, codes, weights: null, values }, cm.kernel);
}

for (const L of [...LENGTHS, 'all codes'] as const) {
  let cache: UserCache;
  if (L === 'all codes') cache = fullCache();
  else {
    const times = Float64Array.from({ length: L }, () => NOW - 1 - Math.floor(Math.exp(rng.next() * Math.log(3 * 365 * 86400))));
    times.sort();
    cache = buildUserCache(cm, { items: Int32Array.from({ length: L }, () => 1 + rng.int(NUM_ITEMS)), times });
  }
  const items = Int32Array.from({ length: 100 }, () => 1 + rng.int(NUM_ITEMS));
  const fast = latencySummary(timeIt(() => scorer.score(cache, { items, time: NOW })));
  rows.push({ L, 'codes in cache': cache.entryCount, 'p50 ms': round(fast.p50), 'p99 ms': round(fast.p99) });
  const blob = join(work, `cache-${L}.bin`);
  writeFileSync(blob, encodeCache(cache));
  cases.push({ blob, items: Array.from(items), probs: scorer.score(cache, { items, time: NOW }) });
  console.error(`L = ${L} done`);
}
if (baseline !== undefined) {
  const results = await runBaseline(cases, work);
  results.forEach((r, i) => {
    const prev = latencySummary(r.times);
    let diff = 0;
    r.probs.forEach((p, k) => (diff = Math.max(diff, Math.abs(p - cases[i]!.probs[k]!))));
    Object.assign(rows[i]!, { 'baseline p50 ms': round(prev.p50), 'speed-up': round(prev.p50 / (rows[i]!['p50 ms'] as number)), 'max |Δp| vs baseline': diff.toExponential(1) });
  });
}
rmSync(work, { recursive: true, force: true });
console.log(`100 candidates from one cache: H=4 (2 groups), d_h=16, K=[64,256], D=32, tower [64,32]; ${REPS} timed runs per row`);
console.table(rows);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/scoring.json', JSON.stringify({ candidates: 100, heads: 4, groups: 2, headDim: 16, codebookSizes: [64, 256], baseline: baseline ?? null, rows }, null, 2));
cm.dispose();
model.dispose();
