import { isUserBatch, sliceBatch, sliceUserBatch, userSliceEventCount } from '@vql/data';
import type { CtrBatch, UserBatch } from '@vql/data';
import { heapView, tensorCopyOf, tf, withHostScratch } from '@vql/runtime';
import type { Tensor, Variable } from '@vql/runtime';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { CtrModel, ResolvedCtrModelConfig } from './ctr-model.js';
import { VqlModelError } from './errors.js';
import { workerEntry } from './worker-entry.js';

/** Gradients of one training batch (keyed by the main model's variable names) and its loss parts. */
export interface BatchGradients {
  readonly grads: Record<string, Tensor>;
  readonly loss: number;
  readonly bce: number;
  readonly aux: number;
}

/** Where each tensor lies in a flat float32 buffer. */
export interface FlatLayout {
  readonly names: string[];
  readonly shapes: number[][];
  readonly offsets: number[];
  readonly total: number;
}

/** Control words of a worker (Int32Array over shared memory). */
export const CTRL = { posted: 0, done: 1, ready: 2 } as const;

export interface DataParallelWorkerInit {
  readonly config: ResolvedCtrModelConfig;
  readonly backend: string;
  readonly control: SharedArrayBuffer;
  /** The main model's weights (`getWeights`, by `weightLayout`), written before every step. */
  readonly weights: SharedArrayBuffer;
  readonly weightLayout: FlatLayout;
  /** This worker's gradients of the trainable variables (by `gradLayout`), its loss parts and which variables got one. */
  readonly grads: SharedArrayBuffer;
  readonly gradLayout: FlatLayout;
  readonly stats: SharedArrayBuffer; // Float64 [loss, bce, aux]
  readonly present: SharedArrayBuffer; // Int32 [variables]
  readonly jobs: MessagePort;
  readonly replies: MessagePort;
}

export interface DataParallelJob {
  readonly batch: CtrBatch | UserBatch;
  /** Weights version: the worker re-reads the weight buffer when it changed. */
  readonly version: number;
}

export function flatLayout(tensors: ReadonlyArray<{ name: string; shape: number[] }>): FlatLayout {
  const offsets: number[] = [];
  let total = 0;
  for (const t of tensors) {
    offsets.push(total);
    total += t.shape.reduce((a, b) => a * b, 1);
  }
  return { names: tensors.map((t) => t.name), shapes: tensors.map((t) => [...t.shape]), offsets, total };
}

/** The model's full state (`getWeights`) in a stable order. */
export function weightEntries(model: CtrModel): Array<{ name: string; shape: number[]; tensor: Tensor }> {
  const w = model.getWeights();
  return Object.keys(w)
    .sort()
    .map((name) => ({ name, shape: w[name]!.shape, tensor: w[name]! }));
}

/** Trainable variables in the model's order, named by position (names differ between threads). */
export function gradientEntries(vars: readonly Variable[]): Array<{ name: string; shape: number[] }> {
  return vars.map((v, i) => ({ name: String(i), shape: v.shape }));
}

export function sameLayout(a: FlatLayout, b: FlatLayout): boolean {
  return a.total === b.total && a.names.length === b.names.length && a.names.every((n, i) => n === b.names[i] && a.shapes[i]!.join() === b.shapes[i]!.join());
}

/** Contiguous target ranges of about equal size, at most `parts` (fewer when the batch is smaller). */
export function shardRanges(size: number, parts: number): Array<[number, number]> {
  const n = Math.min(parts, size);
  return Array.from({ length: n }, (_, s) => [Math.floor((s * size) / n), Math.floor(((s + 1) * size) / n)] as [number, number]);
}

/**
 * The causal scan's cost of one behaviour a range holds, in targets: 2–4 µs against ~0.2 ms per
 * target (2026-12-04 probes, whole-history VQL, d_h = 8, K = 64, R = 3), i.e. 1/100–1/50.
 */
const EVENT_COST = 1 / 50;

/**
 * Contiguous target ranges of about equal estimated cost, at most `parts`. Per-sample batches:
 * equal target counts (every row is padded to the same length). User batches: a range costs its
 * targets plus `EVENT_COST` per behaviour it holds. A user cut between ranges keeps, in each,
 * every event its targets there see, so a later range re-reads the earlier one's events: at
 * L = 10⁵ one user fills a batch, and equal target counts left the second range 9–17 % slower.
 * A function of the batch alone: the same batch always gets the same ranges.
 */
