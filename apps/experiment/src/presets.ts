import type { ExperimentConfig } from './config.js';

const ALL_METHODS: ExperimentConfig['methods'] = [
  'full-attention', 'vql', 'sim-hard', 'sim-soft', 'eta', 'twin', 'sdim',
  'slot-compression', 'multi-interest', 'last-n', 'oracle',
];

const baseModel: ExperimentConfig['model'] = {
  embeddingDim: 32,
  heads: 4,
  groups: 2,
  codebookSizes: [16, 64],
  kernelRank: 3,
  vqWeight: 0.25,
  shortTermLength: 20,
  topK: 50,
  slots: 8,
};

/** CI: tiny synthetic data, every method once, no sweeps beyond one point each. */
const smoke: ExperimentConfig = {
  name: 'smoke',
  seeds: [1],
  backend: 'wasm',
  datasets: [{ name: 'synthetic', maxLen: 100, synthetic: { numUsers: 120, numItems: 400, numCategories: 12, historyLength: { min: 50, median: 150, max: 300 }, impressionsPerUser: 40 }, maxTrainSamples: 1500 }],
  methods: ALL_METHODS,
  model: { ...baseModel, embeddingDim: 16, codebookSizes: [8, 16], topK: 20, slots: 4 },
  train: { epochs: 1, batchSize: 128, learningRate: 0.003, patience: 1 },
  studies: {
    main: true,
    ablations: true,
    codebookSweep: [],
    groupSweep: [],
    lengthSweep: [],
    lengthSweepMethods: [],
    latency: { lengths: [100, 1000], candidates: [1, 100], requests: 20, methods: ['vql', 'full-attention', 'twin', 'eta', 'sdim'] },
  },
};

/** The README's main job: every dataset found, all studies, under 20 minutes on 2 cores. */
const quick: ExperimentConfig = {
  name: 'quick',
  seeds: [1],
  backend: 'wasm',
  datasets: [
    {
      name: 'synthetic',
      maxLen: 300,
      synthetic: { numUsers: 400, numItems: 500, numCategories: 25, historyLength: { min: 200, median: 800, max: 3000 }, impressionsPerUser: 60 },
      maxTrainSamples: 12_000,
      maxEvalSamples: 2000,
    },
    { name: 'movielens', maxLen: 200, maxTrainSamples: 8000, maxEvalSamples: 2000 },
    { name: 'taobao', maxLen: 200, maxTrainSamples: 8000, maxEvalSamples: 2000 },
    { name: 'kuairand', maxLen: 100, maxTrainSamples: 8000, maxEvalSamples: 2000 },
  ],
  methods: ALL_METHODS,
  model: baseModel,
  train: { epochs: 3, batchSize: 256, learningRate: 0.01, patience: 1 },
  studies: {
    main: true,
    ablations: ['synthetic', 'movielens'],
    codebookSweep: [16, 64, 256],
    groupSweep: [1, 2, 4],
    lengthSweep: [100, 300, 1000],
    lengthSweepMethods: ['vql', 'full-attention', 'twin'],
    latency: { lengths: [100, 1000, 10_000, 100_000, 1_000_000], candidates: [1, 100], requests: 30, methods: ['vql', 'full-attention', 'twin', 'eta', 'sdim'] },
  },
};

/** Larger scale, three seeds (mean ± std), resumable. */
const full: ExperimentConfig = {
  ...quick,
  name: 'full',
  seeds: [1, 2, 3],
  datasets: [
    { name: 'synthetic', maxLen: 2000, synthetic: { numUsers: 2000, numItems: 5000, numCategories: 100, historyLength: { min: 500, median: 4000, max: 20_000 }, impressionsPerUser: 60 } },
    { name: 'movielens', maxLen: 500 },
    { name: 'taobao', maxLen: 300 },
    { name: 'kuairand', maxLen: 200 },
  ],
  model: { ...baseModel, codebookSizes: [64, 256] },
  train: { epochs: 10, batchSize: 256, learningRate: 0.002, patience: 2 },
  studies: {
    ...quick.studies,
    ablations: true,
    codebookSweep: [16, 64, 256, 1024],
    groupSweep: [1, 2, 4],
    lengthSweep: [100, 500, 2000, 5000],
    lengthSweepMethods: ['vql', 'full-attention', 'twin', 'eta', 'sim-hard', 'sdim'],
  },
};

export const PRESETS = { smoke, quick, full } as const;
export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];
