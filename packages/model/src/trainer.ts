import { SingleBar } from 'cli-progress';
import type { CtrBatch, CtrSampleSet, UserBatch } from '@vql/data';
import { auc, gaucDetail, logLoss } from '@vql/metrics';
import { createRng, tf } from '@vql/runtime';
import type { Tensor } from '@vql/runtime';
import { checkLayout, layoutBatchCount, layoutBatches, rowSamples } from './batch-layout.js';
import type { BatchLayout } from './batch-layout.js';
import type { CtrModel } from './ctr-model.js';
import { VqlModelError } from './errors.js';
import type { InterestStats } from './interest-module.js';
import { DataParallelPool, localGradients } from './data-parallel.js';

export interface TrainerOptions {
  /** L: newest behaviours per sample the batches carry (the model's historyWindow may cut further). */
  maxLen: number;
  /**
   * 'sample' (default): padded per-sample batches of the newest maxLen behaviours. 'user':
   * user-grouped batches with the model's history policy (VQL trains from causal caches over
   * whole histories); batchSize is then a target budget per batch. Validation uses the same.
   */
  layout?: BatchLayout;
  /**
   * Layout 'user': at most this many targets of one user per batch (default: batchSize). Smaller
   * chunks mix more users per step (better optimisation) but read a history once per chunk.
   */
  userChunk?: number | null;
  /** Default 256. */
  batchSize?: number;
  /** Default 10. */
  epochs?: number;
  /** Adam learning rate. Default 1e-3. */
  learningRate?: number;
  /**
   * Optimizer of the item embedding table. Dense Adam keeps moving a row for ~10 steps after each
   * time its item appears (momentum, and m/√v ≈ 3 for a once-seen row): ~30 × the learning rate
   * per appearance, which memorises rare items. 'adagrad' moves a row only when its item is in
   * the batch. Default 'adam'.
   */
  itemOptimizer?: 'adam' | 'adagrad';
  /** Learning rate of the item table's optimizer. Default `learningRate`. */
  itemLearningRate?: number;
  /**
   * Decoupled weight decay (AdamW): after each step the model's `decayVariables()` (embedding
   * tables, tower kernels) shrink by the factor 1 − learningRate·weightDecay. Default 0.
   */
  weightDecay?: number;
  /** Validation metric early stopping and best-weights restore follow. Default 'logloss'. */
  monitor?: 'logloss' | 'auc';
  /** Epochs without a validation gain ≥ minDelta before stopping. Default 2. */
  patience?: number;
  /** Default 1e-4. */
  minDelta?: number;
  /** Clip the global gradient norm to this value (null: no clipping). Default null. */
  clipNorm?: number | null;
  /** Put the best epoch's weights back at the end. Default true. */
  restoreBest?: boolean;
  /** Batch size for validation. Default 1024. */
  evalBatchSize?: number;
  /** Seed of the shuffling order (epoch e uses a stream forked e times). */
  seed: number;
  /** Receives one line per epoch. Default: written to stderr. */
  log?: (line: string) => void;
  /** Progress bar: 'auto' (default) shows one only when stderr is a TTY. */
  progress?: boolean | 'auto';
  /**
   * Data-parallel training: each batch is cut into this many contiguous target ranges, one on
   * this thread and the others on worker threads holding replicas of the model; their gradients
   * are averaged (weighted by targets) through shared memory and one optimizer step is applied.
   * Deterministic for a given seed and worker count. Interest modules the worker builds from the
   * model config: those `@vql/model` registers (full attention, VQL). Default 1 (this thread).
   */
  workers?: number;
}

export interface EvalMetrics {
  auc: number;
  /** Per-user AUC weighted by samples; NaN when no user has both classes. */
  gauc: number;
  logLoss: number;
  /** Users with both classes that entered GAUC. */
  gaucUsers: number;
  samples: number;
}

export interface EpochRecord {
  epoch: number; // 1-based
  steps: number;
  /** Mean training loss (BCE + λ·aux), BCE and aux over the epoch's steps. */
  loss: number;
  bce: number;
  aux: number;
  valid: EvalMetrics;
  samplesPerSecond: number;
  trainSeconds: number;
  stats: InterestStats;
}