export function balancedShardRanges(batch: CtrBatch | UserBatch, parts: number): Array<[number, number]> {
  if (!isUserBatch(batch) || parts < 2 || batch.size < 2) return shardRanges(batch.size, parts);
  const cost = (a: number, b: number): number => b - a + EVENT_COST * userSliceEventCount(batch, a, b);
  const size = batch.size;
  // The longest range from `from` that costs at most `budget` (at least one target).
  const reach = (from: number, budget: number): number => {
    let lo = from + 1;
    let hi = size;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (cost(from, mid) <= budget) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const pack = (budget: number): Array<[number, number]> => {
    const out: Array<[number, number]> = [];
    // Stops once it needs more than `parts` ranges: the budget is too small.
    for (let from = 0; from < size && out.length <= parts; ) {
      const to = reach(from, budget);
      out.push([from, to]);
      from = to;
    }
    return out;
  };
  // The smallest budget that greedy packing fits into `parts` ranges (bisection on the cost).
  let lo = 0;
  let hi = cost(0, size);
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (pack(mid).length <= parts) hi = mid;
    else lo = mid;
  }
  return pack(hi);
}

function sliceOf(batch: CtrBatch | UserBatch, from: number, to: number): CtrBatch | UserBatch {
  return isUserBatch(batch) ? sliceUserBatch(batch, from, to) : sliceBatch(batch as CtrBatch, from, to);
}

interface PoolWorker {
  readonly worker: Worker;
  readonly ctrl: Int32Array;
  readonly jobs: MessagePort;
  readonly replies: MessagePort;
  readonly grads: Float32Array;
  readonly stats: Float64Array;
  readonly present: Int32Array;
  posted: number;
}

/**
 * Data-parallel gradients on `workers` threads: each batch is cut into that many contiguous
 * target ranges of about equal cost (`balancedShardRanges`); range 0 runs on the calling thread
 * with the model itself, ranges 1.. on worker threads that each hold a replica
 * (`new CtrModel(model.config)`) and read the main model's weights from shared memory before the
 * step. Each shard's gradient (of its mean loss) comes back through shared memory and the batch
 * gradient is Σ_s (n_s / n)·g_s, summed in shard order:
 * the same batch, weights and worker count give the same numbers, and any count gives the
 * one-thread gradient of the per-target loss up to rounding (the VQ loss is a mean over each
 * shard's own unique rows, so that part is the shards' weighted mean). Replicas run their interest
 * module in inference mode: quantizer statistics, k-means initialisation and deferred code updates
 * happen on the main thread's model only (from its shard; `initializing` steps run whole there).
 */
export class DataParallelPool {
  private readonly workers: PoolWorker[] = [];
  private readonly weightLayout: FlatLayout;
  private readonly weightBuffer: Float32Array;
  private readonly gradLayout: FlatLayout;
  private version = 0;
  private disposed = false;

