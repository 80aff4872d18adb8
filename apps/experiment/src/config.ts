import { z } from 'zod';
import { ExperimentConfigError } from './errors.js';

export const DATASET_NAMES = ['synthetic', 'movielens', 'taobao', 'kuairand', 'events', 'longctr'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export const METHOD_NAMES = [
  'full-attention',
  'vql',
  'sim-hard',
  'sim-soft',
  'eta',
  'twin',
  'sdim',
  'slot-compression',
  'multi-interest',
  'last-n',
  'floor',
  'oracle',
] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

export const VQL_ABLATIONS = ['no-key-only', 'no-multi-scale', 'no-context', 'no-temporal-kernel'] as const;
export type VqlAblation = (typeof VQL_ABLATIONS)[number];

const positiveInt = z.number().int().min(1);

const fraction = z.number().min(0).max(1);

/** Overrides of @vql/data's `SyntheticConfig` (the seed comes from the run; README "Synthetic generative process"). */
const syntheticSchema = z
  .object({
    numUsers: positiveInt,
    numItems: positiveInt,
    numCategories: positiveInt,
    historyLength: z.object({ min: positiveInt, median: positiveInt, max: positiveInt, sigma: z.number().positive().optional() }).strict(),
    impressionsPerUser: positiveInt.optional(),
    topicsPerCategory: positiveInt.optional(),
    numInterests: z.object({ min: positiveInt, max: positiveInt }).strict().optional(),
    meanGapSeconds: z.number().positive().optional(),
    activeSeconds: z.number().positive().optional(),
    dormantSeconds: z.number().positive().optional(),
    decayHalfLivesSeconds: z.array(z.number().positive()).min(1).optional(),
    decayWeights: z.array(z.number()).min(1).optional(),
    matchWeights: z.object({ category: z.number().min(0), topic: z.number().min(0), item: z.number().min(0) }).strict().optional(),
    attentionSharpness: z.number().min(0).optional(),
    latentDim: positiveInt.optional(),
    itemBiasStd: z.number().min(0).optional(),
    modalityNoise: z.number().min(0).optional(),
    /** Item content features carrying the first K latent coordinates (@vql/data README). */
    contentDims: z.number().int().min(0).optional(),
    contentNoise: z.number().min(0).optional(),
    noise: fraction.optional(),
    targetInterestProb: fraction.optional(),
    confuserProb: fraction.optional(),
    bias: z.number().optional(),
    /** Train / validation / test fractions of each user's impressions (by time). */
    split: z.tuple([fraction, fraction, fraction]).optional(),
  })
  .strict();

const datasetSchema = z
  .object({
    name: z.enum(DATASET_NAMES),
    /**
     * History length L of the main comparison on this dataset; a list runs the comparison at each
     * (the sensitivity studies use the first).
     */
    maxLen: z.union([positiveInt, z.array(positiveInt).min(1)]),
    /** At most this many training samples per epoch (seeded subsample), for quick runs. */
    maxTrainSamples: positiveInt.optional(),
    /** At most this many validation / test samples (seeded subsample), for quick runs. */
    maxEvalSamples: positiveInt.optional(),
    synthetic: syntheticSchema.optional(),
    /** `events`: the user's event log and its schema (`pnpm experiment --events FILE --schema FILE`). */
    events: z.object({ file: z.string().min(1), schema: z.string().min(1) }).strict().optional(),
    /** `longctr`: a folder in the reczoo/LongCTR Parquet layout (`--longctr DIR`). */
    longctr: z.object({ dir: z.string().min(1) }).strict().optional(),
  })
  .strict();

const modelSchema = z
  .object({
    embeddingDim: positiveInt,
    heads: positiveInt,
    groups: positiveInt,
    /** Codebook size per head group (multi-scale); length must equal `groups`. */
    codebookSizes: z.array(positiveInt).min(1),
    kernelRank: positiveInt,
    vqWeight: z.number().min(0),
    /** Per-behaviour logit bias from static context (DESIGN §1) in every model with context. */
    logitBias: z.boolean().default(true),
    /** Number of newest behaviours in the short-term branch and in the last-n method. */
    shortTermLength: positiveInt,
    /** k of the top-k retrieval baselines. */
    topK: positiveInt,
    /** Slots / interests of the compression baselines. */
    slots: positiveInt,
  })
  .strict();

const trainSchema = z
  .object({
    epochs: positiveInt,
    batchSize: positiveInt,
    learningRate: z.number().positive(),
    /** Early stopping: epochs without a validation LogLoss gain before stopping (best weights restored). */
    patience: positiveInt,
    /**
     * Optimizer of the item embedding table: 'adagrad' moves a row only when its item is in the
     * batch (dense Adam's momentum memorises rare items); `itemLearningRate` is its rate.
     */
    itemOptimizer: z.enum(['adam', 'adagrad']).default('adagrad'),
    itemLearningRate: z.number().positive().default(0.1),
    /** Decoupled weight decay on embedding tables and tower kernels. */
    weightDecay: z.number().min(0).default(0),
    /** Dropout on the tower's hidden layers. */
    dropout: z.number().min(0).lt(1).default(0),
    /**
     * Runs whose estimated training time (measured on a few steps × steps per epoch × epochs)
     * exceeds this are not trained; the results say "not run: cost" with the estimate. A number
     * is the budget at every L; an object maps L (as a key: "10000") to its budget, and an L it
     * does not list has none.
     */
    maxRunSeconds: z
      .union([z.number().positive(), z.record(z.string().regex(/^[1-9][0-9]*$/), z.number().positive())], {
        error: 'must be seconds (> 0) or an object from history length L ("10000") to seconds',
      })
      .optional(),
  })
  .strict();

const latencySchema = z
  .object({
    lengths: z.array(positiveInt).min(1),
    candidates: z.array(positiveInt).min(1),
    requests: positiveInt,
    methods: z.array(z.enum(METHOD_NAMES)).min(1),
  })
  .strict();

const studiesSchema = z
  .object({
    main: z.boolean(),
    /**
     * VQL trained on whole histories from causal caches (L-free training) beside the main
     * comparison, on the synthetic data, recorded at the largest main L.
     */
    wholeHistoryVql: z.boolean().default(false),
    /** The four VQL ablations: on every dataset (true), none (false), or the listed ones. */
    ablations: z.union([z.boolean(), z.array(z.enum(DATASET_NAMES))]),
    /** Largest codebook size K per run; groups get K/4^(G−1−g) (coarse to fine). */
    codebookSweep: z.array(positiveInt),
    /** Head-group counts G; the total code budget (sum of model.codebookSizes) stays fixed. */
    groupSweep: z.array(positiveInt),
    lengthSweep: z.array(positiveInt),
    /** Methods trained in the L sweep (intersected with `methods`). */
    lengthSweepMethods: z.array(z.enum(METHOD_NAMES)),
    latency: latencySchema.nullable(),
    /**
     * The ablations, the K / G / L sweeps and latency run on the first `sweepSeeds` of `seeds`
     * (default: all); the main comparison always runs on every seed.
     */
    sweepSeeds: positiveInt.optional(),
    /**
     * Methods that run the main comparison on only the first N of `seeds` (costly baselines in a
     * time budget); the report shows each row's seed count. Unlisted methods run every seed.
     */
    seedsPerMethod: z.partialRecord(z.enum(METHOD_NAMES), positiveInt).optional(),
  })
  .strict();

export const experimentConfigSchema = z
  .object({
    name: z.string().min(1),
    seeds: z.array(z.number().int().min(0)).min(1),
    backend: z.enum(['wasm', 'cpu']),
    datasets: z.array(datasetSchema).min(1),
    methods: z.array(z.enum(METHOD_NAMES)).min(1),
    model: modelSchema,
    train: trainSchema,
    studies: studiesSchema,
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (cfg.model.codebookSizes.length !== cfg.model.groups) {
      ctx.addIssue({
        code: 'custom',
        path: ['model', 'codebookSizes'],
        message: `has ${cfg.model.codebookSizes.length} entries but model.groups is ${cfg.model.groups}`,
      });
    }
    if (cfg.model.heads % cfg.model.groups !== 0) {
      ctx.addIssue({ code: 'custom', path: ['model', 'heads'], message: `${cfg.model.heads} is not a multiple of model.groups (${cfg.model.groups})` });
    }
    if (cfg.model.embeddingDim % cfg.model.heads !== 0) {
      ctx.addIssue({ code: 'custom', path: ['model', 'embeddingDim'], message: `${cfg.model.embeddingDim} is not a multiple of model.heads (${cfg.model.heads})` });
    }
    cfg.datasets.forEach((d, i) => {
      if (d.name === 'synthetic' && d.synthetic === undefined) {
        ctx.addIssue({ code: 'custom', path: ['datasets', i, 'synthetic'], message: 'is required for the synthetic dataset (numUsers, numItems, numCategories, historyLength)' });
      }
      if (d.name === 'events' && d.events === undefined) {
        ctx.addIssue({ code: 'custom', path: ['datasets', i, 'events'], message: 'is required for the events dataset ({ "file": ..., "schema": ... })' });
      }
      if (d.name === 'longctr' && d.longctr === undefined) {
        ctx.addIssue({ code: 'custom', path: ['datasets', i, 'longctr'], message: 'is required for the longctr dataset ({ "dir": ... })' });
      }
    });
    if (cfg.studies.sweepSeeds !== undefined && cfg.studies.sweepSeeds > cfg.seeds.length) {
      ctx.addIssue({ code: 'custom', path: ['studies', 'sweepSeeds'], message: `is ${cfg.studies.sweepSeeds} but seeds lists ${cfg.seeds.length}` });
    }
    const names = cfg.datasets.map((d) => d.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) ctx.addIssue({ code: 'custom', path: ['datasets'], message: `lists "${dup}" twice` });
  });

export type ExperimentConfig = z.infer<typeof experimentConfigSchema>;
/** A config as written (defaults may be left out). */
export type ExperimentConfigInput = z.input<typeof experimentConfigSchema>;
export type DatasetConfig = ExperimentConfig['datasets'][number];

/**
 * The training-time budget of a run at history length L (`train.maxRunSeconds`), or none; a run
 * at no particular L (whole history) gets only a budget that holds for every L.
 */
export function runBudgetSeconds(train: ExperimentConfig['train'], L: number | undefined): number | undefined {
  const budget = train.maxRunSeconds;
  if (typeof budget !== 'object') return budget;
  return L === undefined ? undefined : budget[String(L)];
}

/** The main-comparison lengths of a dataset (its `maxLen`, as a list). */
export function mainLengths(ds: DatasetConfig): number[] {
  return typeof ds.maxLen === 'number' ? [ds.maxLen] : [...ds.maxLen];
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = 'config';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `.${String(part)}`;
  return out;
}

/** Validates a config object; the error lists every problem with the key it is about. */
export function parseExperimentConfig(input: unknown, source = 'config'): ExperimentConfig {
  const result = experimentConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      return `${path}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    }
    return `${path}: ${issue.message}`;
  });
  throw new ExperimentConfigError('INVALID_CONFIG', `Invalid experiment ${source}:\n  - ${problems.join('\n  - ')}`);
}

/** Deep merge for config overrides: objects merge key by key, arrays and scalars replace. */
export function mergeConfig(base: unknown, override: unknown): unknown {
  if (
    base !== null && override !== null &&
    typeof base === 'object' && typeof override === 'object' &&
    !Array.isArray(base) && !Array.isArray(override)
  ) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [key, value] of Object.entries(override as Record<string, unknown>)) {
      out[key] = key in out ? mergeConfig(out[key], value) : value;
    }
    return out;
  }
  return override === undefined ? base : override;
}

/** Codebook sizes for G groups whose finest group has K codes: K/4^(G−1−g), at least 2. */
export function multiScaleSizes(largest: number, groups: number): number[] {
  return Array.from({ length: groups }, (_, g) => Math.max(2, Math.round(largest / 4 ** (groups - 1 - g))));
}

/**
 * Codebook sizes for G groups sharing a fixed total of `budget` codes, coarse to fine in ratios
 * of 4 (as `multiScaleSizes`), each at least 2; the sizes sum to the budget exactly.
 */
export function fixedBudgetSizes(budget: number, groups: number): number[] {
  if (budget < 2 * groups) throw new ExperimentConfigError('INVALID_CONFIG', `a code budget of ${budget} cannot give ${groups} groups at least 2 codes each`);
  const weights = Array.from({ length: groups }, (_, g) => 4 ** g);
  const total = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.max(2, Math.floor((budget * w) / total)));
  // Rounding leftovers (or the minimum of 2) go to / come from the finest group.
  sizes[groups - 1]! += budget - sizes.reduce((a, b) => a + b, 0);
  return sizes;
}
