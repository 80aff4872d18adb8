import { CtrModel, VqlAttention } from '@vql/model';
import type { ContextFeatureSpec } from '@vql/context';
import { checkKnownKeys, hostDenseLayers, matMulT, mlpForward, tf, transposeMatrix } from '@vql/runtime';
import type { HostDenseLayer } from '@vql/runtime';
import type { Tensor } from '@vql/runtime';
import type { AppendTarget } from './cache-store.js';
import { VqlCacheStoreError } from './errors.js';
import type { EventId } from './event-ids.js';
import { checkTimes, resolveTimeBounds } from './time-bounds.js';
import type { ResolvedTimeBounds, TimeBounds } from './time-bounds.js';
import { checkLayout } from './layout.js';
import type { CacheLayout } from './layout.js';
import type { CacheKernel, EncodedEvents } from './user-cache.js';

/** Raw behaviours of one user, as in a `CtrBatch` row (times in seconds). */
export interface UserHistory {
  items: Int32Array; // [n] 1..numItems
  times: Float64Array; // [n] seconds, any order
  /** Every context feature of the model (item and event scope), `[n*width]` each. */
  context?: Record<string, Int32Array | Float32Array>;
  /** One id per event (idempotent appends: an id the cache has applied is skipped); optional. */
  ids?: readonly EventId[];
}

/** Candidates of one request. */
export interface Candidates {
  items: Int32Array; // [N]
  /** Request time in seconds, one for all or one per candidate. */
  time: number | Float64Array;
  /** Item-scope context features of the candidates, `[N*width]` each. */
  context?: Record<string, Int32Array | Float32Array>;
}

/**
 * What the cache and the cached scorer need from a trained VQL model: the key/value side for
 * events (run once, at build / append time) and the query side plus the tower (run per request,
 * on typed arrays). `CtrCacheModel` implements it for `@vql/model`'s `CtrModel`.
 */
export interface CacheModel extends AppendTarget {
  /** Effective codes per group, [K_g*d_h]. */
  readonly codebooks: readonly Float32Array[];
  /** Factor on q·c in the attention logits (1/√d_h in VQL). */
  readonly logitScale: number;
  encodeEvents(history: UserHistory): EncodedEvents;
  /** Queries [N*H*d_h] and whatever the tower needs besides the interest (the target embedding). */
  encodeCandidates(candidates: Candidates): { count: number; queries: Float32Array; target: Float32Array; times: Float64Array | number };
  /** Click probabilities from interest [N*H*d_h] and `target` of `encodeCandidates`. */
  head(interest: Float32Array, target: Float32Array, count: number): Float32Array;
}

/** κ ≡ 1 (a model without temporal kernel): rank 1, every factor 1. */
const CONSTANT_KERNEL: CacheKernel = {
  rank: 1,
  queryFactors: () => Float64Array.of(1),
  scaledQueryFactors: () => ({ factors: Float64Array.of(1), logScale: 0 }),
  historyFactorsBatch: (times) => new Float64Array(times.length).fill(1),
  reanchorScale: () => Float64Array.of(1),
};

export interface CtrCacheModelOptions {
  /**
   * The cache sums every event ever appended, while a model with `historyWindow` saw only the
   * newest n. Set true to serve such a model anyway (scores then differ from `predict` for users
   * with more than n events). Default false: refused.
   */
  ignoreHistoryWindow?: boolean;
  /** Accepted event and request times for every cache built, appended to or scored with this model. */
  timeBounds?: TimeBounds;
}

const OPTION_KEYS = ['ignoreHistoryWindow', 'timeBounds'] as const;

/**
 * A `CtrModel` whose interest module is `VqlAttention`, seen as a `CacheModel`. A full snapshot:
 * the constructor copies every weight into a private model (`this.model`), so training the
 * original afterwards changes neither the fingerprint nor the codes, values and scores of this
 * one. Events go through that copy's own tfjs ops (item table, context fusion, key projection,
 * `quantize`), so codes match its `predict` bit for bit; candidates and the tower run on typed
 * arrays. `dispose()` frees the copy.
 */
