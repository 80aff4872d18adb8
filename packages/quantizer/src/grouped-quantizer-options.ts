import { checkKnownKeys } from '@vql/runtime';
import { checkPositiveInteger } from './codebook.js';
import type { CodeUpdate } from './codebook.js';
import { VqlQuantizerError } from './errors.js';

// The options of `GroupedQuantizer` (and `VectorQuantizer`), their defaults and their validation.

export type Metric = 'euclidean' | 'cosine';
export type CodebookInit = 'kmeans++' | 'random';

export interface GroupedQuantizerOptions {
  /** d: key width per group (the head width d_h). */
  dim: number;
  /** K_g per head group, e.g. [16, 64, 256] (coarse to fine). G = codebookSizes.length. */
  codebookSizes: number[];
  /** One codebook of Σ K_g codes used by every group (the "no multi-scale" ablation). Default false. */
  shared?: boolean;
  /** Weight the caller gives the commitment loss (exposed as `beta`, never applied here). Default 0.25. */
  beta?: number;
  /** `gradient` (codebook loss, default) or `ema` (codes follow the EMA of their keys). */
  update?: CodeUpdate;
  /** EMA decay. Default 0.99. */
  decay?: number;
  /** EMA Laplace smoothing. Default 1e-5. */
  eps?: number;
  /** `euclidean` (default) or `cosine`: keys and codes are L2-normalised, outputs lie on the unit sphere. */
  metric?: Metric;
  /** `kmeans++` (default): codes are seeded from the first training batch(es); `random`: N(0, initStd²). */
  init?: CodebookInit;
  /** Std of random codes (and of the codes used before k-means initialisation). Default 1. */
  initStd?: number;
  /** Lloyd iterations after k-means++ seeding. Default 10. */
  kmeansIterations?: number;
  /** Training batches pooled before k-means init (more are pooled until there are K keys). Default 1. */
  initBatches?: number;
  /** Most keys used by k-means init (a seeded subsample above that). Default min(20000, max(1024, 16·K)). */
  initSamples?: number;
  /** Re-seed codes unused for this many training steps from current keys; 0 disables. Default 100. */
  deadCodeSteps?: number;
  /** SimVQ: codes = frozen basis · learned linear map (gradient updates only). Default false. */
  simvq?: boolean;
  /** Check keys for NaN/Inf in every `quantize` (one host read). Default true. */
  checkFinite?: boolean;
  /** Seed of every random choice (initial codes, k-means++, restarts). */
  seed: number | string;
}

/** Options with every default filled in (`GroupedQuantizer.config`). */
export interface ResolvedOptions {
  dim: number;
  codebookSizes: number[];
  shared: boolean;
  beta: number;
  update: CodeUpdate;
  decay: number;
  eps: number;
  metric: Metric;
  init: CodebookInit;
  initStd: number;
  kmeansIterations: number;
  initBatches: number;
  initSamples: number | null;
  deadCodeSteps: number;
  simvq: boolean;
  checkFinite: boolean;
  seed: number | string;
}

const OPTION_KEYS = [
  'dim', 'codebookSizes', 'shared', 'beta', 'update', 'decay', 'eps', 'metric', 'init', 'initStd',
  'kmeansIterations', 'initBatches', 'initSamples', 'deadCodeSteps', 'simvq', 'checkFinite', 'seed',
] as const;

/** Validates the options at the public constructor and fills in the defaults; messages name the option. */
export function resolveOptions(options: GroupedQuantizerOptions, label: string): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new VqlQuantizerError('INVALID_ARGUMENT', `${label}: options must be an object.`);
  }
  checkKnownKeys(`${label}: options`, options, OPTION_KEYS, (m) => new VqlQuantizerError('UNKNOWN_OPTION', m));
  const dim = checkPositiveInteger(options.dim, `${label}: options.dim`);
  const sizes = options.codebookSizes;
  if (!Array.isArray(sizes) || sizes.length === 0) {
    throw new VqlQuantizerError('INVALID_ARGUMENT', `${label}: options.codebookSizes must be a non-empty array of integers >= 1.`);
  }
  sizes.forEach((k, g) => checkPositiveInteger(k, `${label}: options.codebookSizes[${g}] (K of group ${g})`));
  const beta = options.beta ?? 0.25;
  if (!(beta >= 0) || !Number.isFinite(beta)) {
    throw new VqlQuantizerError('INVALID_ARGUMENT', `${label}: options.beta must be a finite number >= 0, got ${beta}.`);
  }
  const metric = options.metric ?? 'euclidean';
  if (metric !== 'euclidean' && metric !== 'cosine') {
    throw new VqlQuantizerError('INVALID_ARGUMENT', `${label}: options.metric must be 'euclidean' or 'cosine', got ${String(metric)}.`);
  }
  const init = options.init ?? 'kmeans++';
  if (init !== 'kmeans++' && init !== 'random') {
    throw new VqlQuantizerError('INVALID_ARGUMENT', `${label}: options.init must be 'kmeans++' or 'random', got ${String(init)}.`);
  }
  const kmeansIterations = options.kmeansIterations ?? 10;
  if (!Number.isInteger(kmeansIterations) || kmeansIterations < 0) {
    throw new VqlQuantizerError('INVALID_ARGUMENT', `${label}: options.kmeansIterations must be an integer >= 0, got ${kmeansIterations}.`);
  }
  const initBatches = checkPositiveInteger(options.initBatches ?? 1, `${label}: options.initBatches`);
  const initSamples = options.initSamples === undefined ? null : checkPositiveInteger(options.initSamples, `${label}: options.initSamples`);
  const deadCodeSteps = options.deadCodeSteps ?? 100;
  if (!Number.isInteger(deadCodeSteps) || deadCodeSteps < 0) {
    throw new VqlQuantizerError('INVALID_ARGUMENT', `${label}: options.deadCodeSteps must be an integer >= 0 (0 disables restart), got ${deadCodeSteps}.`);
  }
  if (options.seed === undefined || (typeof options.seed !== 'number' && typeof options.seed !== 'string')) {
    throw new VqlQuantizerError('INVALID_ARGUMENT', `${label}: options.seed (number or string) is required so runs are reproducible.`);
  }
  // The remaining fields are validated by the Codebook constructor.
  return {
    dim,
    codebookSizes: [...sizes],
    shared: options.shared ?? false,
    beta,
    update: options.update ?? 'gradient',
    decay: options.decay ?? 0.99,
    eps: options.eps ?? 1e-5,
    metric,
    init,
    initStd: options.initStd ?? 1,
    kmeansIterations,
    initBatches,
    initSamples,
    deadCodeSteps,
    simvq: options.simvq ?? false,
    checkFinite: options.checkFinite ?? true,
    seed: options.seed,
  };
}
