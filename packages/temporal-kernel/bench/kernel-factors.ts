// Host-side factor throughput (what the cache builder and online scorer pay) and the training
// log-weight on the active backend. Prints a table and writes bench/results/kernel-factors.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng, initBackend, tf } from '@vql/runtime';
import { ExpDecayMixtureKernel, PeriodicKernel, ProductKernel } from '../src/index.js';
import type { SeparableKernel } from '../src/index.js';

function time(fn: () => void, minMs = 300): number {
  fn();
  let reps = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    fn();
    reps++;
  }
  return (performance.now() - start) / reps;
}

const info = await initBackend();
const rng = createRng('bench/kernel-factors');
const t0 = 1.7e9;
const n = 100_000;
const times = new Float64Array(n).map(() => t0 - rng.next() * 2 * 365.25 * 86400);
const kernels: Record<string, () => SeparableKernel> = {
  'expDecay R=6': () => new ExpDecayMixtureKernel({ timeUnit: 'seconds', numRates: 6 }),
  'expDecay R=4 × periodic(day,week)': () =>
    new ProductKernel([new ExpDecayMixtureKernel({ timeUnit: 'seconds', numRates: 4 }), new PeriodicKernel({ timeUnit: 'seconds' })]),
};
const rows: Array<Record<string, string | number>> = [];
for (const [name, make] of Object.entries(kernels)) {
  const k = make();
  const batchMs = time(() => k.historyFactorsBatch(times, t0));
  const queryUs = time(() => k.queryFactors(t0 + 3600, t0)) * 1000;
  const dt = tf.tensor2d(Float32Array.from(times.subarray(0, 100 * 1000), (t) => t0 + 3600 - t), [100, 1000]);
  const logWeightMs = time(() => tf.tidy(() => k.logWeight(dt).dataSync()));
  dt.dispose();
  rows.push({
    kernel: name,
    rank: k.rank,
    'historyFactorsBatch n=1e5 (ms)': Number(batchMs.toFixed(2)),
    'ns per behaviour': Number(((batchMs * 1e6) / n).toFixed(1)),
    'queryFactors (µs)': Number(queryUs.toFixed(2)),
    [`logWeight [100,1000] on ${info.backend} (ms)`]: Number(logWeightMs.toFixed(2)),
  });
  k.dispose();
}
console.table(rows);
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'kernel-factors.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ backend: info.backend, node: process.version, rows }, null, 2));
console.log(`wrote ${out}`);
