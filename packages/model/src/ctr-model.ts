import { ContextEncoder, validateFeatureSpecs } from '@vql/context';
import type { ContextFeatureSpec, FusionMode } from '@vql/context';
import { isUserBatch } from '@vql/data';
import type { CtrBatch, UserBatch } from '@vql/data';
import { checkKnownKeys, createRng, tf, weightsFingerprint, gatherRows } from '@vql/runtime';
import type { Rng, Tensor, Variable } from '@vql/runtime';
import { checkPositiveInt, denseVariable } from './attention-core.js';
import { prepareBatch } from './batch-adapter.js';
import type { PreparedBatch } from './batch-adapter.js';
import { VqlModelError } from './errors.js';
import { resolveHistoryPolicy } from './history-policy.js';
import type { HistoryPolicy } from './history-policy.js';
import { makeInterestInputs } from './interest-inputs.js';
import { checkInterestOutput, createInterestModule } from './interest-registry.js';
import type { InterestModule, InterestModuleConfig, InterestStats } from './interest-module.js';
import { prepareUserBatchFor } from './user-batch-adapter.js';

/** Options of the model's `ContextEncoder` (features, item width and seed come from the model). */
export interface CtrContextOptions {
  fusion?: FusionMode;
  embeddingDim?: number;
  outDim?: number;
  /** Width of the concat fusion's ReLU branch (`ContextEncoder` `fusionHidden`). Default 0 (linear fusion). */
  fusionHidden?: number;
  /** Per-behaviour logit bias from static context (DESIGN §1). Default false. */
  logitBias?: boolean;
}

export interface CtrModelConfig {
  /** Item ids are 1..numItems (0 = padding); the embedding table has numItems + 1 rows. */
  numItems: number;
  /** d: item embedding width. Default 32. */
  embeddingDim?: number;
  /** The dataset's `schema.context`. Default none. */
  contextFeatures?: ContextFeatureSpec[];
  context?: CtrContextOptions;
  /** The user-interest method, built through the registry (`{ kind: 'vql', ... }`). */
  interest: InterestModuleConfig;
  /** Keep only the newest n behaviours of every history (the "last-n" models); null = all. */
  historyWindow?: number | null;
  /**
   * Behaviours the model sees per target: `{ kind: 'whole' }` (every earlier one; what a cache
   * serves) or `{ kind: 'newest', length: L }` (the same as historyWindow L). Default: derived
   * from historyWindow. Recorded in the exported config; the cached scorer refuses newest-L.
   */
  historyPolicy?: HistoryPolicy;
  /** Short-term branch: mean of the newest n fused behaviour embeddings, fed to the tower. 0 = off. */
  shortTerm?: number;
  /**
   * Feed interest ⊙ (e_q·W_p) to the tower besides the concatenation: an MLP approximates dot
   * products between interest and target poorly, and the click signal is mostly such a match
   * (DIN feeds the same kind of product). Default true.
   */
  interaction?: boolean;
  /** Hidden widths of the ReLU MLP tower. Default [64, 32]. */
  tower?: number[];
  /** Dropout rate on the tower's hidden activations while training (seeded). Default 0. */
  dropout?: number;
  /** λ in BCE + λ·auxLoss. Default 1. */
  auxLossWeight?: number;
  /** Initial scale of the item embeddings. Default 0.05. */
  embeddingInitScale?: number;
  seed: number;
}

/** `CtrModelConfig` with every default filled in: what `model.config` returns and export writes. */
export type ResolvedCtrModelConfig = Required<Omit<CtrModelConfig, 'context'>> & { context: Required<Omit<CtrContextOptions, 'outDim'>> & { outDim: number } };

export interface ForwardOptions {
  /** What the interest module's `inputs.training` says. Default: the pass's `training`. */
  interestTraining?: boolean;
}

/** One forward pass: logits per sample and the interest module's auxiliary loss. */
export interface CtrForward {
  readonly logits: Tensor; // [B]
  readonly auxLoss: Tensor | null; // scalar
}

const CONFIG_KEYS = new Set([
  'numItems', 'embeddingDim', 'contextFeatures', 'context', 'interest', 'historyWindow', 'historyPolicy', 'shortTerm', 'interaction', 'tower', 'dropout', 'auxLossWeight', 'embeddingInitScale', 'seed',
]);