export class CtrCacheModel implements CacheModel {
  /** The private snapshot of the wrapped model (scores equal its `predict`). */
  readonly model: CtrModel;
  fingerprint!: string;
  readonly timeBounds: TimeBounds;
  private readonly bounds: ResolvedTimeBounds;
  layout!: CacheLayout;
  kernel!: CacheKernel;
  codebooks!: readonly Float32Array[];
  logitScale!: number;
  // Set once by `init` (called from the constructor).
  private attention!: VqlAttention;
  private features!: readonly ContextFeatureSpec[];
  private wq!: Float32Array; // [Dq, H*dh]
  private tower!: HostDenseLayer[];
  private itemTable!: Float32Array; // [(numItems+1)*d], for candidates
  /** Typed-array context fusion; null when the model has no context features (fused = item). */
  private host!: ReturnType<NonNullable<CtrModel['encoder']>['toHost']> | null;
  private interaction!: Float32Array | null; // [D, H*dh] W_p of the tower's interest ⊙ (e_q·W_p) term

  constructor(source: CtrModel, options: CtrCacheModelOptions = {}) {
    const where = 'new CtrCacheModel';
    if (source == null || !(source.interest instanceof VqlAttention)) {
      throw new VqlCacheStoreError('UNSUPPORTED_MODEL', `${where}: model.interest must be VqlAttention (kind 'vql'), got ${String(source?.interest?.kind)}.`);
    }
    checkKnownKeys(`${where}: options`, options, OPTION_KEYS, (m) => new VqlCacheStoreError('UNKNOWN_OPTION', m));
    this.bounds = resolveTimeBounds(where, options.timeBounds);
    this.timeBounds = this.bounds;
    const cfg = source.config;
    if ((source.interest as VqlAttention).valueQuantizer !== null) {
      throw new VqlCacheStoreError('UNSUPPORTED_MODEL', `${where}: the "quantizeValues" ablation is not cached (its values are codes; serve it through predict).`);
    }
    if (cfg.shortTerm > 0) {
      throw new VqlCacheStoreError('UNSUPPORTED_MODEL', `${where}: config.shortTerm = ${cfg.shortTerm} needs the newest raw behaviours at request time, which the cache does not keep.`);
    }
    // The model records what it was trained on (@vql/model historyPolicy): newest-L scores differ from a whole-history cache.
    if (cfg.historyPolicy?.kind === 'newest' && options.ignoreHistoryWindow !== true) {
      throw new VqlCacheStoreError(
        'UNSUPPORTED_MODEL',
        `${where}: config.historyPolicy is { kind: 'newest', length: ${cfg.historyPolicy.length} } (historyWindow = ${cfg.historyWindow}), but a cache serves the whole history; train it with historyPolicy { kind: 'whole' } (Trainer layout 'user'), or pass { ignoreHistoryWindow: true } to serve it anyway.`,
      );
    }
    if (cfg.historyWindow !== null && options.ignoreHistoryWindow !== true) {
      throw new VqlCacheStoreError(
        'UNSUPPORTED_MODEL',
        `${where}: config.historyWindow = ${cfg.historyWindow}, but a cache sums all events; pass { ignoreHistoryWindow: true } to serve it anyway.`,
      );
    }
    // Every weight copied into a model of the same config: nothing below reads the source again.
    const model = new CtrModel(structuredClone(cfg));
    try {
      model.setWeights(source.getWeights());
    } catch (error) {
      model.dispose();
      throw error;
    }
    this.model = model;
    try {
      this.init(where, cfg);
    } catch (error) {
      model.dispose();
      throw error;
    }
  }

