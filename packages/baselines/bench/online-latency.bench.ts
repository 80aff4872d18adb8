// Per-request latency and per-user state of the TWIN, ETA and SDIM serving paths (typed arrays;
// tfjs only holds the kernel's two parameters) for L = 1e2 … 1e6 and 1 / 100 candidates, with the
// experiment's temporal kernel (R = 3 rates; `--no-kernel` measures the published methods). SDIM is measured from its cached bucket sums —
// the fair serving form — with the one-off cache build timed separately.
// Usage: pnpm --filter @vql/baselines bench [-- --max-len 100000 --out bench/results/online-latency.json]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRng, initBackend } from '@vql/runtime';
import { createKernel } from '@vql/temporal-kernel';
import { latencySummary } from '@vql/metrics';
import { EtaScorer, SdimScorer, TwinScorer } from '../src/online/index.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const maxLen = Number(flag('--max-len', '1000000'));
const out = flag('--out', 'bench/results/online-latency.json');
const withKernel = !args.includes('--no-kernel');
await initBackend();
const kernel = withKernel ? createKernel({ type: 'expDecayMixture', timeUnit: 'seconds', numRates: 3, minTimescale: 3600, maxTimescale: 365.25 * 86400 }) : null;
const NOW = 1.75e9;

// Shapes of a typical experiment config: D = 32, H = 4 heads of 8, k = 50, ETA m = 64 bits,
// SDIM m = 16 rounds × τ = 3 bits, values of width 32.
const D = 32;
const H = 4;
const dh = 8;
const K = 50;
const rng = createRng(2024);
const randn = (n: number, scale = 1): Float32Array => Float32Array.from({ length: n }, () => rng.normal() * scale);
const W = H * dh;
const proj = { inputDim: D, heads: H, headDim: dh, wq: randn(D * W, 1 / Math.sqrt(D)), wk: randn(D * W, 1 / Math.sqrt(D)), wv: randn(D * W, 1 / Math.sqrt(D)) };
const twin = new TwinScorer({ ...proj, k: K, kernel });
const eta = new EtaScorer({ ...proj, k: K, hashBits: 64, hashDim: D, rotation: randn(D * 64), useContext: false, kernel });
const sdim = new SdimScorer({ inputDim: D, hashDim: D, outputDim: W, rounds: 16, hashBits: 3, normalize: 'l2', wv: randn(D * W, 1 / Math.sqrt(D)), rotation: randn(D * 48), useContext: false, kernel });

interface Row {
  method: string;
  L: number;
  candidates: number;
  stateBytes: number;
  buildMs: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  requests: number;
}

function time<T>(fn: () => T): { value: T; ms: number } {
  const t0 = process.hrtime.bigint();
  const value = fn();
  return { value, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

/** Repeats `request` until ~1.5 s or 200 samples (at least 3), after one warm-up call. */
function measure(request: () => unknown): { p50: number; p99: number; mean: number; n: number } {
  request();
  const samples: number[] = [];
  let spent = 0;
  while ((samples.length < 200 && spent < 1500) || samples.length < 3) {
    const { ms } = time(request);
    samples.push(ms);
    spent += ms;
  }
  const s = latencySummary(samples);
  return { p50: s.p50, p99: s.p99, mean: s.mean, n: s.count };
}

const rows: Row[] = [];
const lengths = [1e2, 1e3, 1e4, 1e5, 1e6].filter((l) => l <= maxLen);
for (const L of lengths) {
  // Behaviours spread over three years before the request, oldest first.
  const times = Float64Array.from({ length: L }, () => NOW - 1 - Math.floor(Math.exp(rng.next() * Math.log(3 * 365 * 86400)))).sort();
  const history = { embeddings: randn(L * D, 0.5), times };
  const built = {
    twin: time(() => twin.buildState(history)),
    eta: time(() => eta.buildState(history)),
    sdim: time(() => sdim.buildState(history)),
  };
  for (const C of [1, 100]) {
    const targets = { embeddings: randn(C * D, 0.5), time: NOW };
    const cases: Array<[string, number, number, () => unknown]> = [
      ['twin', twin.stateBytesPerUser(L), built.twin.ms, () => twin.score(built.twin.value, targets)],
      ['eta', eta.stateBytesPerUser(L), built.eta.ms, () => eta.score(built.eta.value, targets)],
      ['sdim (cached bucket sums)', sdim.stateBytesPerUser(L), built.sdim.ms, () => sdim.score(built.sdim.value, targets)],
    ];
    for (const [method, stateBytes, buildMs, request] of cases) {
      const m = measure(request);
      rows.push({ method, L, candidates: C, stateBytes, buildMs, p50Ms: m.p50, p99Ms: m.p99, meanMs: m.mean, requests: m.n });
    }
  }
}

const pad = (s: string, n: number): string => s.padStart(n);
console.log(`${'method'.padEnd(26)}${pad('L', 9)}${pad('cands', 6)}${pad('state KiB', 12)}${pad('build ms', 11)}${pad('p50 ms', 10)}${pad('p99 ms', 10)}`);
for (const r of rows) {
  console.log(
    `${r.method.padEnd(26)}${pad(String(r.L), 9)}${pad(String(r.candidates), 6)}${pad((r.stateBytes / 1024).toFixed(1), 12)}${pad(r.buildMs.toFixed(1), 11)}${pad(r.p50Ms.toFixed(3), 10)}${pad(r.p99Ms.toFixed(3), 10)}`,
  );
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ config: { D, H, headDim: dh, k: K, etaBits: 64, sdimRounds: 16, sdimBits: 3, kernelRates: kernel?.rank ?? 0, node: process.version }, rows }, null, 2)}\n`);
console.log(`wrote ${out}`);
