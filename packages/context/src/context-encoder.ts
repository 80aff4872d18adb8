import { checkKnownKeys, createRng, gatherRows, tf, weightsFingerprint } from '@vql/runtime';
import type { Rng, Tensor, Variable } from '@vql/runtime';
import { VqlContextError } from './errors.js';
import type { ContextColumns, ContextFeatureSpec } from './feature-spec.js';
import { featureWidth, tableRows, validateFeatureSpecs } from './feature-spec.js';
import type { OovCounter } from './lookup.js';
import { featureRows } from './lookup.js';
import { HostContextEncoder } from './host-context-encoder.js';

export type FusionMode = 'concat' | 'sum';

export interface ContextEncoderOptions {
  features: ContextFeatureSpec[];
  /** d: width of the item embedding the context is fused into. */
  itemDim: number;
  /** 'concat': [e_item, e_ctx...]·W + b (default); 'sum': e_item + Σ e_ctx (embeddings of width itemDim). */
  fusion?: FusionMode;
  /** Context embedding width (concat only; sum uses itemDim). One number or per feature. Default 16. */
  embeddingDim?: number | Record<string, number>;
  /** Output width of the concat projection. Default itemDim; sum always outputs itemDim. */
  outDim?: number;
  /**
   * Concat only: width of a ReLU branch added to the projection, `x·W + b + relu(x·W₁ + b₁)·W₂`.
   * A linear fusion can only add feature embeddings, so it cannot give a (category, modality
   * bucket) pair an identity of its own; the branch can. 0 = off (default).
   */
  fusionHidden?: number;
  /** Add a query-independent per-behaviour logit bias b_i = w·[e_ctx] (DESIGN §1). Default false. */
  logitBias?: boolean;
  /** Std of the embedding initialisation. Default 0.05. */
  initScale?: number;
  seed: number | string;
}

/** JSON form of the options (`toConfig()`); weights travel separately. */
export type ContextEncoderConfig = Required<Omit<ContextEncoderOptions, 'embeddingDim'>> & { embeddingDim: Record<string, number> };

const OPTION_KEYS = ['features', 'itemDim', 'fusion', 'embeddingDim', 'outDim', 'fusionHidden', 'logitBias', 'initScale', 'seed'] as const;

/**
 * Owns one embedding table per context feature (row 0 missing, 1..vocabSize ids, vocabSize+1
 * OOV; numeric: 0 missing, 1..n+1 buckets) and fuses context into the item embedding before the
 * key/value projections, so context reaches keys before quantization and values exactly.
 * Target-side fusion uses item-scope features only; event-scope slots are zero for the target.
 */
/** [rows, cols] Glorot-uniform values. */
function glorot(rng: Rng, rows: number, cols: number): Tensor {
  const limit = Math.sqrt(6 / (rows + cols));
  const w = new Float32Array(rows * cols);
  for (let i = 0; i < w.length; i++) w[i] = (2 * rng.next() - 1) * limit;
  return tf.tensor2d(w, [rows, cols]);
}

export class ContextEncoder {
  readonly features: readonly ContextFeatureSpec[];
  readonly itemDim: number;
  readonly outDim: number;
  readonly fusion: FusionMode;
  readonly hasLogitBias: boolean;
  private readonly config: ContextEncoderConfig;
  private readonly embDims: Map<string, number>;
  private readonly tables = new Map<string, Variable>(); // [rows, e]
  private readonly fusionKernel: Variable | null = null; // [d + Σe, outDim]
  private readonly fusionBias: Variable | null = null; // [outDim]
  private readonly hiddenKernel: Variable | null = null; // [d + Σe, fusionHidden]
  private readonly hiddenBias: Variable | null = null; // [fusionHidden]
  private readonly hiddenOut: Variable | null = null; // [fusionHidden, outDim]
  private readonly biasKernel: Variable | null = null; // [Σe, 1]
  private readonly oov: OovCounter = new Map();

