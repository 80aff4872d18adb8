// Training throughput by history length and batch layout: full attention, TWIN, VQL over the
// newest L and VQL over whole histories (per-position in the sample layout; the causal-cache
// scan, sliding-window for newest L, in the user layout), beside the PyTorch peer when
// /usr/bin/python3 has torch. Full attention (sample layout) and whole-history VQL (user layout)
// are measured again with Trainer `workers: 2` (data-parallel threads), interleaved step by step
// with a one-thread trainer in the same process: that pair gives the workers=2 / workers=1 ratio.
// Each measurement runs in its own process (bench/train-worker.ts), so peak RSS is its own.
// Usage: pnpm --filter @vql/model bench
//   env: BENCH_LENGTHS=1000,5000,10000,100000  BENCH_PEER=0 (skip the peer)  BENCH_METHODS=vql-whole,...
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchMethod, WorkerArgs } from './train-worker.js';

const here = dirname(fileURLToPath(import.meta.url));
const lengths = (process.env['BENCH_LENGTHS'] ?? '1000,5000,10000,100000').split(',').map(Number);
const methods = (process.env['BENCH_METHODS'] ?? 'full-attention,twin,vql-newest,vql-whole').split(',') as BenchMethod[];
const layouts = ['sample', 'user'] as const;
const PEER = '/work/shared/peers/torch_vql_ref.py';
const PYTHON = '/usr/bin/python3';

interface Row {
  who: 'vql (tfjs)' | 'torch peer';
  method: string;
  layout: string;
  L: number;
  batch: string;
  samplesPerSecond: number | null;
  msPerStep: number | null;
  peakRssMB: number | null;
  /** 1-minute load average when the measurement ended (the machine may be shared). */
  load: number;
  note?: string;
}
const rows: Row[] = [];

/**
 * Sample layout (and the user layout's per-sample expansion for full attention and TWIN):
 * B = 256 targets (32 at L ≥ 10^5, bounding the [B, L] tensors). User layout, VQL (causal scan,
 * whole or newest L): a budget of 8,000 targets, which holds whole users at every L (8,000 train
 * targets per user at L = 10^5), so each history is read once and every step does the same work
 * (~8k targets, ~90k behaviours) whatever L is.
 */
function workerArgs(method: BenchMethod, layout: 'sample' | 'user', L: number): WorkerArgs {
  const B = L >= 100000 ? 32 : 256;
  const batchSize = layout === 'user' && method.startsWith('vql') ? 8000 : B;
  // Two warm-up steps: the typed-array kernels are JIT-compiled during the first, and with
  // workers the pool starts at the first data-parallel step (VQL's first step runs whole).
  return { method, layout, L, batchSize, warmup: 2, steps: L >= 100000 ? 2 : 3 };
}

interface WorkerOutput {
  samplesPerSecond: number;
  msPerStep: number;
  peakRssMB: number;
  targetsPerStep: number;
  behavioursPerStep: number;
  pair?: { workers: number; samplesPerSecond: number; msPerStep: number; stepMs: number[]; speedup: number };
}

function runWorker(args: WorkerArgs): { row: Row; out: WorkerOutput | null } {
  const tsx = join(here, '..', 'node_modules', '.bin', 'tsx');
  const bin = existsSync(tsx) ? tsx : 'tsx';
  const r = spawnSync(bin, ['--conditions=@vql/source', join(here, 'train-worker.ts'), JSON.stringify(args)], { encoding: 'utf8', timeout: 600_000, maxBuffer: 1 << 24 });
  const line = r.stdout?.trim().split('\n').pop() ?? '';
  const base = { who: 'vql (tfjs)' as const, method: args.method, layout: args.layout, L: args.L, batch: `${args.batchSize}${args.layout === 'user' ? ' targets' : ''}` };
  try {
    const m = JSON.parse(line) as WorkerOutput;
    return { row: { ...base, batch: `${Math.round(m.targetsPerStep)} targets, ${Math.round(m.behavioursPerStep)} history rows`, samplesPerSecond: m.samplesPerSecond, msPerStep: m.msPerStep, peakRssMB: m.peakRssMB, load: loadavg()[0]! }, out: m };
  } catch {
    const why = r.error?.message ?? (r.stderr ?? '').trim().split('\n').slice(-3).join(' ');
    return { row: { ...base, samplesPerSecond: null, msPerStep: null, peakRssMB: null, load: loadavg()[0]!, note: `failed: ${why.slice(0, 200)}` }, out: null };
  }
}

function hasTorch(): boolean {
  if (process.env['BENCH_PEER'] === '0' || !existsSync(PYTHON) || !existsSync(PEER)) return false;
  return spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
}

/**
 * One peer model ('full' or 'vql') in its own python process: the peer script as is, with its
 * closing line limited to that model, and the process's peak RSS printed after it.
 */
