// Throughput of the metrics on 1e6 samples (the size of a large validation set).
import { writeFileSync, mkdirSync } from 'node:fs';
import { auc, gauc, logLoss, latencySummary } from '@vql/metrics';

const n = 1_000_000;
let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
const labels = new Float32Array(n);
const scores = new Float64Array(n);
const groups = new Int32Array(n);
for (let i = 0; i < n; i++) {
  labels[i] = rand() < 0.3 ? 1 : 0;
  scores[i] = Math.round((labels[i]! * 0.3 + rand()) * 1000) / 1000; // rounded: many ties
  groups[i] = Math.floor(rand() * 10_000);
}
const probs = Float64Array.from(scores, (s) => Math.min(1, s / 1.3));

const rows: Array<{ metric: string; ms: number; value: number }> = [];
function time(metric: string, fn: () => number): void {
  fn(); // warm-up
  const start = performance.now();
  const value = fn();
  rows.push({ metric, ms: Math.round((performance.now() - start) * 10) / 10, value });
}
time('auc', () => auc(labels, scores));
time('gauc (10k groups)', () => gauc(groups, labels, scores));
time('logLoss', () => logLoss(labels, probs));
time('latencySummary', () => latencySummary(scores).p99);

console.log(`metrics on n = ${n.toLocaleString()} samples`);
console.table(rows);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/metrics.json', JSON.stringify({ n, rows }, null, 2));
