// One training-throughput measurement in its own process (so peak RSS is this configuration's):
// argv[2] = JSON { method, layout, L, batchSize, warmup, steps, threads?, workers?, pairWorkers?, dataCache? }. Prints one JSON line.
// Data: synthetic, ~330k events in total at every L (users of L..1.2L behaviours, one target per
// 10 behaviours), 50,000 items, no static context; d = 32, H = 4, G = 2, K = 64, R = 3, Adam.
import { batches, generateSynthetic, userBatches } from '@vql/data';
import type { CtrBatch, CtrSampleSet, UserBatch } from '@vql/data';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { deserialize, serialize } from 'node:v8';
import { initBackend } from '@vql/runtime';
import { CtrModel, Trainer, setCausalScanThreads } from '../src/index.js';
import type { CtrModelConfig, InterestModuleConfig } from '../src/index.js';

export type BenchMethod = 'full-attention' | 'twin' | 'vql-whole' | 'vql-newest';
export interface WorkerArgs {
  method: BenchMethod;
  layout: 'sample' | 'user';
  L: number;
  batchSize: number;
  warmup: number;
  steps: number;
  /** Threads of the causal-cache scan (whole-history VQL, user layout). Default 1. */
  threads?: number;
  /** Trainer `workers` (data-parallel threads). Default 1. */
  workers?: number;
  /**
   * A second trainer with this many workers on a copy of the model, stepping on the same batches
   * right after the first one (steps interleaved): its samples/s and the ratio to the first come
   * from one process and one stretch of time, so a shared machine's drift hits both alike.
   */
  pairWorkers?: number;
  /**
   * A file holding this L's generated train samples (v8-serialized): read when it exists, else
   * written after generating. The harness shares one per L, so the generator (minutes at
   * L = 10^5, where every impression's label sums over its whole history) runs once per L.
   */
  dataCache?: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as WorkerArgs;
const info = await initBackend();
setCausalScanThreads(args.threads ?? 1);
if (args.method === 'twin') {
  // @vql/baselines depends on @vql/model, so model cannot declare it; the bench (not shipped)
  // loads its sources directly to measure TWIN beside VQL in the same harness.
  const { registerBaselines } = (await import('../../baselines/src/index.js')) as { registerBaselines: () => string[] };
  registerBaselines();
}
const interest: Record<BenchMethod, InterestModuleConfig> = {
  'full-attention': { kind: 'full-attention', heads: 4, headDim: 8 },
  twin: { kind: 'twin', heads: 4, headDim: 8, k: 100 },
  'vql-whole': { kind: 'vql', heads: 4, groups: 2, headDim: 8, codebookSizes: [64, 64] },
  'vql-newest': { kind: 'vql', heads: 4, groups: 2, headDim: 8, codebookSizes: [64, 64] },
};
const { L } = args;
const users = Math.max(2, Math.round(300000 / L));
const generate = (): CtrSampleSet =>
  generateSynthetic({
    seed: 11,
    numUsers: users,
    numItems: 50000,
    numCategories: 200,
    historyLength: { min: L, median: L, max: Math.round(L * 1.2) },
    impressionsPerUser: Math.max(1, Math.round(L / 10)),
  }).samples.train;
let train: CtrSampleSet;
if (args.dataCache !== undefined && existsSync(args.dataCache)) {
  train = deserialize(readFileSync(args.dataCache)) as CtrSampleSet;
} else {
  train = generate();
  if (args.dataCache !== undefined) writeFileSync(args.dataCache, serialize(train));
}
const config: CtrModelConfig = {
  numItems: 50000,
  embeddingDim: 32,
  interest: interest[args.method],
  historyPolicy: args.method === 'vql-whole' ? { kind: 'whole' } : { kind: 'newest', length: L },
  tower: [64, 32],
  seed: 1,
};
// Whole histories in the sample layout: rows long enough for every behaviour (per-position cost).
const maxLen = args.method === 'vql-whole' ? Math.round(L * 1.2) : L;
const trainerOptions = { maxLen, layout: args.layout, batchSize: args.batchSize, learningRate: 1e-3, seed: 1, log: () => undefined, progress: false } as const;
const model = new CtrModel(config);
const trainer = new Trainer(model, { ...trainerOptions, workers: args.workers ?? 1 });
const pairModel = args.pairWorkers === undefined ? null : new CtrModel(config);
const pair = pairModel === null ? null : new Trainer(pairModel, { ...trainerOptions, workers: args.pairWorkers ?? 1 });
const want = args.warmup + args.steps;
const list: Array<CtrBatch | UserBatch> = [];
const source =
  args.layout === 'sample'
    ? batches(train, { batchSize: args.batchSize, maxLen, shuffle: true, seed: 1, dropLast: true, context: false })
    : userBatches(train, { batchSize: args.batchSize, maxLen: args.method === 'vql-whole' ? null : L, shuffle: true, seed: 1, context: false });
for (const b of source) {
  list.push(b);
  if (list.length >= want) break;
}
for (let i = 0; i < args.warmup; i++) {
  trainer.trainStep(list[i % list.length]!);
  pair?.trainStep(list[i % list.length]!);
}
let samples = 0;
let events = 0;
const stepMs: number[] = [];
const stepCpuMs: number[] = [];
const pairStepMs: number[] = [];
const timed = (t: Trainer, b: CtrBatch | UserBatch): { ms: number; cpuMs: number } => {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  t.trainStep(b);
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - wall, cpuMs: (used.user + used.system) / 1000 };
};
for (let i = 0; i < args.steps; i++) {
  const b = list[(args.warmup + i) % list.length]!;
  const one = timed(trainer, b);
  stepMs.push(one.ms);
  stepCpuMs.push(one.cpuMs);
  if (pair !== null) pairStepMs.push(timed(pair, b).ms);
  samples += b.size;
  events += 'layout' in b ? b.historyItem.length : b.size * b.maxLen;
}
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const seconds = sum(stepMs) / 1000;
console.log(
  JSON.stringify({
    ...args,
    backend: info.backend,
    samplesPerSecond: samples / seconds,
    msPerStep: (1000 * seconds) / args.steps,
    stepMs: stepMs.map(Math.round),
    // CPU time of the whole process (every thread) per step: wall ≈ CPU means the time was ours.
    stepCpuMs: stepCpuMs.map(Math.round),
    ...(pair === null ? {} : { pair: { workers: args.pairWorkers, samplesPerSecond: samples / (sum(pairStepMs) / 1000), msPerStep: sum(pairStepMs) / args.steps, stepMs: pairStepMs.map(Math.round), speedup: sum(stepMs) / sum(pairStepMs) } }),
    targetsPerStep: samples / args.steps,
    behavioursPerStep: events / args.steps,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  }),
);
trainer.dispose();
model.dispose();
pair?.dispose();
pairModel?.dispose();