function runPeer(model: 'full' | 'vql', L: number, steps: number): Row {
  const wrapper = [
    'import json, resource, sys',
    `src = open(${JSON.stringify(PEER)}).read()`,
    `src = src.replace('bench_train(False); bench_train(True)', ${JSON.stringify(model === 'full' ? 'bench_train(False)' : 'bench_train(True)')})`,
    `sys.argv = [${JSON.stringify(PEER)}, '--B', '256', '--L', '${L}', '--threads', '2', '--steps', '${steps}']`,
    `exec(compile(src, ${JSON.stringify(PEER)}, 'exec'), {'__name__': '__main__'})`,
    "print(json.dumps({'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))",
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', wrapper], { encoding: 'utf8', timeout: 600_000 });
  const lines = (r.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{'));
  const base = { who: 'torch peer' as const, method: model === 'full' ? 'full-attention' : 'vql (every behaviour quantized)', layout: 'sample', L, batch: '256 targets' };
  try {
    const m = JSON.parse(lines[0]!) as { ms: number; samples_per_s: number };
    const rss = JSON.parse(lines[1]!) as { peak_rss_mb: number };
    return { ...base, samplesPerSecond: m.samples_per_s, msPerStep: m.ms, peakRssMB: rss.peak_rss_mb, load: loadavg()[0]! };
  } catch {
    return { ...base, samplesPerSecond: null, msPerStep: null, peakRssMB: null, load: loadavg()[0]!, note: `failed: ${(r.error?.message ?? r.stderr ?? '').trim().split('\n').slice(-2).join(' ').slice(0, 200)}` };
  }
}

const fmt = (x: number | null, digits = 0): string => (x === null ? '—' : x.toFixed(digits));
function print(r: Row): void {
  console.log(`${r.who.padEnd(10)} ${r.method.padEnd(31)} ${r.layout.padEnd(6)} L=${String(r.L).padEnd(6)} ${fmt(r.samplesPerSecond).padStart(7)} samples/s ${fmt(r.msPerStep).padStart(7)} ms/step ${fmt(r.peakRssMB).padStart(6)} MB  load ${r.load.toFixed(1)}  ${r.batch}${r.note ? `  ${r.note}` : ''}`);
}

const t0 = performance.now();
const torch = hasTorch();
console.log(`PyTorch peer: ${torch ? 'found' : 'not run (needs /usr/bin/python3 with torch: apt-get install -y python3-torch)'}`);
for (const L of lengths) {
  for (const layout of layouts) {
    for (const method of methods) {
      const { row } = runWorker(workerArgs(method, layout, L));
      rows.push(row);
      print(row);
      if ((method === 'vql-whole' && layout === 'user') || (method === 'full-attention' && layout === 'sample')) {
        // workers=2 stepping right after a one-thread trainer on the same batches, in one process
        // (steps interleaved, so the machine's drift hits both): the ratio is of that pair.
        const paired = runWorker({ ...workerArgs(method, layout, L), steps: L >= 100000 ? 3 : 4, pairWorkers: 2 });
        const p = paired.out?.pair;
        const two: Row = {
          ...paired.row,
          method: `${method}, workers=2`,
          samplesPerSecond: p?.samplesPerSecond ?? null,
          msPerStep: p?.msPerStep ?? null,
          ...(p === undefined ? {} : { note: `${p.speedup.toFixed(2)}× the one-thread trainer stepping beside it (${paired.out!.samplesPerSecond.toFixed(0)} samples/s); RSS of both` }),
        };
        rows.push(two);
        print(two);
      }
    }
  }
  if (torch) {
    for (const model of ['full', 'vql'] as const) {
      // At L = 10^5 (B = 256) the peer's VQL builds a [B, H, L, K] distance tensor of 26 GB, and its
      // full attention was stopped after 10 minutes at 11 GB RSS (one run): both skipped.
      if (L >= 100000) {
        const note = model === 'vql' ? 'not run: [B,H,L,K] float32 distances need ~26 GB' : 'not run: >10 min and 11 GB RSS for 3 steps when tried';
        const row: Row = { who: 'torch peer', method: model === 'full' ? 'full-attention' : 'vql (every behaviour quantized)', layout: 'sample', L, batch: '256 targets', samplesPerSecond: null, msPerStep: null, peakRssMB: null, load: loadavg()[0]!, note };
        rows.push(row);
        print(row);
        continue;
      }
      const row = runPeer(model, L, L >= 10000 ? 2 : 3);
      rows.push(row);
      print(row);
      const ours = rows.find((r) => r.who === 'vql (tfjs)' && r.method === 'full-attention' && r.layout === 'sample' && r.L === L);
      if (model === 'full' && ours?.samplesPerSecond != null && row.samplesPerSecond !== null) {
        console.log(`           full attention, this project / the peer at L=${L}: ${(ours.samplesPerSecond / row.samplesPerSecond).toFixed(2)}× (one thread vs the peer's two)`);
      }
    }
  }
}

const table = [
  '| who | method | layout | L | batch (history rows: B×L padded per sample; user batches: events, read once) | samples/s | ms/step | peak RSS MB | load avg |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.who} | ${r.method} | ${r.layout} | ${r.L} | ${r.batch} | ${fmt(r.samplesPerSecond)} | ${fmt(r.msPerStep)} | ${fmt(r.peakRssMB)} | ${r.load.toFixed(1)} |${r.note ? ` ${r.note}` : ''}`),
].join('\n');
console.log(`\n${table}`);
const out = join(here, 'results', 'train.json');
mkdirSync(dirname(out), { recursive: true });
// The table as printed, dated, for bench/recorded/train.md (README "Benchmark").
writeFileSync(join(here, 'results', 'train.md'), `Run of ${new Date().toISOString()} (BENCH_LENGTHS=${process.env['BENCH_LENGTHS'] ?? 'default'}):\n\n${table}\n`);
writeFileSync(
  out,
  JSON.stringify({ workload: { d: 32, H: 4, G: 2, K: 64, R: 3, vocab: 50000, optimizer: 'adam', context: false, data: '~330k synthetic events per L, users of L..1.2L behaviours, one target per 10' }, seconds: (performance.now() - t0) / 1000, rows }, null, 2),
);
console.log(`\nwrote ${out} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
