// Assignment throughput: U unique keys against K codes, matmul path (tfjs, what quantize uses)
// and typed-array path (GroupedQuantizer.assign, the serving path). Prints a table and writes
// bench/results/assign.json. Usage: pnpm --filter @vql/quantizer bench [-- --u 100000 --reps 2]
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf, initBackend, createRng } from '@vql/runtime';
import { GroupedQuantizer, nearestCodes } from '../src/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number, got ${process.argv[i + 1]}`);
  return v;
}

const U = arg('u', 100_000);
const reps = arg('reps', 2);
const sizes = [16, 64, 256, 1024];
const dims = [16, 32];

const info = await initBackend();
const rng = createRng('assign-bench');
const rows: Array<Record<string, number | string>> = [];
for (const d of dims) {
  const keys = Float32Array.from({ length: U * d }, () => rng.normal());
  const keysT = tf.tensor2d(keys, [U, d]);
  for (const k of sizes) {
    const q = new GroupedQuantizer({ dim: d, codebookSizes: [k], init: 'random', seed: k * 100 + d });
    const codesT = tf.tensor2d(q.codebookValues(0), [k, d]);
    nearestCodes(tf.slice(keysT, [0, 0], [Math.min(U, 1000), d]) as tf.Tensor2D, codesT); // warm-up (kernel compile)
    let best = Infinity;
    let z: Int32Array = new Int32Array(0);
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      z = nearestCodes(keysT, codesT);
      best = Math.min(best, performance.now() - t0);
    }
    let bestHost = Infinity;
    let zh: Int32Array = new Int32Array(0);
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      zh = q.assign(keys, 0);
      bestHost = Math.min(bestHost, performance.now() - t0);
    }
    let agree = 0;
    for (let i = 0; i < U; i++) if (z[i] === zh[i]) agree++;
    const flops = 2 * U * k * (d + 1);
    rows.push({
      d,
      K: k,
      U,
      matmulMs: +best.toFixed(1),
      matmulAssignPerSec: Math.round(U / (best / 1000)),
      matmulGflops: +(flops / (best / 1000) / 1e9).toFixed(2),
      typedMs: +bestHost.toFixed(1),
      typedAssignPerSec: Math.round(U / (bestHost / 1000)),
      agreement: +(agree / U).toFixed(6),
    });
    const r = rows[rows.length - 1]!;
    console.log(
      `d=${String(d).padStart(2)} K=${String(k).padStart(4)}  matmul ${String(r['matmulMs']).padStart(8)} ms ${String(r['matmulAssignPerSec']).padStart(10)}/s ${String(r['matmulGflops']).padStart(6)} GFLOP/s   typed ${String(r['typedMs']).padStart(8)} ms ${String(r['typedAssignPerSec']).padStart(10)}/s   agree ${r['agreement']}`,
    );
    codesT.dispose();
    q.dispose();
  }
  keysT.dispose();
}
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'assign.json');
await mkdir(dirname(out), { recursive: true });
await writeFile(out, JSON.stringify({ backend: info.backend, U, reps, date: new Date().toISOString(), rows }, null, 2));
console.log(`wrote ${out}`);