export interface TrainResult {
  epochs: EpochRecord[];
  bestEpoch: number;
  best: EvalMetrics;
  stoppedEarly: boolean;
  steps: number;
}

const OPTION_KEYS = new Set<string>([
  'maxLen', 'itemOptimizer', 'itemLearningRate', 'layout', 'userChunk', 'batchSize', 'epochs', 'learningRate', 'weightDecay', 'monitor', 'patience', 'minDelta', 'clipNorm', 'restoreBest', 'evalBatchSize', 'seed', 'log', 'progress', 'workers',
]);

/** `NaN` and `Infinity` as written, not as JSON's `null`. */
function show(v: unknown): string {
  return typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v);
}

function positiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new VqlModelError('INVALID_ARGUMENT', `Trainer: options.${name} must be a positive integer, got ${show(v)}.`);
  }
  return v;
}

function positiveNumber(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new VqlModelError('INVALID_ARGUMENT', `Trainer: options.${name} must be a finite number > 0, got ${show(v)}.`);
  }
  return v;
}

/**
 * Predicted probabilities, labels and users over a sample set, in sample order. `layout: 'user'`
 * scores with the model's history policy (whole histories for a whole-history VQL model: the
 * scores its per-user cache serves); default 'sample' (newest maxLen).
 */
export function predictSamples(
  model: CtrModel,
  samples: CtrSampleSet,
  options: { maxLen: number; batchSize?: number; layout?: BatchLayout },
): { probs: Float32Array; labels: Float32Array; users: Int32Array } {
  const probs = new Float32Array(samples.size);
  const labels = new Float32Array(samples.size);
  const users = new Int32Array(samples.size);
  const layout = checkLayout('predictSamples: options', options.layout ?? 'sample');
  let offset = 0;
  for (const batch of layoutBatches(model, samples, { layout, batchSize: options.batchSize ?? 1024, maxLen: options.maxLen })) {
    const p = model.predict(batch);
    const rows = rowSamples(batch, offset);
    for (let i = 0; i < batch.size; i++) {
      const s = rows[i]!;
      probs[s] = p[i]!;
      labels[s] = batch.label[i]!;
      users[s] = batch.user[i]!;
    }
    offset += batch.size;
  }
  return { probs, labels, users };
}

/** AUC, GAUC (per user) and LogLoss of `model` on a sample set (layout as in `predictSamples`). */
export function evaluateModel(model: CtrModel, samples: CtrSampleSet, options: { maxLen: number; batchSize?: number; layout?: BatchLayout }): EvalMetrics {
  if (samples.size === 0) throw new VqlModelError('EMPTY_DATASET', 'evaluateModel: the sample set is empty.');
  const { probs, labels, users } = predictSamples(model, samples, options);
  let value: number;
  try {
    value = auc(labels, probs);
  } catch (err) {
    throw new VqlModelError('SINGLE_CLASS', `evaluateModel: the ${samples.size} samples hold a single class; AUC is undefined (${(err as Error).message}).`);
  }
  // GAUC is undefined when no user has both classes (small validation splits): NaN, not an error.
  let g = { gauc: Number.NaN, groupsUsed: 0 };
  try {
    g = gaucDetail(users, labels, probs);
  } catch (err) {
    if ((err as { code?: string }).code !== 'SINGLE_CLASS') throw err;
  }
  return { auc: value, gauc: g.gauc, logLoss: logLoss(labels, probs), gaucUsers: g.groupsUsed, samples: samples.size };
}

/**
 * Adam training with seeded shuffling, a NaN guard that stops before a non-finite update is
 * applied, early stopping on validation AUC and one log line per epoch. Works for any
 * `CtrModel`, whatever its interest module.
 */