  private init(where: string, cfg: CtrModel['config']): void {
    const model = this.model;
    const attention = model.interest as VqlAttention;
    this.attention = attention;
    this.features = cfg.contextFeatures;
    const { heads: H, groups: G, headDim: dh } = attention.shape;
    const codebooks: Float32Array[] = [];
    for (let g = 0; g < G; g++) codebooks.push(attention.quantizer.codebookValues(g));
    this.codebooks = codebooks;
    const kernel = attention.temporalKernel();
    this.kernel = kernel ?? CONSTANT_KERNEL;
    this.layout = checkLayout(where, {
      headsPerGroup: new Array<number>(G).fill(H / G),
      codebookSizes: codebooks.map((c) => c.length / dh),
      headDim: dh,
      kernelRank: this.kernel.rank,
    });
    this.logitScale = 1 / Math.sqrt(dh);
    this.fingerprint = model.fingerprint();
    const weights = model.getWeights();
    this.wq = transposeMatrix(Float32Array.from(weights['interest/wq']!.dataSync()), weights['interest/wq']!.shape[0]!, H * dh);
    this.itemTable = Float32Array.from(weights['items/embedding']!.dataSync());
    this.host = model.encoder === null ? null : model.encoder.toHost();
    const tower = model.towerHost();
    this.tower = hostDenseLayers(tower.layers);
    this.interaction = tower.interaction === null ? null : transposeMatrix(tower.interaction, model.fusedDim, H * dh);
    // The tower input must be exactly what `head` assembles; anything else (a new model feature)
    // is refused here rather than read past the end into NaN scores.
    const I = H * dh;
    const expectedIn = I + model.fusedDim + (this.interaction === null ? 0 : I);
    if (this.tower[0]?.inDim !== expectedIn) {
      throw new VqlCacheStoreError(
        'UNSUPPORTED_MODEL',
        `${where}: the model's tower reads ${this.tower[0]?.inDim} inputs, but the cached scorer assembles ${expectedIn} (interest ⊕ target${this.interaction === null ? '' : ' ⊕ interaction'}).`,
      );
    }
  }

