// Cost of the paired user bootstrap at the report's size: 50k test samples, 1000 resamples,
// 30 predictors scored on the same resamples (every pair then costs one subtraction per resample).
import { writeFileSync, mkdirSync } from 'node:fs';
import { UserBootstrap, auc, pairedAucDifference } from '@vql/metrics';

const n = 50_000;
const resamples = 1000;
const predictors = 30;
let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);

// The machine is shared and noisy: the same run also times one plain auc() per predictor, and the
// table reports the bootstrap's cost per resample in units of that (the naive way costs ≥ 1 each).
const rows: Array<{ case: string; users: number; ms: number; nsPerSampleResample: number; resampleCostInAucCalls: number }> = [];
for (const [name, users, tied] of [['10 samples per user', 5_000, false], ['1 sample per user', n, false], ['10 per user, scores rounded (ties)', 5_000, true]] as const) {
  const ids = Int32Array.from({ length: n }, (_, i) => Math.floor((i * users) / n));
  const labels = Float32Array.from({ length: n }, () => (rand() < 0.3 ? 1 : 0));
  const scores = Array.from({ length: predictors }, (_, j) =>
    Float32Array.from(labels, (y) => (tied ? Math.round((y * (0.2 + j / 100) + rand()) * 100) / 100 : y * (0.2 + j / 100) + rand())),
  );
  const start = performance.now();
  const boot = new UserBootstrap(ids, labels, { resamples, seed: 1 });
  const reps = boot.aucReplicates(scores);
  for (let j = 1; j < predictors; j++) pairedAucDifference(reps[0]!, reps[j]!);
  const ms = performance.now() - start;
  const aucStart = performance.now();
  for (const s of scores) auc(labels, s);
  const aucMs = (performance.now() - aucStart) / predictors;
  rows.push({
    case: name,
    users,
    ms: Math.round(ms),
    nsPerSampleResample: Math.round((ms * 1e6 * 100) / (n * resamples * predictors)) / 100,
    resampleCostInAucCalls: Math.round((ms / (resamples * predictors) / aucMs) * 1000) / 1000,
  });
}

console.log(`paired user bootstrap: n = ${n.toLocaleString()}, ${resamples} resamples, ${predictors} predictors (${predictors - 1} pairs)`);
console.table(rows);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/bootstrap.json', JSON.stringify({ n, resamples, predictors, rows }, null, 2));
