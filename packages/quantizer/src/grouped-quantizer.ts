import { tf, checkKnownKeys, createRng, weightsFingerprint, saveWeights, loadWeights } from '@vql/runtime';
import type { Rng, JsonValue } from '@vql/runtime';
import { Codebook } from './codebook.js';
import type { CodeUpdate } from './codebook.js';
import { nearestCodesGrouped, nearestCodesHost, normalizeRowsInPlace } from './distance.js';
import { VqlQuantizerError } from './errors.js';
import { deadCodes, restartVectors } from './dead-code-restart.js';
import type { PendingBatch } from './dead-code-restart.js';
import { quantizationErrorSums, straightThroughCodes } from './fused-quantize.js';
import { resolveOptions } from './grouped-quantizer-options.js';
import { subsampleRows, validKeysOf } from './init-sample.js';
import type { GroupedQuantizerOptions, Metric, ResolvedOptions } from './grouped-quantizer-options.js';
import { freshWindow, summarizeWindow } from './window-stats.js';
import type { GroupStats, WindowStats } from './window-stats.js';

export interface QuantizeOptions {
  /** [N] 1 = real item, 0 = padding: padding is left out of losses, statistics and code updates. */
  mask?: tf.Tensor1D;
  /** Record the batch for statistics, k-means init, EMA and dead-code restart. Default false. */
  training?: boolean;
}

export interface QuantizeResult {
  /** [N,G,d] straight-through: forward = codes, gradient → keys. */
  quantized: tf.Tensor3D;
  /** [N,G] int32 code index per item and group (into the shared codebook when `shared`). */
  codes: tf.Tensor2D;
  /** mean ||sg(k) − c||² over valid items, groups and dimensions; 0 under EMA updates. */
  codebookLoss: tf.Scalar;
  /** mean ||k − sg(c)||², NOT multiplied by beta (the caller adds beta·commitment). */
  commitmentLoss: tf.Scalar;
}

/** Internal hook so `VectorQuantizer` can name its weights without a group prefix. */
export interface GroupedQuantizerInternals {
  weightPrefix?: (codebook: number, shared: boolean) => string;
  label?: string;
}

function l2normalize<T extends tf.Tensor>(x: T): T {
  // Differentiable; the epsilon keeps an all-zero row at zero instead of NaN.
  return tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), -1, true), 1e-12))) as T;
}

function describeShape(t: { shape: number[] }): string {
  return `[${t.shape.join(', ')}]`;
}

/**
 * Key quantizer with one codebook per head group (each its own K — "multi-scale") or one shared
 * codebook. `quantize` is a pure forward pass usable inside `optimizer.minimize`; the state
 * changes of training (k-means++ init, EMA, statistics, dead-code restart) happen outside the
 * gradient: k-means init and the deferred EMA/restart step of the previous training batch run at
 * the start of a training `quantize`, before any code is read, or whenever `update()` is called
 * (call it after the optimizer step to apply them at once).
 */
export class GroupedQuantizer {
  readonly dim: number;
  readonly groups: number;
  readonly codebookSizes: readonly number[];
  readonly shared: boolean;
  /** Commitment weight for the caller: loss += beta · commitmentLoss. */
  readonly beta: number;
  /** How codes learn: 'gradient' or 'ema' (options.update). */
  readonly codeUpdate: CodeUpdate;
  readonly metric: Metric;
  readonly config: Readonly<ResolvedOptions>;

  private readonly label: string;
  private readonly codebooks: Codebook[];
  private readonly rng: Rng;
  private readonly weightPrefix: (codebook: number, shared: boolean) => string;
  private step = 0;
  private readonly lastUsed: Int32Array[]; // per codebook, step each code was last chosen
  private readonly restartCounts: number[]; // per codebook
  private windows: WindowStats[]; // per group
  private pending: PendingBatch[] | null = null; // per codebook
  private initBuffers: Array<{ chunks: Float32Array[]; n: number; batches: number }>;
  private disposed = false;

