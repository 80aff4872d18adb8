import type { ExperimentConfig } from './config.js';

const ALL_METHODS: ExperimentConfig['methods'] = [
  'full-attention', 'vql', 'sim-hard', 'sim-soft', 'eta', 'twin', 'sdim',
  'slot-compression', 'multi-interest', 'last-n', 'floor', 'oracle',
];

const baseModel: ExperimentConfig['model'] = {
  embeddingDim: 32,
  heads: 4,
  groups: 2,
  codebookSizes: [16, 64],
  kernelRank: 3,
  vqWeight: 0.25,
  logitBias: true,
  shortTermLength: 20,
  topK: 50,
  slots: 8,
};

/**
 * The synthetic ultra-long benchmark (README of @vql/data, "Synthetic generative process"):
 * histories of 500…10⁴ behaviours over months, dormant interests that return, a true click model
 * that is a multi-head target attention with item- and topic-level matches; the generator's
 * defaults set it.
 */
const syntheticBenchmark = (numUsers: number, impressionsPerUser: number): NonNullable<ExperimentConfig['datasets'][number]['synthetic']> => ({
  numUsers,
  numItems: 20_000,
  numCategories: 25,
  historyLength: { min: 500, median: 3000, max: 10_000 },
  impressionsPerUser,
  // 60 / 10 / 30 by time per user: a test split large enough for ±0.005 AUC intervals.
  split: [0.6, 0.1, 0.3],
});

/** CI: tiny synthetic data, every method once, no sweeps beyond one point each. */
const smoke: ExperimentConfig = {
  name: 'smoke',
  seeds: [1],
  backend: 'wasm',
  // Two topics per category and a behaviour every 4 h: a small world that 3,000 samples can learn.
  datasets: [{ name: 'synthetic', maxLen: 100, synthetic: { numUsers: 120, numItems: 400, numCategories: 12, historyLength: { min: 50, median: 150, max: 300 }, impressionsPerUser: 40, topicsPerCategory: 2, meanGapSeconds: 14_400 }, maxTrainSamples: 3000 }],
  methods: ALL_METHODS,
  model: { ...baseModel, embeddingDim: 16, codebookSizes: [8, 16], topK: 20, slots: 4 },
  train: { epochs: 2, batchSize: 128, learningRate: 0.01, patience: 2, itemOptimizer: 'adagrad', itemLearningRate: 0.1, weightDecay: 0, dropout: 0 },
  studies: {
    main: true,
    wholeHistoryVql: true,
    ablations: true,
    codebookSweep: [],
    groupSweep: [],
    lengthSweep: [],
    lengthSweepMethods: [],
    latency: { lengths: [100, 1000], candidates: [1, 100], requests: 20, methods: ['vql', 'full-attention', 'twin', 'eta', 'sdim'] },
  },
};

/**
 * The README's main job: the synthetic benchmark whole (62,400 train / 31,200 test samples) at
 * L = 100 and 300, every method, whole-history VQL, the ablations, latency; MovieLens beside it.
 * Training settings were chosen on the validation split (Adagrad item table: dense Adam's
 * momentum memorised rare items and validation LogLoss rose from the first epoch).
 */
const quick: ExperimentConfig = {
  name: 'quick',
  seeds: [1],
  backend: 'wasm',
  datasets: [
    { name: 'synthetic', maxLen: 100, synthetic: syntheticBenchmark(520, 200) },
    { name: 'movielens', maxLen: 200, maxTrainSamples: 8000, maxEvalSamples: 2000 },
  ],
  methods: ALL_METHODS,
  model: baseModel,
  train: { epochs: 2, batchSize: 256, learningRate: 0.005, patience: 2, itemOptimizer: 'adagrad', itemLearningRate: 0.1, weightDecay: 0, dropout: 0.1, maxRunSeconds: 400 },
  studies: {
    main: true,
    wholeHistoryVql: true,
    ablations: ['synthetic'],
    codebookSweep: [],
    groupSweep: [],
    lengthSweep: [100, 300],
    lengthSweepMethods: ['vql', 'full-attention', 'floor', 'oracle'],
    // 20 requests per point: the latency study runs alone after training, and quick must fit 20 min.
    latency: { lengths: [100, 1000, 10_000, 100_000, 1_000_000], candidates: [1, 100], requests: 20, methods: ['vql', 'full-attention', 'twin', 'eta', 'sdim'] },
  },
};

/**
 * The committed-result preset (docs/results/paper), sized for 90 minutes on 2 cores: the
 * synthetic benchmark with item content features at L = 1000 and 10⁴, three seeds, every training
 * sample. Measured per run at L = 1000 (2 epochs, 2 jobs): VQL ~260 s, full attention ~660 s,
 * TWIN ~620 s, ETA / SIM hard ~350–450 s, SIM soft ~550–670 s, slot compression and multi-interest ~920–1,050 s,
 * so VQL, full attention, last-n and the references run three seeds and the other baselines one;
 * at L = 10⁴ runs estimated over 350 s are "not run: cost" (VQL, whose cost does not grow with L,
 * runs; it is also whole-history VQL there, trained once). Ablations, the L sweep and latency run
 * on the first seed; the K and G sweeps are left to a config (each point is one more VQL run).
 */
const paper: ExperimentConfig = {
  ...quick,
  name: 'paper',
  seeds: [1, 2, 3],
  // last-n reads the newest 100 (DIN over the recent behaviours, as in the SIM paper's short-term baseline).
  model: { ...quick.model, shortTermLength: 100 },
  datasets: [
    // 102,960 train / 52,000 test impressions.
    { name: 'synthetic', maxLen: [1000, 10_000], synthetic: { ...syntheticBenchmark(520, 330), contentDims: 8, contentNoise: 0.05 } },
  ],
  train: { ...quick.train, epochs: 2, maxRunSeconds: { '10000': 350 } },
  studies: {
    ...quick.studies,
    ablations: ['synthetic'],
    codebookSweep: [],
    groupSweep: [],
    lengthSweep: [300],
    lengthSweepMethods: ['vql', 'full-attention', 'floor', 'oracle'],
    sweepSeeds: 1,
    seedsPerMethod: { 'sim-hard': 1, 'sim-soft': 1, eta: 1, twin: 1, sdim: 1, 'slot-compression': 1, 'multi-interest': 1 },
  },
};

export const PRESETS = { smoke, quick, paper } as const;
export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];
