import { batches, generateSynthetic, userBatches } from '@vql/data';
import type { CtrBatch, UserBatch } from '@vql/data';
import { tinySyntheticConfig } from '@vql/data/testing';
import { initBackend } from '@vql/runtime';
import { CtrModel } from './ctr-model.js';
import type { CtrModelConfig } from './ctr-model.js';
import { balancedShardRanges, shardRanges } from './data-parallel.js';
import { FullTargetAttention } from './full-target-attention.js';
import { registerInterestModule } from './interest-registry.js';
import { Trainer } from './trainer.js';

const ds = generateSynthetic(tinySyntheticConfig);
const full = { kind: 'full-attention', heads: 2, headDim: 4 };
const vql = { kind: 'vql', heads: 2, groups: 2, headDim: 4, codebookSizes: [8, 16] };

function modelConfig(interest: CtrModelConfig['interest'], extra: Partial<CtrModelConfig> = {}): CtrModelConfig {
  return { numItems: ds.schema.numItems, embeddingDim: 8, contextFeatures: ds.schema.context, context: { logitBias: true }, interest, tower: [16], seed: 5, ...extra };
}

/** k steps with `workers` threads: the losses and every weight after them. */
function train(config: CtrModelConfig, list: ReadonlyArray<CtrBatch | UserBatch>, workers: number, layout: 'sample' | 'user'): { losses: number[]; bce: number[]; weights: Record<string, Float32Array>; parallel: number } {
  const model = new CtrModel(config);
  const trainer = new Trainer(model, { maxLen: 12, layout, batchSize: 64, learningRate: 5e-3, seed: 3, log: () => undefined, progress: false, workers });
  const losses: number[] = [];
  const bce: number[] = [];
  try {
    for (const b of list) {
      const r = trainer.trainStep(b);
      losses.push(r.loss);
      bce.push(r.bce);
    }
    const weights: Record<string, Float32Array> = {};
    for (const [k, t] of Object.entries(model.getWeights())) weights[k] = Float32Array.from(t.dataSync());
    return { losses, bce, weights, parallel: trainer.dataParallelSteps };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

function maxRelDiff(a: Record<string, Float32Array>, b: Record<string, Float32Array>): number {
  let worst = 0;
  for (const [k, x] of Object.entries(a)) {
    const y = b[k]!;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / Math.max(1e-2, Math.abs(y[i]!)));
  }
  return worst;
}

beforeAll(async () => {
  await initBackend();
});

describe('Trainer workers (data-parallel)', () => {
  it('shards are contiguous, cover the batch and are at most as many as its targets', () => {
    expect(shardRanges(10, 3)).toEqual([[0, 3], [3, 6], [6, 10]]);
    expect(shardRanges(2, 4)).toEqual([[0, 1], [1, 2]]);
  });

  it('user batches are cut by cost: a later range re-reads the events an earlier one holds, so it gets fewer targets', () => {
    // One user, 100 targets; target i sees 1000 + 100·i events. A range costs its targets plus
    // 1/50 per event it holds: [0, 75) costs 75 + 8400/50 = 243, [75, 100) costs 25 + 10900/50 = 243.
    const oneUser = { layout: 'user', size: 100, numUsers: 1, targetOffsets: Int32Array.of(0, 100), historyEnd: Int32Array.from({ length: 100 }, (_, i) => 1000 + 100 * i) } as unknown as UserBatch;
    expect(balancedShardRanges(oneUser, 2)).toEqual([[0, 75], [75, 100]]);
    // Four users of 10 targets and 50 events each: nothing is re-read at user boundaries.
    const fourUsers = { layout: 'user', size: 40, numUsers: 4, targetOffsets: Int32Array.of(0, 10, 20, 30, 40), historyEnd: Int32Array.from({ length: 40 }, (_, i) => 5 * ((i % 10) + 1)) } as unknown as UserBatch;
    expect(balancedShardRanges(fourUsers, 2)).toEqual([[0, 20], [20, 40]]);
    const three = balancedShardRanges(oneUser, 3);
    expect(three.length).toBe(3);
    expect(three[0]![0]).toBe(0);
    expect(three[2]![1]).toBe(100);
    three.slice(1).forEach(([from], i) => expect(from).toBe(three[i]![1]));
    // Later ranges re-read more events, so they hold fewer targets.
    const sizes = three.map(([a, b]) => b - a);
    expect(sizes[0]).toBeGreaterThan(sizes[1]!);
    expect(sizes[1]).toBeGreaterThan(sizes[2]!);
    // Per-sample batches keep equal target counts.
    const sample = [...batches(ds.samples.train, { batchSize: 64, maxLen: 12 })][0]!;
    expect(balancedShardRanges(sample, 2)).toEqual(shardRanges(sample.size, 2));
    expect(balancedShardRanges(oneUser, 1)).toEqual([[0, 100]]);
  });

  it('full attention, per-sample batches: same seed and workers give identical weights; 2 workers follow 1 within float tolerance', () => {
    const list = [...batches(ds.samples.train, { batchSize: 64, maxLen: 12, shuffle: true, seed: 1 })].slice(0, 3);
    const config = modelConfig(full);
    const one = train(config, list, 1, 'sample');
    const two = train(config, list, 2, 'sample');
    const again = train(config, list, 2, 'sample');
    expect([one.parallel, two.parallel]).toEqual([0, 3]);
    expect(again.weights).toEqual(two.weights);
    expect(again.losses).toEqual(two.losses);
    two.losses.forEach((l, i) => expect(l).toBeCloseTo(one.losses[i]!, 5));
    expect(maxRelDiff(two.weights, one.weights)).toBeLessThan(1e-3);
  });

  it('whole-history VQL, user batches (causal scan, a user cut between shards): deterministic, and the per-target loss of 2 workers follows 1', () => {
    const list = [...userBatches(ds.samples.train, { batchSize: 64, shuffle: true, seed: 2 })].slice(0, 4);
    const config = modelConfig(vql, { historyPolicy: { kind: 'whole' } });
    const one = train(config, list, 1, 'user');
    const two = train(config, list, 2, 'user');
    const again = train(config, list, 2, 'user');
    expect(again.weights).toEqual(two.weights);
    expect(again.losses).toEqual(two.losses);
    // Step 1 runs whole (k-means initialisation); afterwards the BCE (a mean over targets) agrees,
    // while the VQ loss is a mean over each shard's unique rows (close, not equal).
    expect([one.parallel, two.parallel]).toEqual([0, 3]);
    expect(two.losses[0]).toBe(one.losses[0]);
    two.bce.forEach((l, i) => expect(Math.abs(l - one.bce[i]!)).toBeLessThan(1e-4));
    two.losses.forEach((l, i) => expect(Math.abs(l - one.losses[i]!)).toBeLessThan(1e-3));
  });

  it('a kind registered only on the main thread fails the first data-parallel step with WORKER_FAILED naming it; workers must be a positive integer', () => {
    // Full attention under a kind only this thread's registry knows.
    registerInterestModule('main-thread-only', (_config, ctx) => Object.assign(new FullTargetAttention({ heads: 2, headDim: 4 }, ctx), { kind: 'main-thread-only' }), { replace: true });
    const model = new CtrModel(modelConfig({ kind: 'main-thread-only', heads: 2, headDim: 4 }));
    const trainer = new Trainer(model, { maxLen: 12, batchSize: 64, seed: 3, log: () => undefined, progress: false, workers: 2 });
    const batch = [...batches(ds.samples.train, { batchSize: 64, maxLen: 12 })][0]!;
    try {
      expect(() => trainer.trainStep(batch)).toThrow(/could not build the model replica[\s\S]*main-thread-only/);
      expect(() => trainer.trainStep(batch)).toThrow(/main-thread-only/);
    } finally {
      trainer.dispose();
      model.dispose();
    }
    expect(() => new Trainer(model, { maxLen: 12, seed: 3, workers: 0 })).toThrow(/options.workers must be a positive integer/);
  });
});