  constructor(options: GroupedQuantizerOptions, internals: GroupedQuantizerInternals = {}) {
    this.label = internals.label ?? 'GroupedQuantizer';
    const o = resolveOptions(options, this.label);
    this.config = o;
    this.dim = o.dim;
    this.groups = o.codebookSizes.length;
    this.codebookSizes = Object.freeze([...o.codebookSizes]);
    this.shared = o.shared;
    this.beta = o.beta;
    this.codeUpdate = o.update;
    this.metric = o.metric;
    this.weightPrefix = internals.weightPrefix ?? ((cb, shared) => (shared ? 'shared/' : `group${cb}/`));
    this.rng = createRng(o.seed);
    const sizes = o.shared ? [o.codebookSizes.reduce((a, b) => a + b, 0)] : o.codebookSizes;
    this.codebooks = [];
    try {
      sizes.forEach((size, cb) => {
        this.codebooks.push(
          new Codebook({
            size,
            dim: o.dim,
            seed: this.rng.uint32(),
            update: o.update,
            decay: o.decay,
            eps: o.eps,
            simvq: o.simvq,
            initStd: o.initStd,
            name: `${this.label} ${o.shared ? 'shared codebook' : `group ${cb} codebook`}`,
          }),
        );
      });
    } catch (error) {
      this.codebooks.forEach((c) => c.dispose());
      throw error;
    }
    this.lastUsed = sizes.map((k) => new Int32Array(k));
    this.restartCounts = sizes.map(() => 0);
    this.windows = this.freshWindows();
    this.initBuffers = sizes.map(() => ({ chunks: [], n: 0, batches: 0 }));
    if (o.init === 'random') this.codebooks.forEach((c) => (c.initialized = true));
  }

  private freshWindows(): WindowStats[] {
    return Array.from({ length: this.groups }, (_, g) => freshWindow(this.codebookOf(g).size));
  }

  private codebookOf(g: number): Codebook {
    return this.codebooks[this.shared ? 0 : g]!;
  }

  private checkAlive(): void {
    if (this.disposed) throw new VqlQuantizerError('DISPOSED', `${this.label}: used after dispose().`);
  }

  private checkGroup(g: unknown, where: string): number {
    if (typeof g !== 'number' || !Number.isInteger(g) || g < 0 || g >= this.groups) {
      throw new VqlQuantizerError('INVALID_ARGUMENT', `${this.label}.${where}: group must be an integer in [0, ${this.groups - 1}], got ${String(g)}.`);
    }
    return g;
  }

  /** True once every codebook has its k-means++ (or random / loaded) initial codes. */
  get initialized(): boolean {
    return this.codebooks.every((c) => c.initialized);
  }

  /** Training steps recorded so far. */
  get steps(): number {
    return this.step;
  }

  private validateKeys(keys: tf.Tensor3D, mask: tf.Tensor1D | undefined, where: string): { n: number; maskHost: Float32Array | null } {
    if (!(keys instanceof tf.Tensor)) {
      throw new VqlQuantizerError('INVALID_ARGUMENT', `${this.label}.${where}: keys must be a tfjs Tensor of shape [N, ${this.groups}, ${this.dim}].`);
    }
    if (keys.rank !== 3 || keys.shape[1] !== this.groups || keys.shape[2] !== this.dim) {
      throw new VqlQuantizerError(
        'DIMENSION_MISMATCH',
        `${this.label}.${where}: keys must have shape [N, ${this.groups}, ${this.dim}] (N items, G=${this.groups} groups, d=${this.dim}), got ${describeShape(keys)}.`,
      );
    }
    if (keys.dtype !== 'float32') {
      throw new VqlQuantizerError('INVALID_ARGUMENT', `${this.label}.${where}: keys must be float32, got ${keys.dtype}.`);
    }
    const n = keys.shape[0];
    let maskHost: Float32Array | null = null;
    if (mask !== undefined) {
      if (!(mask instanceof tf.Tensor) || mask.rank !== 1 || mask.shape[0] !== n) {
        throw new VqlQuantizerError('DIMENSION_MISMATCH', `${this.label}.${where}: mask must have shape [${n}] (one entry per item of keys), got ${mask instanceof tf.Tensor ? describeShape(mask) : typeof mask}.`);
      }
      maskHost = Float32Array.from(mask.dataSync() as ArrayLike<number>);
      for (let i = 0; i < n; i++) {
        if (maskHost[i] !== 0 && maskHost[i] !== 1) {
          throw new VqlQuantizerError('INVALID_MASK', `${this.label}.${where}: mask must hold 0 (padding) or 1 (item), got ${maskHost[i]} at index ${i}.`);
        }
      }
    }
    return { n, maskHost };
  }