function resolveConfig(config: CtrModelConfig): ResolvedCtrModelConfig {
  const where = 'new CtrModel';
  if (config == null || typeof config !== 'object') throw new VqlModelError('INVALID_CONFIG', `${where}(config): config is required.`);
  for (const key of Object.keys(config)) {
    if (!CONFIG_KEYS.has(key)) throw new VqlModelError('INVALID_CONFIG', `${where}: unknown config field "${key}".`);
  }
  const numItems = checkPositiveInt(where, 'config.numItems', config.numItems);
  const embeddingDim = checkPositiveInt(where, 'config.embeddingDim', config.embeddingDim ?? 32);
  if (typeof config.seed !== 'number' || !Number.isFinite(config.seed)) {
    throw new VqlModelError('INVALID_CONFIG', `${where}: config.seed must be a finite number (initialisation is seeded).`);
  }
  if (config.interest == null || typeof config.interest.kind !== 'string') {
    throw new VqlModelError('INVALID_CONFIG', `${where}: config.interest must be an interest module config with a "kind".`);
  }
  const historyWindow = config.historyWindow ?? null;
  if (historyWindow !== null) checkPositiveInt(where, 'config.historyWindow', historyWindow);
  const history = resolveHistoryPolicy(where, config.historyPolicy, historyWindow);
  const shortTerm = config.shortTerm ?? 0;
  if (shortTerm !== 0) checkPositiveInt(where, 'config.shortTerm', shortTerm);
  const tower = config.tower ?? [64, 32];
  if (!Array.isArray(tower)) throw new VqlModelError('INVALID_CONFIG', `${where}: config.tower must be an array of widths.`);
  tower.forEach((w, i) => checkPositiveInt(where, `config.tower[${i}]`, w));
  const dropout = config.dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
    throw new VqlModelError('INVALID_CONFIG', `${where}: config.dropout must be a number in [0, 1), got ${String(dropout)}.`);
  }
  const interaction = config.interaction ?? true;
  if (typeof interaction !== 'boolean') throw new VqlModelError('INVALID_CONFIG', `${where}: config.interaction must be a boolean.`);
  const auxLossWeight = config.auxLossWeight ?? 1;
  if (typeof auxLossWeight !== 'number' || !(auxLossWeight >= 0) || !Number.isFinite(auxLossWeight)) {
    throw new VqlModelError('INVALID_CONFIG', `${where}: config.auxLossWeight must be a finite number ≥ 0, got ${String(auxLossWeight)}.`);
  }
  const embeddingInitScale = config.embeddingInitScale ?? 0.05;
  if (typeof embeddingInitScale !== 'number' || !(embeddingInitScale > 0)) {
    throw new VqlModelError('INVALID_CONFIG', `${where}: config.embeddingInitScale must be > 0.`);
  }
  const contextFeatures = validateFeatureSpecs(`${where}: config.contextFeatures`, config.contextFeatures ?? []);
  const c = config.context ?? {};
  checkKnownKeys(`${where}: config.context`, c, ['fusion', 'embeddingDim', 'outDim', 'fusionHidden', 'logitBias'], (m) => new VqlModelError('INVALID_CONFIG', m));
  const context = {
    fusion: c.fusion ?? 'concat',
    embeddingDim: c.embeddingDim ?? 16,
    outDim: c.outDim ?? embeddingDim,
    fusionHidden: c.fusionHidden ?? 0,
    logitBias: (c.logitBias ?? false) && contextFeatures.length > 0,
  };
  return {
    numItems,
    embeddingDim,
    contextFeatures: contextFeatures.map((f) => structuredClone(f)),
    context,
    interest: structuredClone(config.interest),
    historyWindow: history.historyWindow,
    historyPolicy: history.historyPolicy,
    shortTerm,
    interaction,
    tower: [...tower],
    dropout,
    auxLossWeight,
    embeddingInitScale,
    seed: config.seed,
  };
}

/** Runs `fn` in a tfjs scope that frees every tensor it made; `fn` returns host values. */
function hostScope<T>(fn: () => T): T {
  tf.engine().startScope();
  try {
    return fn();
  } finally {
    tf.engine().endScope();
  }
}

