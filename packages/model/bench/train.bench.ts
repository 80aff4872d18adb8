// Training throughput of full target attention and VQL on the workload:
// B=256, L ∈ {1000, 5000}, d=32, H=4, G=2, K=64, R=3, 50,000 items, Adam.
// Reference (a straightforward PyTorch CPU implementation on these machines, from the issue):
// ~850 samples/s full attention, ~290 samples/s VQL quantizing every behaviour, at L=1000.
// Usage: pnpm --filter @vql/model bench   (env: BENCH_LENGTHS=1000,5000 BENCH_STEPS=6 VQL_BACKEND=cpu)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { batches, generateSynthetic } from '@vql/data';
import type { CtrBatch } from '@vql/data';
import { initBackend, tf } from '@vql/runtime';
import { CtrModel, Trainer } from '../src/index.js';
import type { InterestModuleConfig } from '../src/index.js';

const B = 256;
const lengths = (process.env['BENCH_LENGTHS'] ?? '1000,5000').split(',').map(Number);
const steps = Number(process.env['BENCH_STEPS'] ?? 6);
const warmup = 2;
const info = await initBackend();

const methods: Array<[string, InterestModuleConfig]> = [
  ['full-attention', { kind: 'full-attention', heads: 4, headDim: 8 }],
  ['vql', { kind: 'vql', heads: 4, groups: 2, headDim: 8, codebookSizes: [64, 64] }],
];

interface Row {
  method: string;
  L: number;
  samplesPerSecond: number;
  msPerStep: number;
  uniqueRowsPerBatch: number;
  steps: number;
}
const rows: Row[] = [];
const maxL = Math.max(...lengths);
const t0 = performance.now();
const ds = generateSynthetic({
  seed: 11,
  numUsers: 120,
  numItems: 50000,
  numCategories: 200,
  historyLength: { min: maxL + 10, median: maxL + 500, max: maxL + 2000 },
  impressionsPerUser: 30,
});
console.log(`backend ${info.backend}; synthetic data: ${ds.table.numEvents} events, ${ds.samples.train.size} train samples (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

for (const L of lengths) {
  const batchList: CtrBatch[] = [];
  for (const b of batches(ds.samples.train, { batchSize: B, maxLen: L, shuffle: true, seed: 1, dropLast: true, context: false })) {
    batchList.push(b);
    if (batchList.length >= warmup + steps) break;
  }
  for (const [name, interest] of methods) {
    // Static context off: the workload is items, times and the kernel (R = 3 decay rates, default).
    const model = new CtrModel({ numItems: 50000, embeddingDim: 32, interest, tower: [64, 32], seed: 1 });
    const trainer = new Trainer(model, { maxLen: L, batchSize: B, learningRate: 1e-3, seed: 1, log: () => undefined, progress: false });
    for (let i = 0; i < warmup; i++) trainer.trainStep(batchList[i % batchList.length]!);
    // Unique rows are counted outside the timed loop: a second `prepare` per step would be timed too.
    let unique = 0;
    for (let i = 0; i < steps; i++) unique += model.prepare(batchList[(warmup + i) % batchList.length]!).uniqueItem.length;
    const start = performance.now();
    for (let i = 0; i < steps; i++) trainer.trainStep(batchList[(warmup + i) % batchList.length]!);
    const seconds = (performance.now() - start) / 1000;
    rows.push({ method: name, L, samplesPerSecond: (steps * B) / seconds, msPerStep: (1000 * seconds) / steps, uniqueRowsPerBatch: Math.round(unique / steps), steps });
    console.log(`${name.padEnd(15)} L=${String(L).padEnd(5)} ${((steps * B) / seconds).toFixed(0).padStart(6)} samples/s  ${((1000 * seconds) / steps).toFixed(0).padStart(6)} ms/step  U≈${Math.round(unique / steps)}`);
    trainer.dispose();
    model.dispose();
  }
}

console.log('\n| method | L | samples/s | ms/step | unique rows/batch |\n|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.method} | ${r.L} | ${r.samplesPerSecond.toFixed(0)} | ${r.msPerStep.toFixed(0)} | ${r.uniqueRowsPerBatch} |`);
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'train.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    {
      backend: info.backend,
      workload: { B, d: 32, H: 4, G: 2, K: 64, R: 3, vocab: 50000, optimizer: 'adam', context: false },
      reference: { fullAttentionL1000: 850, vqlEveryBehaviourL1000: 290, source: 'issue: PyTorch CPU' },
      tensorsAfter: tf.memory().numTensors,
      rows,
    },
    null,
    2,
  ),
);
console.log(`\nwrote ${out}`);