  constructor(options: ContextEncoderOptions) {
    const where = 'new ContextEncoder';
    if (options == null || typeof options !== 'object') {
      throw new VqlContextError('INVALID_OPTIONS', `${where}(options): options are required.`);
    }
    checkKnownKeys(`${where}: options`, options, OPTION_KEYS, (m) => new VqlContextError('UNKNOWN_OPTION', m));
    this.features = validateFeatureSpecs(where, options.features);
    const positiveInt = (field: string, v: unknown): number => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
        throw new VqlContextError('INVALID_OPTIONS', `${where}: options.${field} must be a positive integer, got ${String(v)}.`);
      }
      return v;
    };
    this.itemDim = positiveInt('itemDim', options.itemDim);
    const fusion = options.fusion ?? 'concat';
    if (fusion !== 'concat' && fusion !== 'sum') {
      throw new VqlContextError('INVALID_OPTIONS', `${where}: options.fusion must be 'concat' or 'sum', got ${JSON.stringify(fusion)}.`);
    }
    this.fusion = fusion;
    if (options.seed === undefined || (typeof options.seed !== 'number' && typeof options.seed !== 'string')) {
      throw new VqlContextError('INVALID_OPTIONS', `${where}: options.seed (number or string) is required: initialisation is seeded.`);
    }
    const initScale = options.initScale ?? 0.05;
    if (typeof initScale !== 'number' || !Number.isFinite(initScale) || initScale <= 0) {
      throw new VqlContextError('INVALID_OPTIONS', `${where}: options.initScale must be a finite number > 0, got ${String(initScale)}.`);
    }
    this.embDims = new Map();
    for (const f of this.features) {
      let e: number;
      if (fusion === 'sum') {
        const asked = typeof options.embeddingDim === 'number' ? options.embeddingDim : options.embeddingDim?.[f.name];
        if (asked !== undefined && asked !== this.itemDim) {
          throw new VqlContextError('INVALID_OPTIONS', `${where}: fusion 'sum' needs embeddingDim = itemDim (${this.itemDim}) for "${f.name}", got ${asked}.`);
        }
        e = this.itemDim;
      } else {
        const raw = typeof options.embeddingDim === 'number' ? options.embeddingDim : (options.embeddingDim?.[f.name] ?? 16);
        e = positiveInt(typeof options.embeddingDim === 'number' ? 'embeddingDim' : `embeddingDim.${f.name}`, raw);
      }
      this.embDims.set(f.name, e);
    }
    if (typeof options.embeddingDim === 'object' && options.embeddingDim !== null) {
      for (const name of Object.keys(options.embeddingDim)) {
        if (!this.embDims.has(name)) throw new VqlContextError('INVALID_OPTIONS', `${where}: options.embeddingDim names unknown feature "${name}".`);
      }
    }
    if (fusion === 'sum' && options.outDim !== undefined && options.outDim !== this.itemDim) {
      throw new VqlContextError('INVALID_OPTIONS', `${where}: fusion 'sum' outputs itemDim (${this.itemDim}); options.outDim ${options.outDim} is not allowed.`);
    }
    this.outDim = fusion === 'sum' ? this.itemDim : positiveInt('outDim', options.outDim ?? this.itemDim);
    const fusionHidden = options.fusionHidden ?? 0;
    if (typeof fusionHidden !== 'number' || !Number.isInteger(fusionHidden) || fusionHidden < 0) {
      throw new VqlContextError('INVALID_OPTIONS', `${where}: options.fusionHidden must be a non-negative integer, got ${String(fusionHidden)}.`);
    }
    if (fusionHidden > 0 && fusion !== 'concat') {
      throw new VqlContextError('INVALID_OPTIONS', `${where}: options.fusionHidden needs fusion 'concat' (fusion 'sum' has no projection to add a branch to).`);
    }
    this.hasLogitBias = options.logitBias ?? false;
    if (this.hasLogitBias && this.features.length === 0) {
      throw new VqlContextError('INVALID_OPTIONS', `${where}: options.logitBias needs at least one context feature.`);
    }
    this.config = {
      features: this.features.map((f) => structuredClone(f)),
      itemDim: this.itemDim,
      fusion,
      embeddingDim: Object.fromEntries(this.embDims),
      outDim: this.outDim,
      fusionHidden,
      logitBias: this.hasLogitBias,
      initScale,
      seed: options.seed,
    };

    const rng = createRng(options.seed);
    const normal = (n: number, std: number, r: Rng): Float32Array => {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = r.normal() * std;
      return out;
    };
    try {
      for (const f of this.features) {
        const e = this.embDims.get(f.name)!;
        // One forked stream per feature: adding a feature never changes the others' initial values.
        this.tables.set(f.name, tf.variable(tf.tensor2d(normal(tableRows(f) * e, initScale, rng.fork()), [tableRows(f), e]), true));
      }
      const ctxDim = this.contextDim();
      if (fusion === 'concat') {
        const fanIn = this.itemDim + ctxDim;
        this.fusionKernel = tf.variable(glorot(rng.fork(), fanIn, this.outDim), true);
        this.fusionBias = tf.variable(tf.zeros([this.outDim]), true);
        if (fusionHidden > 0) {
          this.hiddenKernel = tf.variable(glorot(rng.fork(), fanIn, fusionHidden), true);
          this.hiddenBias = tf.variable(tf.zeros([fusionHidden]), true);
          this.hiddenOut = tf.variable(glorot(rng.fork(), fusionHidden, this.outDim), true);
        }
      }
      // Zero-initialised: attention starts exactly as without a bias and learns it from there.
      if (this.hasLogitBias) this.biasKernel = tf.variable(tf.zeros([ctxDim, 1]), true);
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  /** Σ e over all features: width of the context part of the concat (and of the bias input). */
  private contextDim(): number {
    let s = 0;
    for (const e of this.embDims.values()) s += e;
    return s;
  }

  /** Embedding width of each feature. */
  embeddingDims(): Record<string, number> {
    return Object.fromEntries(this.embDims);
  }

  /** Pooled context embeddings, one [N, e_f] per feature (null for features not `present`). */
  private contextParts(where: string, ctx: ContextColumns, n: number, present: (f: ContextFeatureSpec) => boolean): (Tensor | null)[] {
    if (ctx == null || typeof ctx !== 'object') {
      throw new VqlContextError('MISSING_CONTEXT', `${where}: context columns must be a record of feature name → typed array.`);
    }
    return this.features.map((f) => {
      const e = this.embDims.get(f.name)!;
      if (!present(f)) return null;
      const { rows, poolWeights } = featureRows(where, f, ctx, n, this.oov);
      const table = this.tables.get(f.name)!;
      // Host row copy (tfjs's GatherV2 computes coordinates per element: ~100 ms a step at B·L = 256k).
      const gathered = gatherRows(table, rows);
      if (poolWeights === undefined) return gathered;
      const w = featureWidth(f);
      const weighted = tf.mul(gathered, tf.tensor2d(poolWeights, [n * w, 1]));
      return tf.sum(tf.reshape(weighted, [n, w, e]), 1);
    });
  }

  private checkItemEmb(where: string, itemEmb: Tensor): number {
    if (!(itemEmb instanceof tf.Tensor) || itemEmb.rank !== 2 || itemEmb.shape[1] !== this.itemDim) {
      const shape = itemEmb instanceof tf.Tensor ? `[${itemEmb.shape.join(', ')}]` : typeof itemEmb;
      throw new VqlContextError('SHAPE_MISMATCH', `${where}: itemEmb must be a [N, ${this.itemDim}] tensor, got ${shape}.`);
    }
    return itemEmb.shape[0]!;
  }

  private fuse(itemEmb: Tensor, parts: (Tensor | null)[]): Tensor {
    if (this.fusion === 'sum') {
      const present = parts.filter((p): p is Tensor => p !== null);
      return present.length === 0 ? tf.clone(itemEmb) : tf.addN([itemEmb, ...present]);
    }
    const linear = tf.add(this.blockMatMul([itemEmb, ...parts], this.fusionKernel!), this.fusionBias!);
    if (this.hiddenKernel === null) return linear;
    const hidden = tf.relu(tf.add(this.blockMatMul([itemEmb, ...parts], this.hiddenKernel), this.hiddenBias!));
    return tf.add(linear, tf.matMul(hidden, this.hiddenOut!));
  }

  /**
   * concat(blocks, 1) · kernel as Σ_k block_k · kernel[rows of block k]: the same product without
   * the [N, Σ widths] concatenation, whose gradient (a split of the [N, ·] input gradient) costs a
   * host copy per block on the wasm backend; only the small kernel is sliced. `blocks` are the item
   * embedding (if any) then one per feature in order; a null block (a feature the call does not
   * carry, e.g. event scope on targets) is zeros and is skipped.
   */
  private blockMatMul(blocks: (Tensor | null)[], kernel: Tensor): Tensor {
    const widths = [...(blocks.length > this.features.length ? [this.itemDim] : []), ...this.features.map((f) => this.embDims.get(f.name)!)];
    const terms: Tensor[] = [];
    let row = 0;
    blocks.forEach((block, k) => {
      if (block !== null) terms.push(tf.matMul(block, tf.slice(kernel, [row, 0], [widths[k]!, kernel.shape[1]!])));
      row += widths[k]!;
    });
    // Never empty: fusion always has the item block, the logit bias every feature.
    return terms.length === 1 ? terms[0]! : tf.addN(terms);
  }

  /** [N, d] item embeddings + all behaviour context (item and event scope) → [N, outDim]. */
  fuseHistory(itemEmb: Tensor, ctx: ContextColumns): Tensor {
    const where = 'ContextEncoder.fuseHistory';
    const n = this.checkItemEmb(where, itemEmb);
    return tf.tidy(() => this.fuse(itemEmb, this.contextParts(where, ctx, n, () => true)));
  }

  /** [B, d] target item embeddings + item-scope context → [B, outDim]. Event-scope columns are refused. */
  fuseTarget(itemEmb: Tensor, targetCtx: ContextColumns): Tensor {
    const where = 'ContextEncoder.fuseTarget';
    const n = this.checkItemEmb(where, itemEmb);
    this.refuseEventColumns(where, targetCtx);
    return tf.tidy(() => this.fuse(itemEmb, this.contextParts(where, targetCtx, n, (f) => f.scope === 'item')));
  }

  /** [N] query-independent logit bias of each behaviour. Requires `logitBias: true`. */
  logitBias(ctx: ContextColumns): Tensor {
    const where = 'ContextEncoder.logitBias';
    if (this.biasKernel === null) {
      throw new VqlContextError('NO_LOGIT_BIAS', `${where}: this encoder was built without options.logitBias.`);
    }
    const n = this.rowCount(where, ctx);
    return tf.tidy(() => tf.reshape(this.blockMatMul(this.contextParts(where, ctx, n, () => true), this.biasKernel!), [n]));
  }

  /** `fuseHistory` and `logitBias` from one set of lookups (bias is null without `logitBias`). */
  encodeHistory(itemEmb: Tensor, ctx: ContextColumns): { fused: Tensor; bias: Tensor | null } {
    const where = 'ContextEncoder.encodeHistory';
    const n = this.checkItemEmb(where, itemEmb);
    const out = tf.tidy(() => {
      const parts = this.contextParts(where, ctx, n, () => true);
      const fused = this.fuse(itemEmb, parts);
      if (this.biasKernel === null) return [fused];
      return [fused, tf.reshape(this.blockMatMul(parts, this.biasKernel), [n])];
    });
    return { fused: out[0]!, bias: out[1] ?? null };
  }

  private refuseEventColumns(where: string, ctx: ContextColumns): void {
    if (ctx == null || typeof ctx !== 'object') return;
    for (const f of this.features) {
      if (f.scope === 'event' && ctx[f.name] !== undefined) {
        throw new VqlContextError(
          'EVENT_FEATURE_ON_TARGET',
          `${where}: "${f.name}" is an event-scope feature and exists for behaviours only; target context takes item-scope features.`,
        );
      }
    }
  }

  private rowCount(where: string, ctx: ContextColumns): number {
    const f = this.features[0]!;
    const col = ctx?.[f.name];
    if (col == null) throw new VqlContextError('MISSING_CONTEXT', `${where}: context column "${f.name}" is missing.`);
    return Math.floor(col.length / featureWidth(f));
  }

  /** Unknown-id counts per categorical/multi feature since construction or the last reset. */
  oovCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const f of this.features) if (f.kind !== 'numeric') out[f.name] = this.oov.get(f.name) ?? 0;
    return out;
  }

  resetOovCounts(): void {
    this.oov.clear();
  }

  trainableVariables(): Variable[] {
    return Object.values(this.getWeights()) as Variable[];
  }

  /** Live variables by name (owned by the encoder: do not dispose them). */
  getWeights(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, t] of this.tables) out[`embedding/${name}`] = t;
    if (this.fusionKernel !== null) out['fusion/kernel'] = this.fusionKernel;
    if (this.fusionBias !== null) out['fusion/bias'] = this.fusionBias;
    if (this.hiddenKernel !== null) {
      out['fusion/hidden/kernel'] = this.hiddenKernel;
      out['fusion/hidden/bias'] = this.hiddenBias!;
      out['fusion/hidden/out'] = this.hiddenOut!;
    }
    if (this.biasKernel !== null) out['logitBias/kernel'] = this.biasKernel;
    return out;
  }

  /** Copies values into the variables; names, shapes and finiteness are checked before any write. */
  setWeights(weights: Record<string, Tensor>): void {
    const where = 'ContextEncoder.setWeights';
    if (weights == null || typeof weights !== 'object') {
      throw new VqlContextError('INVALID_WEIGHTS', `${where}: weights must be a record of named tensors.`);
    }
    const vars = this.getWeights() as Record<string, Variable>;
    for (const [name, v] of Object.entries(vars)) {
      const w = weights[name];
      if (!(w instanceof tf.Tensor)) {
        throw new VqlContextError('MISSING_WEIGHT', `${where}: weight "${name}" is missing (expected shape [${v.shape.join(', ')}]).`);
      }
      if (!tf.util.arraysEqual(w.shape, v.shape)) {
        throw new VqlContextError('WEIGHT_SHAPE_MISMATCH', `${where}: weight "${name}" has shape [${w.shape.join(', ')}], expected [${v.shape.join(', ')}].`);
      }
      const data = w.dataSync();
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i])) throw new VqlContextError('NON_FINITE_WEIGHT', `${where}: weight "${name}"[${i}] is ${data[i]}.`);
      }
    }
    for (const name of Object.keys(weights)) {
      if (!(name in vars)) throw new VqlContextError('UNKNOWN_WEIGHT', `${where}: unexpected weight "${name}".`);
    }
    for (const [name, v] of Object.entries(vars)) {
      const w = weights[name]!;
      if (w.dtype === 'float32') {
        v.assign(w);
      } else {
        const cast = tf.cast(w, 'float32');
        v.assign(cast);
        cast.dispose();
      }
    }
  }

  /** SHA-256 of the current weights (`weightsFingerprint`), for caches built from them. */
  fingerprint(): string {
    return weightsFingerprint(this.getWeights());
  }

  /**
   * A typed-array (no tfjs) copy of the current weights for the cache builder and serving. It is a
   * snapshot: later training does not change it (compare `fingerprint`). OOV counts go to this encoder.
   */
  toHost(): HostContextEncoder {
    const tables = new Map<string, Float32Array>();
    for (const [name, t] of this.tables) tables.set(name, Float32Array.from(t.dataSync()));
    const copy = (v: Variable | null): Float32Array | null => (v === null ? null : Float32Array.from(v.dataSync()));
    return new HostContextEncoder(
      {
        features: this.features,
        itemDim: this.itemDim,
        outDim: this.outDim,
        fusion: this.fusion,
        embeddingDims: new Map(this.embDims),
        fingerprint: this.fingerprint(),
      },
      {
        tables,
        fusionKernel: copy(this.fusionKernel),
        fusionBias: copy(this.fusionBias),
        hidden: this.hiddenKernel === null ? null : { kernel: copy(this.hiddenKernel)!, bias: copy(this.hiddenBias)!, out: copy(this.hiddenOut)! },
        biasKernel: copy(this.biasKernel),
      },
      this.oov,
    );
  }

  toConfig(): ContextEncoderConfig {
    return structuredClone(this.config);
  }

  dispose(): void {
    for (const t of this.tables.values()) t.dispose();
    this.fusionKernel?.dispose();
    this.fusionBias?.dispose();
    this.hiddenKernel?.dispose();
    this.hiddenBias?.dispose();
    this.hiddenOut?.dispose();
    this.biasKernel?.dispose();
  }
}