/**
 * The CTR model: item embedding table, static-context fusion (`ContextEncoder`), a pluggable
 * `InterestModule`, an optional short-term branch, a ReLU MLP tower and a sigmoid.
 * Loss = BCE + λ·auxLoss (the VQ losses for VQL). Deterministic given `config.seed`.
 */
export class CtrModel {
  readonly config: ResolvedCtrModelConfig;
  /** Static-context fusion; null when the dataset has no context features (fused = item embedding). */
  readonly encoder: ContextEncoder | null;
  readonly interest: InterestModule;
  private readonly itemTable: Variable; // [numItems + 1, d]
  private readonly towerWeights: Variable[] = []; // W0, b0, W1, b1, ..., Wout, bout
  private interactionWeight: Variable | null = null; // [D, outputDim] W_p
  private disposed = false;
  /** Training forward passes so far: seeds each pass's dropout masks (same calls ⇒ same masks). */
  private dropoutPasses = 0;

  constructor(config: CtrModelConfig) {
    this.config = resolveConfig(config);
    const { numItems, embeddingDim: d, seed } = this.config;
    const rng = createRng(seed);
    // Independent streams per part: changing the tower never changes the embeddings' initial values.
    const embRng = rng.fork();
    const ctxSeed = rng.fork().uint32();
    const interestSeed = rng.fork().uint32();
    const towerRng = rng.fork();
    const emb = new Float32Array((numItems + 1) * d);
    for (let i = d; i < emb.length; i++) emb[i] = embRng.normal() * this.config.embeddingInitScale; // row 0 (padding) = 0
    this.itemTable = tf.variable(tf.tensor2d(emb, [numItems + 1, d]), true);
    try {
      // Without features a fusion layer would only add a [d, d] linear map per row: skip it.
      this.encoder = this.config.contextFeatures.length === 0 ? null : new ContextEncoder({
        features: this.config.contextFeatures,
        itemDim: d,
        fusion: this.config.context.fusion,
        ...(this.config.context.fusion === 'concat' ? { embeddingDim: this.config.context.embeddingDim, outDim: this.config.context.outDim, fusionHidden: this.config.context.fusionHidden } : {}),
        logitBias: this.config.context.logitBias,
        seed: ctxSeed,
      });
      this.interest = createInterestModule(this.config.interest, {
        itemDim: d,
        fusedDim: this.fusedDim,
        maxLen: this.config.historyWindow ?? 0,
        contextFeatures: this.config.contextFeatures,
        seed: interestSeed,
      });
      this.buildTower(towerRng);
    } catch (err) {
      this.itemTable.dispose();
      tf.dispose(this.towerWeights);
      this.interactionWeight?.dispose();
      throw err;
    }
  }

  private buildTower(rng: Rng): void {
    const D = this.fusedDim;
    const I = this.interest.outputDim;
    if (this.config.interaction) this.interactionWeight = denseVariable(rng, D, I);
    let width = I + D + (this.config.shortTerm > 0 ? D : 0) + (this.config.interaction ? I : 0);
    for (const h of [...this.config.tower, 1]) {
      this.towerWeights.push(denseVariable(rng, width, h), tf.variable(tf.zeros([h]), true));
      width = h;
    }
  }

  /** D: width of the fused embeddings (the item width d without context features). */
  get fusedDim(): number {
    return this.encoder?.outDim ?? this.config.embeddingDim;
  }

  private encodeHistory(item: Tensor, context: Readonly<Record<string, Int32Array | Float32Array>>): { fused: Tensor; bias: Tensor | null } {
    return this.encoder === null ? { fused: item, bias: null } : this.encoder.encodeHistory(item, context);
  }

  /** Width of the tower input: interest ⊕ target embedding (⊕ short-term) (⊕ interest ⊙ e_q·W_p). */
  get towerInputDim(): number {
    return this.towerWeights[0]!.shape[0]!;
  }

