// Preprocessing throughput (events/s) and batch throughput (samples/s at L = 1000 and 10^4).
// Prints a table and writes bench/results/data.bench.json. Never asserts on time.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '@vql/runtime';
import { batches, generateSynthetic, loadEventTable, readTaobao, saveEventTable } from '../src/index.js';

const rows: Record<string, string | number>[] = [];
const work = mkdtempSync(join(tmpdir(), 'vql-data-bench-'));

// 1. CSV → EventTable on a Taobao-format file (plain CSV, 500k rows).
const n = 500_000;
const rng = createRng('bench');
const lines: string[] = [];
let t = 1511600000;
for (let i = 0; i < n; i++) {
  t += rng.int(60);
  lines.push(`${1 + Math.floor(i / 500)},${1 + rng.int(100_000)},${1 + rng.int(3000)},${['pv', 'buy', 'cart', 'fav'][rng.int(4)]},${t}`);
}
const csv = join(work, 'UserBehavior.csv');
writeFileSync(csv, lines.join('\n'));
let t0 = performance.now();
const table = await readTaobao({ file: csv });
let s = (performance.now() - t0) / 1000;
rows.push({ step: 'parse + normalize CSV (taobao format)', events: table.numEvents, seconds: +s.toFixed(3), 'per second': Math.round(table.numEvents / s) });
t0 = performance.now();
saveEventTable(table, join(work, 'store'));
s = (performance.now() - t0) / 1000;
rows.push({ step: 'write Arrow IPC', events: table.numEvents, seconds: +s.toFixed(3), 'per second': Math.round(table.numEvents / s) });
t0 = performance.now();
loadEventTable(join(work, 'store'));
s = (performance.now() - t0) / 1000;
rows.push({ step: 'reload Arrow IPC (zero-copy)', events: table.numEvents, seconds: +s.toFixed(4), 'per second': Math.round(table.numEvents / s) });

// 2. Synthetic generator at the CI size.
t0 = performance.now();
const ds = generateSynthetic({ seed: 1, numUsers: 1000, numItems: 5000, numCategories: 50, historyLength: { min: 500, median: 2000, max: 8000 } });
s = (performance.now() - t0) / 1000;
rows.push({ step: 'generateSynthetic (1000 users, ~2k events)', events: ds.table.numEvents, seconds: +s.toFixed(3), 'per second': Math.round(ds.table.numEvents / s) });

// 3. Batches over ultra-long users (median 20k events) at L = 1000 and 10^4.
const long = generateSynthetic({ seed: 3, numUsers: 60, numItems: 20000, numCategories: 100, historyLength: { min: 12000, median: 20000, max: 40000 }, impressionsPerUser: 40 });
for (const L of [1000, 10_000]) {
  let count = 0;
  t0 = performance.now();
  for (const b of batches(long.samples.train, { batchSize: 128, maxLen: L, shuffle: true, seed: 1 })) count += b.size;
  s = (performance.now() - t0) / 1000;
  rows.push({ step: `batches L=${L} (B=128, context on)`, events: count, seconds: +s.toFixed(3), 'per second': Math.round(count / s) });
}

console.table(rows);
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'results', 'data.bench.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2));
rmSync(work, { recursive: true, force: true });