  constructor(
    private readonly model: CtrModel,
    readonly size: number,
  ) {
    this.weightLayout = flatLayout(weightEntries(model));
    this.weightBuffer = new Float32Array(new SharedArrayBuffer(Math.max(1, this.weightLayout.total) * 4));
    this.gradLayout = flatLayout(gradientEntries(model.trainableVariables()));
    try {
      for (let i = 1; i < size; i++) this.workers.push(this.startWorker());
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  private startWorker(): PoolWorker {
    const entry = workerEntry('data-parallel-worker');
    const control = new SharedArrayBuffer(16);
    const ctrl = new Int32Array(control);
    const grads = new SharedArrayBuffer(Math.max(1, this.gradLayout.total) * 4);
    const stats = new SharedArrayBuffer(3 * 8);
    const present = new SharedArrayBuffer(Math.max(1, this.gradLayout.names.length) * 4);
    const jobs = new MessageChannel();
    const replies = new MessageChannel();
    const init: DataParallelWorkerInit = {
      config: this.model.config,
      backend: tf.getBackend(),
      control,
      weights: this.weightBuffer.buffer as SharedArrayBuffer,
      weightLayout: this.weightLayout,
      grads,
      gradLayout: this.gradLayout,
      stats,
      present,
      jobs: jobs.port2,
      replies: replies.port2,
    };
    const worker = new Worker(entry.script, { eval: entry.eval, execArgv: entry.execArgv, workerData: init, transferList: [jobs.port2, replies.port2] });
    worker.unref();
    const w: PoolWorker = { worker, ctrl, jobs: jobs.port1, replies: replies.port1, grads: new Float32Array(grads), stats: new Float64Array(stats), present: new Int32Array(present), posted: 0 };
    // The replica builds its backend and model on its own: block until it reports (ready or failed).
    const started = Date.now();
    while (Atomics.load(ctrl, CTRL.ready) === 0) {
      if (Date.now() - started > 120_000) {
        void worker.terminate();
        throw new VqlModelError('WORKER_FAILED', 'Trainer workers: a worker thread did not start within 120 s.');
      }
      Atomics.wait(ctrl, CTRL.ready, 0, 1000);
    }
    if (Atomics.load(ctrl, CTRL.ready) !== 1) {
      const reply = receiveMessageOnPort(w.replies)?.message as { error?: string } | undefined;
      void worker.terminate();
      throw new VqlModelError('WORKER_FAILED', `Trainer workers: a worker thread could not build the model replica: ${reply?.error ?? 'no reply'}`);
    }
    return w;
  }

  /** The model's current weights into shared memory, under a new version. */
  private publishWeights(): void {
    const entries = weightEntries(this.model);
    if (!sameLayout(flatLayout(entries), this.weightLayout)) {
      throw new VqlModelError('WORKER_FAILED', 'Trainer workers: the model\'s set of weights changed shape since the workers started.');
    }
    // Straight from the wasm heap: no fresh host copy of every weight per step.
    entries.forEach((e, i) => this.weightBuffer.set(heapView(e.tensor) ?? (e.tensor.dataSync() as Float32Array), this.weightLayout.offsets[i]!));
    this.version++;
  }

  /** Gradients of `batch` (its mean loss) with respect to `vars` (the model's trainable variables). */
  gradients(batch: CtrBatch | UserBatch, vars: readonly Variable[]): BatchGradients {
    if (this.disposed) throw new VqlModelError('DISPOSED', 'Trainer workers: the worker pool was disposed.');
    const ranges = balancedShardRanges(batch, this.size);
    this.publishWeights();
    const remote = ranges.slice(1).map(([from, to], i) => {
      const w = this.workers[i]!;
      const job: DataParallelJob = { batch: sliceOf(batch, from, to), version: this.version };
      w.jobs.postMessage(job);
      w.posted = Atomics.add(w.ctrl, CTRL.posted, 1) + 1;
      Atomics.notify(w.ctrl, CTRL.posted);
      return { w, n: to - from };
    });
    const [from0, to0] = ranges[0]!;
    const local = localGradients(this.model, ranges.length === 1 ? batch : sliceOf(batch, from0, to0), vars, {});
    let failure: string | null = null;
    for (const { w } of remote) {
      for (;;) {
        const done = Atomics.load(w.ctrl, CTRL.done);
        if (done === w.posted) break;
        Atomics.wait(w.ctrl, CTRL.done, done, 1000);
      }
      const reply = receiveMessageOnPort(w.replies)?.message as { ok: boolean; error?: string } | undefined;
      if (reply?.ok !== true && failure === null) failure = reply?.error ?? 'no reply';
    }
    if (failure !== null) {
      tf.dispose(Object.values(local.grads));
      throw new VqlModelError('WORKER_FAILED', `Trainer workers: a worker thread failed: ${failure}`);
    }
    const n = batch.size;
    const w0 = (to0 - from0) / n;
    const grads: Record<string, Tensor> = {};
    vars.forEach((v, i) => {
      const off = this.gradLayout.offsets[i]!;
      const own = local.grads[v.name];
      const others = remote.filter(({ w }) => w.present[i] !== 0);
      if (own === undefined && others.length === 0) return;
      // Σ_s (n_s / n)·g_s in shard order, as tfjs ops on the backend (a worker's gradient is
      // copied out of its shared buffer into a tensor first).
      grads[v.name] = tf.tidy(() => {
        let sum: Tensor | null = own === undefined ? null : tf.mul(own, w0);
        for (const { w, n: ns } of others) {
          const part = tf.mul(tensorCopyOf(w.grads.subarray(off, off + v.size), v.shape), ns / n);
          sum = sum === null ? part : tf.add(sum, part);
        }
        return sum!;
      });
    });
    tf.dispose(Object.values(local.grads));
    const mix = (k: 0 | 1 | 2, own: number): number => remote.reduce((acc, { w, n: ns }) => acc + (ns / n) * w.stats[k]!, w0 * own);
    return { grads, loss: mix(0, local.loss), bce: mix(1, local.bce), aux: mix(2, local.aux) };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const w of this.workers) {
      w.jobs.postMessage({ stop: true });
      Atomics.add(w.ctrl, CTRL.posted, 1);
      Atomics.notify(w.ctrl, CTRL.posted);
      void w.worker.terminate();
    }
    this.workers.length = 0;
  }
}

/**
 * Gradients of one batch's mean loss on this thread. `options.interestTraining` as in
 * `CtrModel.forward` (false on replicas).
 */
export function localGradients(model: CtrModel, batch: CtrBatch | UserBatch, vars: readonly Variable[], options: { interestTraining?: boolean }): BatchGradients {
  // The host kernels of the step reuse this thread's buffers from the previous step.
  return withHostScratch(() => stepGradients(model, batch, vars, options));
}

function stepGradients(model: CtrModel, batch: CtrBatch | UserBatch, vars: readonly Variable[], options: { interestTraining?: boolean }): BatchGradients {
  const prepared = model.prepare(batch);
  let parts: Tensor | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const { total, bce, aux } = model.loss(prepared, true, options);
    parts = tf.keep(tf.stack([bce, aux ?? tf.scalar(0)]));
    return total as tf.Scalar;
  }, vars as Variable[]);
  try {
    const summary = tf.tidy(() => tf.concat([tf.reshape(value, [1]), parts!]));
    const [loss, bce, aux] = Array.from(summary.dataSync());
    summary.dispose();
    return { grads, loss: loss!, bce: bce!, aux: aux! };
  } finally {
    value.dispose();
    if (parts !== null) (parts as Tensor).dispose();
  }
}