  /**
   * Validates, windows and deduplicates a batch on the host (no tensors). A user-grouped batch
   * becomes the causal-scan form when the interest module supports it (whole histories), else
   * its per-sample expansion; the rows are then the batch's targets in its order.
   */
  prepare(batch: CtrBatch | UserBatch): PreparedBatch {
    this.checkAlive();
    const options = {
      numItems: this.config.numItems,
      features: this.config.contextFeatures,
      historyWindow: this.config.historyWindow,
      shortTermLength: this.config.shortTerm,
    };
    if (isUserBatch(batch)) return prepareUserBatchFor(batch, { ...options, causal: this.interest.causalHistory === true });
    return prepareBatch(batch as CtrBatch, options);
  }

  /**
   * Forward pass; call inside `tf.tidy` (or the optimizer's tape). `options.interestTraining`
   * (default `training`) is what the interest module is told: a data-parallel replica passes
   * false, so its module keeps no statistics and applies no deferred updates of its own (the
   * main thread's model owns that state) while the tower still trains (dropout).
   */
  forward(prepared: PreparedBatch, training: boolean, options: ForwardOptions = {}): CtrForward {
    this.checkAlive();
    const B = prepared.batchSize;
    // One gather for history rows and targets: one read of the table, one dense gradient.
    const U = prepared.uniqueItem.length;
    const ids = new Int32Array(U + B);
    ids.set(prepared.uniqueItem);
    ids.set(prepared.host.targetItem, U);
    const [itemU, itemT] = tf.split(gatherRows(this.itemTable, ids), [U, B], 0) as [Tensor, Tensor];
    const { fused: uniqueEmbedding, bias } = this.encodeHistory(itemU, prepared.uniqueContext);
    const targetCtx: Record<string, Int32Array | Float32Array> = {};
    for (const f of this.config.contextFeatures) if (f.scope === 'item') targetCtx[f.name] = prepared.host.targetContext[f.name]!;
    const targetEmbedding = this.encoder === null ? itemT : this.encoder.fuseTarget(itemT, targetCtx);
    const rawTensors = (cols: Readonly<Record<string, Int32Array | Float32Array>>, rows: number): Record<string, Tensor> => {
      const out: Record<string, Tensor> = {};
      for (const f of this.config.contextFeatures) {
        const col = cols[f.name];
        if (col !== undefined) out[f.name] = col instanceof Int32Array ? tf.tensor2d(col, [rows, col.length / rows], 'int32') : tf.tensor2d(col, [rows, col.length / rows]);
      }
      return out;
    };
    const inputs = makeInterestInputs(
      prepared,
      {
        targetEmbedding,
        targetItemEmbedding: itemT,
        uniqueEmbedding,
        uniqueItemEmbedding: itemU,
        uniqueLogitBias: bias,
        targetContext: rawTensors(targetCtx, B),
        uniqueContext: rawTensors(prepared.uniqueContext, U),
      },
      options.interestTraining ?? training,
    );
    const out = this.interest.forward(inputs);
    checkInterestOutput(this.interest, out, B);
    const parts = [out.interest, targetEmbedding];
    if (this.interactionWeight !== null) parts.push(tf.mul(out.interest, tf.matMul(targetEmbedding, this.interactionWeight)));
    const n = prepared.shortTermLength;
    if (n > 0) {
      const D = this.fusedDim;
      const rows = tf.reshape(gatherRows(uniqueEmbedding, prepared.shortIndex), [B, n, D]);
      const mask = tf.tensor3d(prepared.shortMask, [B, n, 1]);
      const count = tf.maximum(tf.sum(mask, 1), 1); // empty users: zeros, not NaN
      parts.push(tf.div(tf.sum(tf.mul(rows, mask), 1), count));
    }
    let x = tf.concat(parts, 1);
    const layers = this.towerWeights.length / 2;
    const dropout = training ? this.config.dropout : 0;
    const pass = dropout > 0 ? this.dropoutPasses++ : 0;
    for (let i = 0; i < layers; i++) {
      x = tf.add(tf.matMul(x, this.towerWeights[2 * i]!), this.towerWeights[2 * i + 1]!);
      if (i < layers - 1) {
        x = tf.relu(x);
        if (dropout > 0) x = tf.dropout(x, dropout, undefined, (this.config.seed * 7919 + pass * 31 + i) % 2147483647);
      }
    }
    return { logits: tf.reshape(x, [B]), auxLoss: out.auxLoss ?? null };
  }