  private checkContext(where: string, ctx: Record<string, Int32Array | Float32Array> | undefined, n: number, scopes: ReadonlySet<string>): Record<string, Int32Array | Float32Array> {
    const out: Record<string, Int32Array | Float32Array> = {};
    for (const f of this.features) {
      if (!scopes.has(f.scope)) continue;
      const col = ctx?.[f.name];
      const width = f.kind === 'multi' ? f.width : 1;
      if (col === undefined || col.length !== n * width) {
        throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: context.${f.name} must have ${n * width} values (${n} rows × width ${width}), got ${col === undefined ? 'none' : col.length}.`);
      }
      out[f.name] = col;
    }
    return out;
  }

  private checkItems(where: string, items: Int32Array): void {
    if (!(items instanceof Int32Array)) throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: items must be an Int32Array.`);
    const max = this.model.config.numItems;
    for (let i = 0; i < items.length; i++) {
      if (items[i]! < 1 || items[i]! > max) throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: items[${i}] = ${items[i]} is outside 1..${max}.`);
    }
  }

  encodeEvents(history: UserHistory): EncodedEvents {
    const where = 'CtrCacheModel.encodeEvents';
    if (history == null || !(history.times instanceof Float64Array)) {
      throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: history.times must be a Float64Array (seconds).`);
    }
    this.checkItems(`${where}: history`, history.items);
    const n = history.items.length;
    if (history.times.length !== n) throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: history.times has ${history.times.length} entries, history.items ${n}.`);
    if (history.ids !== undefined && (!Array.isArray(history.ids) || history.ids.length !== n)) {
      throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: history.ids must be an array of ${n} event ids, got ${Array.isArray(history.ids) ? history.ids.length : typeof history.ids}.`);
    }
    // Before any model op: a bad time is refused cheaply, naming the event.
    checkTimes(where, history.times, this.bounds, (i) => `history.times[${i}] (event ${i}${history.ids === undefined ? '' : `, id ${JSON.stringify(history.ids[i])}`})`);
    const ctx = this.checkContext(`${where}: history`, history.context, n, new Set(['item', 'event']));
    const { heads: H, groups: G, headDim: dh } = this.attention.shape;
    const codes = new Int32Array(n * G);
    const values = new Float32Array(n * H * dh);
    let weights: Float32Array | null = null;
    const ids = history.ids === undefined ? null : history.ids;
    if (n === 0) return { count: 0, times: history.times, codes, weights, values, ids };
    const w = this.model.getWeights();
    const [wk, wv] = [w['interest/wk']!, w['interest/wv']!];
    // The model's own ops on the event rows (chunks bound memory): same codes as `predict`.
    const CHUNK = 8192;
    for (let start = 0; start < n; start += CHUNK) {
      const m = Math.min(CHUNK, n - start);
      const sub: Record<string, Int32Array | Float32Array> = {};
      for (const [name, col] of Object.entries(ctx)) {
        const width = col.length / n;
        sub[name] = col.subarray(start * width, (start + m) * width);
      }
      const emb = this.model.embedBehaviours(history.items.subarray(start, start + m), sub);
      const out = tf.tidy(() => {
        const useContext = this.attention.useContext;
        const rowsIn = useContext ? emb.fused : emb.item;
        const fused: Tensor = tf.tensor2d(rowsIn, [m, rowsIn.length / m]);
        const bias: Tensor | null = useContext && emb.bias !== null ? tf.tensor1d(emb.bias) : null;
        const keys = tf.reshape(tf.matMul(fused, wk), [m, G, dh]) as tf.Tensor3D;
        const q = this.attention.quantizer.quantize(keys, { training: false });
        const parts: Tensor[] = [q.codes, tf.matMul(fused, wv)];
        if (bias !== null) parts.push(tf.exp(tf.reshape(bias, [m])));
        return parts;
      });
      codes.set(out[0]!.dataSync() as Int32Array, start * G);
      values.set(out[1]!.dataSync() as Float32Array, start * H * dh);
      if (out[2] !== undefined) {
        weights ??= new Float32Array(n);
        weights.set(out[2].dataSync() as Float32Array, start);
      }
      tf.dispose(out);
    }
    return { count: n, times: history.times, codes, weights, values, ids };
  }

  encodeCandidates(candidates: Candidates): { count: number; queries: Float32Array; target: Float32Array; times: Float64Array | number } {
    const where = 'CtrCacheModel.encodeCandidates';
    if (candidates == null) throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: candidates are required.`);
    this.checkItems(`${where}: candidates`, candidates.items);
    const N = candidates.items.length;
    const t = candidates.time;
    if (typeof t === 'number' ? !Number.isFinite(t) : !(t instanceof Float64Array) || t.length !== N) {
      throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: candidates.time must be a finite number or a Float64Array of ${N} times.`);
    }
    checkTimes(where, typeof t === 'number' ? [t] : t, this.bounds, (i) => (typeof t === 'number' ? 'the request (candidates.time)' : `candidates.time[${i}]`), 'nothing was scored');
    const ctx = this.checkContext(`${where}: candidates`, candidates.context, N, new Set(['item']));
    // Typed arrays only: a per-request tfjs call costs more than the whole cached attention.
    const d = this.model.config.embeddingDim;
    const itemEmb = new Float32Array(N * d);
    for (let c = 0; c < N; c++) itemEmb.set(this.itemTable.subarray(candidates.items[c]! * d, (candidates.items[c]! + 1) * d), c * d);
    const target = this.host === null ? itemEmb : this.host.fuseTarget(itemEmb, ctx, N);
    const { heads: H, headDim: dh } = this.attention.shape;
    const qIn = this.attention.useContext ? target : itemEmb;
    const queries = matMulT(qIn, N, qIn.length / Math.max(N, 1), this.wq, H * dh);
    return { count: N, queries, target, times: t };
  }

  /** Frees the snapshot's tensors; the wrapped model is not touched. */
  dispose(): void {
    this.model.dispose();
  }

  head(interest: Float32Array, target: Float32Array, count: number): Float32Array {
    const I = interest.length / Math.max(count, 1);
    const D = target.length / Math.max(count, 1);
    const P = this.interaction === null ? 0 : I;
    const W = I + D + P;
    const x = new Float32Array(count * W);
    const proj = this.interaction === null ? null : matMulT(target, count, D, this.interaction, I);
    for (let c = 0; c < count; c++) {
      x.set(interest.subarray(c * I, (c + 1) * I), c * W);
      x.set(target.subarray(c * D, (c + 1) * D), c * W + I);
      if (proj !== null) for (let k = 0; k < I; k++) x[c * W + I + D + k] = interest[c * I + k]! * proj[c * I + k]!;
    }
    const logits = mlpForward(this.tower, x, count);
    const probs = new Float32Array(count);
    for (let c = 0; c < count; c++) probs[c] = 1 / (1 + Math.exp(-logits[c]!));
    return probs;
  }
}