  private checkFiniteHost(values: Float32Array, where: string): void {
    const g = this.groups;
    const d = this.dim;
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) {
        const item = Math.floor(i / (g * d));
        const group = Math.floor(i / d) % g;
        throw new VqlQuantizerError(
          'NON_FINITE_KEYS',
          `${this.label}.${where}: keys[${item}, ${group}, ${i % d}] is ${values[i]} (keys must be finite; check the key projection and its inputs).`,
        );
      }
    }
  }

  /** Valid keys of codebook `cb` as a compact [m*d] array (normalised under cosine). */
  private gatherValid(keysHost: Float32Array, n: number, maskHost: Float32Array | null, cb: number): { keys: Float32Array; m: number } {
    const groups = this.shared ? Array.from({ length: this.groups }, (_, i) => i) : [cb];
    return validKeysOf(keysHost, n, maskHost, groups, this.groups, this.dim, this.metric);
  }

  private initSampleLimit(k: number): number {
    return this.config.initSamples ?? Math.min(20000, Math.max(1024, 16 * k));
  }

  private runInit(cb: number, points: Float32Array, m: number): void {
    const codebook = this.codebooks[cb]!;
    const d = this.dim;
    const limit = this.initSampleLimit(codebook.size);
    const { sample, count } = subsampleRows(points, m, limit, d, this.rng);
    codebook.initializeFrom(sample, count, this.rng.fork(), this.config.kmeansIterations);
    if (this.metric === 'cosine') {
      // Centres of unit vectors are shorter than 1; codes are compared after normalisation anyway.
      const v = normalizeRowsInPlace(codebook.values(), codebook.size, d);
      const w: Record<string, tf.Tensor> = {};
      const own = codebook.getWeights('');
      try {
        if (codebook.simvq) {
          w['basis'] = tf.tensor2d(v, [codebook.size, d]);
          w['linear'] = own['linear']!;
        } else {
          w['codes'] = tf.tensor2d(v, [codebook.size, d]);
          if (own['emaCount'] !== undefined) w['emaCount'] = own['emaCount'];
          if (own['emaSum'] !== undefined) {
            const counts = own['emaCount']!.dataSync();
            const sums = new Float32Array(codebook.size * d);
            for (let j = 0; j < codebook.size; j++) for (let t = 0; t < d; t++) sums[j * d + t] = v[j * d + t]! * counts[j]!;
            w['emaSum'] = tf.tensor2d(sums, [codebook.size, d]);
          }
        }
        codebook.setWeights(w);
      } finally {
        tf.dispose([...Object.values(own), ...Object.values(w)]);
      }
    }
    this.lastUsed[cb]!.fill(this.step);
  }

  private collectInit(keysHost: Float32Array, n: number, maskHost: Float32Array | null): void {
    this.codebooks.forEach((codebook, cb) => {
      if (codebook.initialized) return;
      const buffer = this.initBuffers[cb]!;
      const { keys, m } = this.gatherValid(keysHost, n, maskHost, cb);
      const limit = this.initSampleLimit(codebook.size);
      // Keep up to 4× the sample limit; the subsample in runInit then draws from all of them.
      const room = 4 * limit - buffer.n;
      if (room > 0 && m > 0) {
        const take = Math.min(room, m);
        buffer.chunks.push(keys.slice(0, take * this.dim));
        buffer.n += take;
      }
      buffer.batches++;
      if (buffer.batches >= this.config.initBatches && buffer.n >= codebook.size) {
        const all = new Float32Array(buffer.n * this.dim);
        let o = 0;
        for (const c of buffer.chunks) {
          all.set(c, o);
          o += c.length;
        }
        this.initBuffers[cb] = { chunks: [], n: 0, batches: 0 };
        this.runInit(cb, all, buffer.n);
      }
    });
  }

  /**
   * Runs k-means++ initialisation now on the given keys (all valid items pooled), replacing the
   * current codes of every codebook. Outside the gradient tape only.
   */
  initialize(keys: tf.Tensor3D, options: { mask?: tf.Tensor1D } = {}): void {
    this.checkAlive();
    const { n, maskHost } = this.validateKeys(keys, options.mask, 'initialize');
    const keysHost = keys.dataSync() as Float32Array;
    this.checkFiniteHost(keysHost, 'initialize');
    this.codebooks.forEach((_, cb) => {
      const { keys: pts, m } = this.gatherValid(keysHost, n, maskHost, cb);
      if (m === 0) {
        throw new VqlQuantizerError('INVALID_ARGUMENT', `${this.label}.initialize: keys hold no valid (unmasked) item.`);
      }
      this.initBuffers[cb] = { chunks: [], n: 0, batches: 0 };
      this.runInit(cb, pts, m);
    });
  }

  /**
   * Nearest-code quantization of keys [N,G,d]. Differentiable: gradients reach the keys through
   * the straight-through output and the codes through `codebookLoss`; the argmin has none.
   */
  quantize(keys: tf.Tensor3D, options: QuantizeOptions = {}): QuantizeResult {
    this.checkAlive();
    checkKnownKeys(`${this.label}.quantize: options`, options, ['mask', 'training'], (m) => new VqlQuantizerError('UNKNOWN_OPTION', m));
    const training = options.training ?? false;
    const { n, maskHost } = this.validateKeys(keys, options.mask, 'quantize');
    const g = this.groups;
    const d = this.dim;
    let keysHost: Float32Array | null = null;
    if (training || this.config.checkFinite) {
      keysHost = keys.dataSync() as Float32Array;
      this.checkFiniteHost(keysHost, 'quantize');
    }
    if (training) {
      // Variable writes happen here, before the codebooks are read by this forward pass.
      this.applyPending();
      this.collectInit(keysHost!, n, maskHost);
    }
    let valid = n;
    if (maskHost !== null) {
      valid = 0;
      for (let i = 0; i < n; i++) valid += maskHost[i]!;
    }
    const denominator = Math.max(1, valid * g * d);
    const codesHost = new Int32Array(n * g);
    const result = tf.tidy(() => {
      const books = this.codebooks.map((c) => (this.metric === 'cosine' ? l2normalize(c.effective()) : c.effective()));
      const k3 = this.metric === 'cosine' ? l2normalize(keys) : keys;
      // Code choice for all groups in one matmul (no gradient), then one fused op for the
      // straight-through keys and one for both loss numerators.
      codesHost.set(nearestCodesGrouped(k3, Array.from({ length: g }, (_, gg) => books[this.shared ? 0 : gg]!)));
      const fused = { codes: codesHost, bookOf: Array.from({ length: g }, (_, gg) => (this.shared ? 0 : gg)), weight: maskHost };
      const quantized = straightThroughCodes(k3, books, fused);
      const sums = quantizationErrorSums(k3, books, fused);
      const codebookLoss = this.codeUpdate === 'ema' ? tf.scalar(0) : tf.div(tf.reshape(tf.slice(sums, [0], [1]), []), denominator);
      return {
        quantized,
        codes: tf.tensor2d(codesHost, [n, g], 'int32'),
        codebookLoss: codebookLoss as tf.Scalar,
        commitmentLoss: tf.div(tf.reshape(tf.slice(sums, [1], [1]), []), denominator) as tf.Scalar,
      };
    });
    if (training) this.record(keysHost!, n, maskHost, codesHost);
    return result;
  }

  /** Statistics and the deferred EMA/restart batch of one training step (host only). */
  private record(keysHost: Float32Array, n: number, maskHost: Float32Array | null, codesHost: Int32Array): void {
    const g = this.groups;
    const d = this.dim;
    this.step++;
    const pending: PendingBatch[] = [];
    this.codebooks.forEach((codebook, cb) => {
      const { keys, m } = this.gatherValid(keysHost, n, maskHost, cb);
      let values = codebook.values();
      if (this.metric === 'cosine') values = normalizeRowsInPlace(values, codebook.size, d);
      const groups = this.shared ? Array.from({ length: g }, (_, i) => i) : [cb];
      const codes = new Int32Array(m);
      const sqErr = new Float64Array(m);
      const used = this.lastUsed[cb]!;
      let r = 0;
      const step = this.step;
      // Index loops and per-group accumulators in locals: this runs over every key of every step.
      const windows = groups.map((gg) => this.windows[gg]!);
      const sums = groups.map(() => ({ sq: 0, rel: 0, relN: 0, n: 0 }));
      for (let i = 0; i < n; i++) {
        if (maskHost !== null && maskHost[i] !== 1) continue;
        for (let gi = 0; gi < groups.length; gi++) {
          const z = codesHost[i * g + groups[gi]!]!;
          codes[r] = z;
          used[z] = step;
          let err = 0;
          let norm = 0;
          const ko = r * d;
          const co = z * d;
          for (let t = 0; t < d; t++) {
            const kv = keys[ko + t]!;
            const diff = kv - values[co + t]!;
            err += diff * diff;
            norm += kv * kv;
          }
          sqErr[r] = err;
          const counts = windows[gi]!.counts;
          counts[z] = counts[z]! + 1;
          const acc = sums[gi]!;
          acc.sq += err / d;
          acc.n++;
          if (norm > 0) {
            acc.rel += Math.sqrt(err / norm);
            acc.relN++;
          }
          r++;
        }
      }
      windows.forEach((w, gi) => {
        const acc = sums[gi]!;
        w.sqErrSum += acc.sq;
        w.sqErrN += acc.n;
        w.relErrSum += acc.rel;
        w.relErrN += acc.relN;
      });
      pending.push({ keys, codes, sqErr, n: m });
    });
    this.pending = pending;
  }

  /**
   * Applies the EMA code update and dead-code restart of the last training batch now (they are
   * otherwise applied at the start of the next training `quantize`). Call it outside any
   * gradient tape, e.g. after `optimizer.minimize`. Returns the number of re-seeded codes.
   */
  update(): number {
    this.checkAlive();
    return this.applyPending();
  }

  private applyPending(): number {
    const pending = this.pending;
    if (pending === null) return 0;
    this.pending = null;
    let restarted = 0;
    this.codebooks.forEach((codebook, cb) => {
      const batch = pending[cb]!;
      if (codebook.update === 'ema' && batch.n > 0) codebook.emaUpdate(batch.keys, batch.codes, batch.n);
      if (this.config.deadCodeSteps > 0 && codebook.initialized && batch.n > 0) {
        restarted += this.restartDead(cb, batch);
      }
    });
    return restarted;
  }

  private restartDead(cb: number, batch: PendingBatch): number {
    const used = this.lastUsed[cb]!;
    const dead = deadCodes(used, this.step, this.config.deadCodeSteps);
    if (dead.length === 0) return 0;
    const { chosen, vectors } = restartVectors(dead, batch, this.dim, this.rng);
    const done = this.codebooks[cb]!.restart(chosen, vectors);
    for (const j of chosen) used[j] = this.step;
    this.restartCounts[cb] = this.restartCounts[cb]! + done;
    return done;
  }

  /** Usage statistics per group since construction or the last `resetStats()`. */
  stats(): GroupStats[] {
    this.checkAlive();
    return this.windows.map((w, g) => summarizeWindow(w, this.restartCounts[this.shared ? 0 : g]!));
  }

  /** Starts a new statistics window (counts, errors); restart bookkeeping is kept. */
  resetStats(): void {
    this.checkAlive();
    this.windows = this.freshWindows();
  }

  /** Effective codes [K*d] group `g` chooses from (the whole shared codebook when `shared`). */
  codebookValues(g: number): Float32Array {
    this.checkAlive();
    const group = this.checkGroup(g, 'codebookValues');
    const codebook = this.codebookOf(group);
    const values = codebook.values();
    return this.metric === 'cosine' ? normalizeRowsInPlace(values, codebook.size, this.dim) : values;
  }

  /**
   * Nearest codes of `keys` ([n*d] row-major, keys of group `g`) on plain typed arrays — the
   * serving path, no tfjs gradient machinery. Same codes as `quantize` up to float ties.
   */
  assign(keys: Float32Array, g: number): Int32Array {
    this.checkAlive();
    const group = this.checkGroup(g, 'assign');
    const d = this.dim;
    if (!(keys instanceof Float32Array)) {
      throw new VqlQuantizerError('INVALID_ARGUMENT', `${this.label}.assign: keys must be a Float32Array of n*${d} values.`);
    }
    if (keys.length % d !== 0) {
      throw new VqlQuantizerError('DIMENSION_MISMATCH', `${this.label}.assign: keys has ${keys.length} values, not a multiple of dim=${d}.`);
    }
    const n = keys.length / d;
    for (let i = 0; i < keys.length; i++) {
      if (!Number.isFinite(keys[i]!)) {
        throw new VqlQuantizerError('NON_FINITE_KEYS', `${this.label}.assign: key ${Math.floor(i / d)} has ${keys[i]} at dimension ${i % d}.`);
      }
    }
    const codebook = this.codebookOf(group);
    const codes = this.codebookValues(group);
    const input = this.metric === 'cosine' ? normalizeRowsInPlace(Float32Array.from(keys), n, d) : keys;
    const out = new Int32Array(n);
    nearestCodesHost(input, n, codes, codebook.size, d, out);
    return out;
  }

  trainableVariables(): tf.Variable[] {
    this.checkAlive();
    return this.codebooks.flatMap((c) => c.trainableVariables());
  }

  /** Named copies of every codebook weight (`group{g}/codes`, … or `shared/…`); caller disposes. */
  getWeights(): Record<string, tf.Tensor> {
    this.checkAlive();
    const out: Record<string, tf.Tensor> = {};
    this.codebooks.forEach((c, cb) => Object.assign(out, c.getWeights(this.weightPrefix(cb, this.shared))));
    return out;
  }

  /** Loads `getWeights()` output (other names are ignored); marks codebooks initialised. */
  setWeights(weights: Record<string, tf.Tensor>): void {
    this.checkAlive();
    if (weights === null || typeof weights !== 'object') {
      throw new VqlQuantizerError('INVALID_ARGUMENT', `${this.label}.setWeights: weights must be a record of named tensors.`);
    }
    // Validate everything before writing anything, so a bad map leaves the quantizer unchanged.
    this.codebooks.forEach((c, cb) => {
      const prefix = this.weightPrefix(cb, this.shared);
      for (const name of c.weightNames()) {
        if (!(weights[`${prefix}${name}`] instanceof tf.Tensor)) {
          throw new VqlQuantizerError('MISSING_WEIGHT', `${this.label}.setWeights: missing tensor "${prefix}${name}".`);
        }
      }
    });
    this.codebooks.forEach((c, cb) => c.setWeights(weights, this.weightPrefix(cb, this.shared)));
    this.pending = null;
    this.initBuffers = this.codebooks.map(() => ({ chunks: [], n: 0, batches: 0 }));
    this.lastUsed.forEach((u) => u.fill(this.step));
  }

  /** SHA-256 of the effective code values (and the metric), stable across runs and backends. */
  fingerprint(): string {
    this.checkAlive();
    const tensors: Record<string, tf.Tensor> = {};
    const names = this.shared ? ['shared'] : this.codebooks.map((_, cb) => `group${cb}`);
    this.codebooks.forEach((c, cb) => {
      let v = c.values();
      if (this.metric === 'cosine') v = normalizeRowsInPlace(v, c.size, this.dim);
      tensors[`${this.metric}/${names[cb]}`] = tf.tensor2d(v, [c.size, this.dim]);
    });
    try {
      return weightsFingerprint(tensors);
    } finally {
      tf.dispose(Object.values(tensors));
    }
  }

  /** Config as JSON (what `save` stores and `load` rebuilds from). */
  toJSON(): { [key: string]: JsonValue } {
    const { initSamples, ...rest } = this.config;
    return { ...rest, codebookSizes: [...this.config.codebookSizes], ...(initSamples === null ? {} : { initSamples }) };
  }

  /** Writes config + weights with `saveWeights` (tfjs model.json + weights.bin). */
  async save(dir: string): Promise<{ fingerprint: string; bytes: number }> {
    this.checkAlive();
    const weights = this.getWeights();
    try {
      const meta = { kind: 'GroupedQuantizer', config: this.toJSON(), codesFingerprint: this.fingerprint() };
      return await saveWeights(dir, weights, meta);
    } finally {
      tf.dispose(Object.values(weights));
    }
  }

  /** Rebuilds a quantizer written by `save`; throws naming the directory when it is not one. */
  static async load(dir: string): Promise<GroupedQuantizer> {
    const loaded = await loadWeights(dir);
    try {
      const meta = loaded.meta as { kind?: unknown; config?: unknown; codesFingerprint?: unknown };
      if (meta.kind !== 'GroupedQuantizer' || meta.config === null || typeof meta.config !== 'object') {
        throw new VqlQuantizerError('CORRUPT_FILE', `GroupedQuantizer.load: ${dir}/model.json was not written by GroupedQuantizer.save (meta.kind = ${String(meta.kind)}).`);
      }
      const q = new GroupedQuantizer(meta.config as unknown as GroupedQuantizerOptions);
      try {
        q.setWeights(loaded.tensors);
        if (typeof meta.codesFingerprint === 'string' && meta.codesFingerprint !== q.fingerprint()) {
          throw new VqlQuantizerError('FINGERPRINT_MISMATCH', `GroupedQuantizer.load: codes in ${dir} do not match the fingerprint recorded in its model.json.`);
        }
      } catch (error) {
        q.dispose();
        throw error;
      }
      return q;
    } finally {
      tf.dispose(Object.values(loaded.tensors));
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.codebooks.forEach((c) => c.dispose());
  }
}