  /** BCE + λ·auxLoss as a scalar, plus its parts; call inside the tape. */
  loss(prepared: PreparedBatch, training = true, options: ForwardOptions = {}): { total: Tensor; bce: Tensor; aux: Tensor | null } {
    const { logits, auxLoss } = this.forward(prepared, training, options);
    const bce = tf.losses.sigmoidCrossEntropy(tf.tensor1d(prepared.label), logits);
    const total = auxLoss === null || this.config.auxLossWeight === 0 ? bce : tf.add(bce, tf.mul(auxLoss, this.config.auxLossWeight));
    return { total, bce, aux: auxLoss };
  }

  /** Click probabilities of a batch (inference mode). */
  predict(batch: CtrBatch | UserBatch | PreparedBatch): Float32Array {
    const prepared = 'uniqueItem' in batch ? batch : this.prepare(batch);
    const probs = tf.tidy(() => tf.sigmoid(this.forward(prepared, false).logits));
    const out = probs.dataSync() as Float32Array;
    probs.dispose();
    return Float32Array.from(out);
  }

  trainableVariables(): Variable[] {
    this.checkAlive();
    return [
      this.itemTable,
      ...(this.encoder?.trainableVariables() ?? []),
      ...this.interest.trainableVariables(),
      ...(this.interactionWeight !== null ? [this.interactionWeight] : []),
      ...this.towerWeights,
    ];
  }

  /** The item embedding table ([numItems + 1, d]): the trainer may give it its own optimizer. */
  itemEmbeddingVariable(): Variable {
    this.checkAlive();
    return this.itemTable;
  }

  /**
   * The variables weight decay applies to: embedding tables (items, context) and the tower's and
   * interaction's kernels — where a CTR model memorises. Not biases, and not the interest
   * module's projections, codebooks or kernel rates.
   */
  decayVariables(): Variable[] {
    this.checkAlive();
    const kernels = this.towerWeights.filter((_, i) => i % 2 === 0);
    return [this.itemTable, ...(this.encoder?.trainableVariables() ?? []).filter((v) => v.shape.length === 2), ...(this.interactionWeight !== null ? [this.interactionWeight] : []), ...kernels];
  }

