// Context fusion cost: tfjs forward (training) on the active backend and the typed-array host
// forward the cache builder uses. Prints a table and writes bench/results/context-fusion.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng, initBackend, tf } from '@vql/runtime';
import { ContextEncoder } from '../src/index.js';
import type { ContextFeatureSpec } from '../src/index.js';

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
const features: ContextFeatureSpec[] = [
  { name: 'category', kind: 'categorical', scope: 'item', vocabSize: 1000 },
  { name: 'tags', kind: 'multi', scope: 'item', vocabSize: 5000, width: 5 },
  { name: 'action', kind: 'categorical', scope: 'event', vocabSize: 4 },
  { name: 'playRatio', kind: 'numeric', scope: 'event', boundaries: [0.1, 0.25, 0.5, 0.75, 0.9] },
];
const d = 32;
const n = 10_000;
const rng = createRng('bench/context-fusion');
const item = new Float32Array(n * d).map(() => rng.normal());
const ctx = {
  category: new Int32Array(n).map(() => rng.int(1001)),
  tags: new Int32Array(n * 5).map(() => rng.int(5001)),
  action: new Int32Array(n).map(() => rng.int(5)),
  playRatio: new Float32Array(n).map(() => rng.next()),
};
const rows: Array<Record<string, string | number>> = [];
for (const fusion of ['concat', 'sum'] as const) {
  const enc = new ContextEncoder({ features, itemDim: d, fusion, logitBias: true, seed: 1 });
  const itemT = tf.tensor2d(item, [n, d]);
  const tfMs = time(() =>
    tf.tidy(() => {
      const { fused, bias } = enc.encodeHistory(itemT, ctx);
      fused.dataSync();
      bias!.dataSync();
    }),
  );
  const host = enc.toHost();
  const hostBatchMs = time(() => {
    host.fuseHistory(item, ctx, n);
    host.logitBias(ctx, n);
  });
  const one = {
    category: ctx.category.subarray(0, 1),
    tags: ctx.tags.subarray(0, 5),
    action: ctx.action.subarray(0, 1),
    playRatio: ctx.playRatio.subarray(0, 1),
  };
  const oneItem = item.subarray(0, d);
  const hostOneUs = time(() => host.fuseHistory(oneItem, one)) * 1000;
  rows.push({
    fusion,
    [`tfjs encodeHistory N=1e4 on ${info.backend} (ms)`]: Number(tfMs.toFixed(2)),
    'host fuse+bias N=1e4 (ms)': Number(hostBatchMs.toFixed(2)),
    'host fuse 1 behaviour (µs)': Number(hostOneUs.toFixed(2)),
  });
  itemT.dispose();
  enc.dispose();
}
console.table(rows);
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'context-fusion.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ backend: info.backend, node: process.version, itemDim: d, n, rows }, null, 2));
console.log(`wrote ${out}`);