export class Trainer {
  readonly options: Required<Omit<TrainerOptions, 'log' | 'clipNorm'>> & { clipNorm: number | null; log: (line: string) => void };
  private readonly optimizer: tf.AdamOptimizer;
  /** The item table's own optimizer, when `itemOptimizer` is not 'adam'. */
  private readonly itemOptimizer: tf.Optimizer | null;
  private globalStep = 0;
  private epochInProgress = 0;
  private stepInEpoch = 0;
  /** Worker threads of data-parallel steps (`options.workers` > 1), started at the first such step. */
  private pool: DataParallelPool | null = null;
  private parallelSteps = 0;

  constructor(
    readonly model: CtrModel,
    options: TrainerOptions,
  ) {
    if (options == null || typeof options !== 'object') throw new VqlModelError('INVALID_ARGUMENT', 'new Trainer(model, options): options are required.');
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.has(key)) throw new VqlModelError('INVALID_ARGUMENT', `Trainer: unknown option "${key}" (known: ${[...OPTION_KEYS].join(', ')}).`);
    }
    if (typeof options.seed !== 'number' || !Number.isFinite(options.seed)) {
      throw new VqlModelError('INVALID_ARGUMENT', 'Trainer: options.seed must be a finite number (shuffling is seeded).');
    }
    const clipNorm = options.clipNorm ?? null;
    if (clipNorm !== null) positiveNumber('clipNorm', clipNorm);
    const progress = options.progress ?? 'auto';
    if (progress !== 'auto' && typeof progress !== 'boolean') throw new VqlModelError('INVALID_ARGUMENT', "Trainer: options.progress must be true, false or 'auto'.");
    const minDelta = options.minDelta ?? 1e-4;
    if (typeof minDelta !== 'number' || !(minDelta >= 0)) throw new VqlModelError('INVALID_ARGUMENT', `Trainer: options.minDelta must be a number ≥ 0, got ${show(minDelta)}.`);
    const weightDecay = options.weightDecay ?? 0;
    if (typeof weightDecay !== 'number' || !(weightDecay >= 0) || !Number.isFinite(weightDecay)) {
      throw new VqlModelError('INVALID_ARGUMENT', `Trainer: options.weightDecay must be a finite number ≥ 0, got ${show(weightDecay)}.`);
    }
    const itemOptimizer = options.itemOptimizer ?? 'adam';
    if (itemOptimizer !== 'adam' && itemOptimizer !== 'adagrad') {
      throw new VqlModelError('INVALID_ARGUMENT', `Trainer: options.itemOptimizer must be 'adam' or 'adagrad', got ${show(itemOptimizer)}.`);
    }
    const monitor = options.monitor ?? 'logloss';
    if (monitor !== 'logloss' && monitor !== 'auc') throw new VqlModelError('INVALID_ARGUMENT', `Trainer: options.monitor must be 'logloss' or 'auc', got ${show(monitor)}.`);
    this.options = {
      maxLen: positiveInt('maxLen', options.maxLen),
      layout: checkLayout('Trainer: options', options.layout ?? 'sample'),
      userChunk: options.userChunk == null ? null : positiveInt('userChunk', options.userChunk),
      batchSize: positiveInt('batchSize', options.batchSize ?? 256),
      epochs: positiveInt('epochs', options.epochs ?? 10),
      learningRate: positiveNumber('learningRate', options.learningRate ?? 1e-3),
      itemOptimizer,
      itemLearningRate: positiveNumber('itemLearningRate', options.itemLearningRate ?? options.learningRate ?? 1e-3),
      weightDecay,
      monitor,
      patience: positiveInt('patience', options.patience ?? 2),
      minDelta,
      clipNorm,
      restoreBest: options.restoreBest ?? true,
      evalBatchSize: positiveInt('evalBatchSize', options.evalBatchSize ?? 1024),
      seed: options.seed,
      log: options.log ?? ((line: string) => void process.stderr.write(`${line}\n`)),
      progress,
      workers: positiveInt('workers', options.workers ?? 1),
    };
    this.optimizer = tf.train.adam(this.options.learningRate);
    this.itemOptimizer = itemOptimizer === 'adagrad' ? tf.train.adagrad(this.options.itemLearningRate) : null;
  }

  /** Optimizer steps whose gradients were computed data-parallel (on `workers` threads). */
  get dataParallelSteps(): number {
    return this.parallelSteps;
  }

  /** Optimizer steps taken so far. */
  get steps(): number {
    return this.globalStep;
  }

  /**
   * One optimizer step on a batch; returns [total, bce, aux] on the host. Throws
   * `VqlModelError('NAN_LOSS' | 'NAN_GRADIENT')` naming the step before anything is written.
   */
  trainStep(batch: CtrBatch | UserBatch): { loss: number; bce: number; aux: number } {
    const model = this.model;
    const vars = model.trainableVariables();
    // Steps that change weights inside the forward pass (k-means init) run whole on this thread.
    const parallel = this.options.workers > 1 && model.interest.initializing !== true && batch.size > 1;
    if (parallel) this.pool ??= new DataParallelPool(model, this.options.workers);
    const { grads, loss, bce, aux } = parallel ? this.pool!.gradients(batch, vars) : localGradients(model, batch, vars, {});
    const where = `epoch ${this.epochInProgress}, step ${this.stepInEpoch + 1} (global step ${this.globalStep + 1})`;
    try {
      const gradList = Object.values(grads);
      const normSq = gradList.length === 0 ? 0 : tf.tidy(() => tf.addN(gradList.map((g) => tf.sum(tf.square(g)))).dataSync()[0]!);
      if (!Number.isFinite(loss)) {
        throw new VqlModelError(
          'NAN_LOSS',
          `Training loss is ${loss} at ${where} (BCE ${bce}, aux ${aux}); stopped before the update, so the weights are those after the previous step. Lower the learning rate or set clipNorm.`,
        );
      }
      if (!Number.isFinite(normSq)) {
        throw new VqlModelError('NAN_GRADIENT', `Gradient norm is ${Math.sqrt(normSq)} at ${where} (loss ${loss}); stopped before the update. Lower the learning rate or set clipNorm.`);
      }
      let apply: Record<string, Tensor> = grads;
      const clip = this.options.clipNorm;
      const norm = Math.sqrt(normSq);
      if (clip !== null && norm > clip) {
        apply = {};
        for (const [k, g] of Object.entries(grads)) apply[k] = tf.mul(g, clip / norm);
      }
      const itemName = this.itemOptimizer === null ? null : model.itemEmbeddingVariable().name;
      this.optimizer.applyGradients(Object.entries(apply).filter(([name]) => name !== itemName).map(([name, tensor]) => ({ name, tensor })));
      if (itemName !== null && apply[itemName] !== undefined) this.itemOptimizer!.applyGradients([{ name: itemName, tensor: apply[itemName] }]);
      if (apply !== grads) tf.dispose(Object.values(apply));
      if (this.options.weightDecay > 0) {
        const keep = 1 - this.options.learningRate * this.options.weightDecay;
        for (const v of model.decayVariables()) tf.tidy(() => v.assign(tf.mul(v, keep)));
      }
      model.afterStep();
      if (parallel) this.parallelSteps++;
      this.globalStep++;
      this.stepInEpoch++;
      return { loss, bce, aux };
    } finally {
      tf.dispose(Object.values(grads));
    }
  }

  /**
   * Trains on `train`, evaluating on `valid` after every epoch; stops early when the monitored
   * validation metric (LogLoss by default) has not improved for `patience` epochs.
   */
  fit(train: CtrSampleSet, valid: CtrSampleSet): TrainResult {
    if (train.size === 0) throw new VqlModelError('EMPTY_DATASET', 'Trainer.fit: the training set is empty.');
    if (valid.size === 0) throw new VqlModelError('EMPTY_DATASET', 'Trainer.fit: the validation set is empty.');
    const o = this.options;
    const shuffleRng = createRng(o.seed);
    const records: EpochRecord[] = [];
    let best: { epoch: number; metrics: EvalMetrics; weights: Record<string, Tensor> } | null = null;
    let sinceBest = 0;
    let stoppedEarly = false;
    const showBar = o.progress === true || (o.progress === 'auto' && process.stderr.isTTY === true);
    const total = layoutBatchCount(train, o);
    try {
      for (let epoch = 1; epoch <= o.epochs; epoch++) {
        this.epochInProgress = epoch;
        this.stepInEpoch = 0;
        const bar = showBar ? new SingleBar({ format: `epoch ${epoch}/${o.epochs} [{bar}] {value}/{total} | loss {loss}`, stream: process.stderr, hideCursor: true }) : null;
        bar?.start(total, 0, { loss: '-' });
        let sumLoss = 0;
        let sumBce = 0;
        let sumAux = 0;
        let n = 0;
        const start = performance.now();
        try {
          for (const batch of layoutBatches(this.model, train, { ...o, shuffle: true, seed: shuffleRng.uint32() })) {
            const r = this.trainStep(batch);
            sumLoss += r.loss * batch.size;
            sumBce += r.bce * batch.size;
            sumAux += r.aux * batch.size;
            n += batch.size;
            bar?.increment(1, { loss: (sumLoss / n).toFixed(4) });
          }
        } finally {
          bar?.stop();
        }
        const trainSeconds = (performance.now() - start) / 1000;
        const stats = this.model.stats();
        const validMetrics = evaluateModel(this.model, valid, { maxLen: o.maxLen, batchSize: o.evalBatchSize, layout: o.layout });
        const record: EpochRecord = {
          epoch,
          steps: this.stepInEpoch,
          loss: sumLoss / n,
          bce: sumBce / n,
          aux: sumAux / n,
          valid: validMetrics,
          samplesPerSecond: n / trainSeconds,
          trainSeconds,
          stats,
        };
        records.push(record);
        o.log(formatEpoch(record, o.epochs));
        const improved = best === null || (o.monitor === 'auc' ? validMetrics.auc > best.metrics.auc + o.minDelta : validMetrics.logLoss < best.metrics.logLoss - o.minDelta);
        if (improved) {
          if (best !== null) tf.dispose(Object.values(best.weights));
          const weights: Record<string, Tensor> = {};
          for (const [k, t] of Object.entries(this.model.getWeights())) weights[k] = tf.clone(t);
          best = { epoch, metrics: validMetrics, weights };
          sinceBest = 0;
        } else if (++sinceBest >= o.patience) {
          stoppedEarly = epoch < o.epochs;
          break;
        }
      }
      if (o.restoreBest && best !== null && best.epoch !== records.length) {
        this.model.setWeights(best.weights);
        o.log(`restored the weights of epoch ${best.epoch} (valid AUC ${best.metrics.auc.toFixed(4)}, LogLoss ${best.metrics.logLoss.toFixed(4)})`);
      }
      return { epochs: records, bestEpoch: best!.epoch, best: best!.metrics, stoppedEarly, steps: this.globalStep };
    } finally {
      if (best !== null) tf.dispose(Object.values(best.weights));
    }
  }

  /** Frees the optimizer's slots and stops the worker threads (the model is the caller's). */
  dispose(): void {
    this.pool?.dispose();
    this.pool = null;
    this.optimizer.dispose();
    this.itemOptimizer?.dispose();
  }
}

/** `epoch 2/5 | loss 0.5731 (bce 0.5702 aux 0.0029) | valid AUC 0.7123 GAUC 0.6540 LogLoss 0.5611 | 2140 samples/s | perplexity 38.2` */
export function formatEpoch(r: EpochRecord, epochs: number): string {
  const parts = [
    `epoch ${r.epoch}/${epochs}`,
    `loss ${r.loss.toFixed(4)} (bce ${r.bce.toFixed(4)} aux ${r.aux.toFixed(4)})`,
    `valid AUC ${r.valid.auc.toFixed(4)} GAUC ${Number.isNaN(r.valid.gauc) ? 'n/a' : r.valid.gauc.toFixed(4)} LogLoss ${r.valid.logLoss.toFixed(4)}`,
    `${Math.round(r.samplesPerSecond)} samples/s`,
  ];
  if (r.stats['perplexity'] !== undefined) parts.push(`perplexity ${r.stats['perplexity'].toFixed(1)}`);
  return parts.join(' | ');
}