  /**
   * Every tensor of the model under stable names (`items/embedding`, `context/...`,
   * `interest/...`, `tower/i/kernel|bias`). Owned by the model (live variables or copies it frees
   * on the next call): read or clone them, never dispose them.
   */
  getWeights(): Record<string, Tensor> {
    this.checkAlive();
    const out: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(this.encoder?.getWeights() ?? {})) out[`context/${k}`] = v;
    for (const [k, v] of Object.entries(this.interest.getWeights())) out[`interest/${k}`] = v;
    return { ...this.directWeights(), ...out };
  }

  /** The model's own variables (not the encoder's or the interest module's), by export name. */
  private directWeights(): Record<string, Variable> {
    const out: Record<string, Variable> = { 'items/embedding': this.itemTable };
    if (this.interactionWeight !== null) out['tower/interaction'] = this.interactionWeight;
    const layers = this.towerWeights.length / 2;
    for (let i = 0; i < layers; i++) {
      out[`tower/${i}/kernel`] = this.towerWeights[2 * i]!;
      out[`tower/${i}/bias`] = this.towerWeights[2 * i + 1]!;
    }
    return out;
  }

  /**
   * Restores `getWeights()` output (of this or another model with the same config). The model's
   * own tensors are checked before anything is written; the message names the tensor.
   */
  setWeights(weights: Record<string, Tensor>): void {
    this.checkAlive();
    const own = this.directWeights();
    for (const name of Object.keys(weights)) {
      if (!(name in own) && !name.startsWith('context/') && !name.startsWith('interest/')) {
        throw new VqlModelError('UNKNOWN_WEIGHT', `CtrModel.setWeights: unexpected weight "${name}".`);
      }
    }
    const pick = (prefix: string): Record<string, Tensor> => {
      const out: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(weights)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
      return out;
    };
    const direct: Array<[Variable, Tensor]> = [];
    for (const [name, v] of Object.entries(own)) {
      const w = weights[name];
      if (w === undefined) throw new VqlModelError('MISSING_WEIGHT', `CtrModel.setWeights: weight "${name}" is missing.`);
      if (!tf.util.arraysEqual(w.shape, v.shape)) {
        const hint =
          name === 'items/embedding'
            ? ` (numItems + 1 rows: the weights were trained on a vocabulary of ${w.shape[0]! - 1} items, this model has ${this.config.numItems})`
            : '';
        throw new VqlModelError('SHAPE_MISMATCH', `CtrModel.setWeights: weight "${name}" has shape [${w.shape.join(', ')}], expected [${v.shape.join(', ')}]${hint}.`);
      }
      direct.push([v, w]);
    }
    this.encoder?.setWeights(pick('context/'));
    this.interest.setWeights(pick('interest/'));
    for (const [v, w] of direct) v.assign(w);
  }

  /** SHA-256 of every weight: the identity a per-user cache is bound to. */
  fingerprint(): string {
    return weightsFingerprint(this.getWeights());
  }

  /** Called by the trainer after each optimizer step (deferred EMA / dead-code updates). */
  afterStep(): void {
    this.interest.afterStep?.();
  }

  /** Interest-module statistics (codebook perplexity, ...) for logs. */
  stats(): InterestStats {
    return this.interest.stats?.() ?? {};
  }

  /**
   * Inference-mode embeddings of behaviour rows (item ids + their item- and event-scope context,
   * [n·width] per feature) on the host: item-only [n·d], fused [n·D] and the context logit bias
   * [n] (null without one). For serving and cache building.
   */
  embedBehaviours(items: Int32Array, context: Readonly<Record<string, Int32Array | Float32Array>>): { item: Float32Array; fused: Float32Array; bias: Float32Array | null } {
    this.checkItems('embedBehaviours', items);
    return hostScope(() => {
      const item = gatherRows(this.itemTable, items);
      const { fused, bias } = this.encodeHistory(item, context);
      return { item: Float32Array.from(item.dataSync()), fused: Float32Array.from(fused.dataSync()), bias: bias === null ? null : Float32Array.from(bias.dataSync()) };
    });
  }

  /** Inference-mode target embeddings (item ids + item-scope context) on the host: item-only [n·d] and fused [n·D]. */
  embedTargets(items: Int32Array, context: Readonly<Record<string, Int32Array | Float32Array>>): { item: Float32Array; fused: Float32Array } {
    this.checkItems('embedTargets', items);
    return hostScope(() => {
      const item = gatherRows(this.itemTable, items);
      const fused = this.encoder === null ? item : this.encoder.fuseTarget(item, context);
      return { item: Float32Array.from(item.dataSync()), fused: Float32Array.from(fused.dataSync()) };
    });
  }

  private checkItems(where: string, items: Int32Array): void {
    for (let i = 0; i < items.length; i++) {
      const x = items[i]!;
      if (!(x >= 0 && x <= this.config.numItems)) {
        throw new VqlModelError('VOCAB_MISMATCH', `CtrModel.${where}: items[${i}] = ${x} is outside the model's item vocabulary 0..${this.config.numItems}.`);
      }
    }
  }

  /**
   * The tower as host arrays. Its input is [interest, e_q, interest ⊙ (e_q·W_p) if
   * `interaction`, short-term mean if `shortTerm`]; layer i maps x ↦ x·kernel + bias with ReLU
   * between layers and none after the last (the logit).
   */
  towerHost(): { interaction: Float32Array | null; layers: Array<{ kernel: Float32Array; bias: Float32Array; inDim: number; outDim: number }> } {
    const layers = [];
    for (let i = 0; i < this.towerWeights.length / 2; i++) {
      const k = this.towerWeights[2 * i]!;
      layers.push({ kernel: Float32Array.from(k.dataSync()), bias: Float32Array.from(this.towerWeights[2 * i + 1]!.dataSync()), inDim: k.shape[0]!, outDim: k.shape[1]! });
    }
    return { interaction: this.interactionWeight === null ? null : Float32Array.from(this.interactionWeight.dataSync()), layers };
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.itemTable.dispose();
    tf.dispose(this.towerWeights);
    this.interactionWeight?.dispose();
    this.encoder?.dispose();
    this.interest.dispose();
  }

  private checkAlive(): void {
    if (this.disposed) throw new VqlModelError('DISPOSED', 'CtrModel: the model was disposed.');
  }
}
