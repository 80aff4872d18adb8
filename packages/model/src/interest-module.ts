import type { JsonValue, Tensor, Variable } from '@vql/runtime';
import { builtinInterestModules } from './builtin-modules.js';
import type { CausalLayout } from './causal-cache-attention.js';
import { VqlModelError } from './errors.js';

// The one interface every user-interest method implements: VQL, full target attention, and the
// baselines (SIM hard/soft, ETA, TWIN, SDIM, compression). `CtrModel`, `Trainer`, the evaluator and
// the experiment runner only ever talk to an `InterestModule`, built by name from a JSON config.
//
// Dimensions used below: B = batch size, L = history length of the batch (may be 0),
// U = unique history rows of the batch, d = item embedding width, D = fused (item ⊕ static context)
// width, width = a context feature's column count (1 for categorical / numeric).

/**
 * Host (typed-array) view of the batch the model was given, after the model's history window
 * (`CtrModelConfig.historyWindow`) was applied. Structurally the `CtrBatch` of `@vql/data`, so
 * top-k baselines can pick positions on the host (SIM hard: same category as the target) and
 * then `tf.gather` what they picked without needing gradients through the selection.
 */
export interface InterestHostBatch {
  readonly size: number; // B
  readonly maxLen: number; // L
  readonly user: Int32Array; // [B]
  readonly targetItem: Int32Array; // [B]
  readonly targetTime: Float64Array; // [B] seconds
  readonly historyItem: Int32Array; // [B*L] oldest → newest, 0 = padding after the last event
  readonly historyTime: Float64Array; // [B*L] seconds
  readonly historyMask: Float32Array; // [B*L] 1 real, 0 padding
  readonly historyLength: Int32Array; // [B]
  readonly targetContext: Readonly<Record<string, Int32Array | Float32Array>>; // item scope, [B*width]
  readonly historyContext: Readonly<Record<string, Int32Array | Float32Array>>; // [B*L*width]
  /**
   * 0/1 labels [B] when the batch has them (every training batch does). Only for auxiliary training
   * losses of a module (SIM soft's search-unit CTR head); `interest` must never depend on it.
   */
  readonly label?: Float32Array;
}

/**
 * Everything an interest module may use, built once per batch by `CtrModel` (inside the
 * gradient tape during training, so every tensor here is differentiable where it makes sense).
 *
 * Behaviours are deduplicated: the U unique rows are the distinct (item, event-scope context)
 * combinations of the batch's histories — keys and values depend only on them, never on the
 * position, so a module projects U rows once and gathers per position (DESIGN §2). Row 0 is
 * always the padding row (item 0, all context 0); padded positions point at it.
 * All tensors belong to the caller's `tf.tidy` scope: a module must not dispose or keep them.
 */
export interface InterestInputs {
  readonly batchSize: number; // B
  readonly maxLen: number; // L, 0 allowed (every user empty)
  /** True inside a training step: quantizers update statistics, dropout-like behaviour is on. */
  readonly training: boolean;
  readonly host: InterestHostBatch;

  // Target.
  readonly targetItem: Tensor; // [B] int32
  readonly targetEmbedding: Tensor; // [B, D] item ⊕ item-scope context (ContextEncoder.fuseTarget)
  readonly targetItemEmbedding: Tensor; // [B, d] item only (for "context off" variants)
  readonly targetContext: Readonly<Record<string, Tensor>>; // [B, width] raw item-scope features

  // History, per position.
  readonly historyItem: Tensor; // [B, L] int32
  readonly historyMask: Tensor; // [B, L] float32, 1 real / 0 padding
  /** Target time − behaviour time in seconds, taken in float64 on the host then float32; 0 at padding. */
  readonly dt: Tensor; // [B, L] float32
  /** Host copy of `dt` (float64) for modules that pick positions on the host. */
  readonly dtHost: Float64Array; // [B*L]

  // History, per unique row.
  readonly uniqueCount: number; // U ≥ 1 (row 0 = padding)
  readonly uniqueItem: Tensor; // [U] int32
  readonly uniqueItemHost: Int32Array; // [U]
  /** Row of each behaviour in the unique arrays (padding → 0). */
  readonly inverse: Tensor; // [B*L] int32
  readonly inverseHost: Int32Array; // [B*L]
  readonly uniqueEmbedding: Tensor; // [U, D] fused (ContextEncoder.fuseHistory)
  readonly uniqueItemEmbedding: Tensor; // [U, d] item only
  readonly uniqueContext: Readonly<Record<string, Tensor>>; // [U, width] raw item- and event-scope features
  /** Query-independent context logit bias b_i per unique row, or null when the encoder has none. */
  readonly uniqueLogitBias: Tensor | null; // [U]

  /**
   * `[U, ...rest] → [B, L, ...rest]`: the per-position copy of a per-unique-row tensor. Use this
   * rather than `tf.gather`: its gradient is an O(B·L·width) host segment sum, where tfjs's cpu
   * `UnsortedSegmentSum` costs O(U·B·L·width).
   */
  gatherHistory(unique: Tensor): Tensor;
  /** `gatherHistory(uniqueEmbedding)`, computed once per batch on first use. */
  historyEmbedding(): Tensor; // [B, L, D]
  /**
   * User-grouped batch (DESIGN §2b): the B rows are targets, L = 0, and each target's history
   * is its user's events [historyStart, historyEnd) in this layout. Only modules
   * with `causalHistory` get it; others receive the batch expanded per sample.
   */
  readonly causal?: CausalLayout;
}

/** What `forward` returns. */
export interface InterestOutput {
  /** The user-interest vector; finite for every row, zeros for users with an empty history. */
  readonly interest: Tensor; // [B, outputDim]
  /** Extra training loss (VQ codebook + β·commitment, ...); the model adds λ·auxLoss to BCE. */
  readonly auxLoss?: Tensor; // scalar
}

/** Numbers for the epoch log line (e.g. `perplexity` of the codebooks, `deadFraction`). */
export type InterestStats = Readonly<Record<string, number>>;

/** JSON configuration of a module; `kind` selects the factory in the registry. */
export interface InterestModuleConfig {
  readonly kind: string;
  readonly [option: string]: JsonValue | undefined;
}

/** What a factory learns from the model that hosts the module. */
export interface InterestBuildContext {
  /** d: width of the raw item embedding (`targetItemEmbedding`, `uniqueItemEmbedding`). */
  readonly itemDim: number;
  /** D: width of the fused embeddings (`targetEmbedding`, `uniqueEmbedding`). */
  readonly fusedDim: number;
  /** The model's history window, or 0 when L is set per batch; modules must accept any L. */
  readonly maxLen: number;
  /** Context features of the dataset (`ContextFeatureSpec`s of `@vql/context`), as JSON. */
  readonly contextFeatures: ReadonlyArray<{ readonly name: string; readonly [key: string]: JsonValue }>;
  /** Seed for the module's initialisation; same seed ⇒ same weights. */
  readonly seed: number;
}

export interface InterestModule {
  /** Registry name (`'vql'`, `'full-attention'`, `'sim-hard'`, ...). */
  readonly kind: string;
  /** Complete, JSON-serialisable config: `createInterestModule(module.config, ctx)` rebuilds it. */
  readonly config: InterestModuleConfig;
  /** Width of `interest`. */
  readonly outputDim: number;
  /** Pure function of the inputs and the current weights; called inside the caller's tidy / tape. */
  forward(inputs: InterestInputs): InterestOutput;
  /** Variables the optimizer updates. */
  trainableVariables(): Variable[];
  /**
   * All state needed to restore the module (trainable and not, e.g. EMA codebook statistics),
   * under names local to the module (`'wq'`, `'quantizer/codebook/0'`). The tensors are the live
   * variables or owned by the module: callers read them and must not dispose them.
   */
  getWeights(): Record<string, Tensor>;
  /** Restores what `getWeights` returned; throws `VqlModelError` naming a missing or mis-shaped tensor. */
  setWeights(weights: Record<string, Tensor>): void;
  /**
   * Optional hook the trainer calls after every optimizer step, outside the gradient tape: the
   * place for deferred state updates (EMA codebooks, dead-code restarts).
   */
  afterStep?(): void;
  /**
   * True when `forward` reads `inputs.causal` (user-grouped batches, whole histories, one scan
   * per user); otherwise the model expands user batches to per-sample rows for this module.
   */
  readonly causalHistory?: boolean;
  /** Optional statistics for the epoch log, over the training steps since the previous call. */
  stats?(): InterestStats;
  /** Frees every tensor the module owns. */
  dispose(): void;
}

export type InterestModuleFactory = (config: InterestModuleConfig, context: InterestBuildContext) => InterestModule;

const registry = new Map<string, InterestModuleFactory>();
let builtinsInstalled = false;

function ensureBuiltins(): void {
  if (builtinsInstalled) return;
  builtinsInstalled = true;
  for (const [kind, factory] of builtinInterestModules()) if (!registry.has(kind)) registry.set(kind, factory);
}

/**
 * Makes `kind` buildable by `createInterestModule` (VQL and full attention register themselves
 * when `@vql/model` is imported; `@vql/baselines` registers its own). Registering a kind twice
 * throws unless `replace` is set, so two packages cannot silently shadow each other.
 */
export function registerInterestModule(
  kind: string,
  factory: InterestModuleFactory,
  options: { replace?: boolean } = {},
): void {
  if (typeof kind !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(kind)) {
    throw new VqlModelError('INVALID_ARGUMENT', `registerInterestModule(kind): kind must be kebab-case, got ${JSON.stringify(kind)}.`);
  }
  if (typeof factory !== 'function') {
    throw new VqlModelError('INVALID_ARGUMENT', `registerInterestModule("${kind}", factory): factory must be a function.`);
  }
  ensureBuiltins();
  if (registry.has(kind) && options.replace !== true) {
    throw new VqlModelError('DUPLICATE_KIND', `registerInterestModule: kind "${kind}" is already registered; pass { replace: true } to override it.`);
  }
  registry.set(kind, factory);
}

/** Registered kinds, sorted. */
export function interestModuleKinds(): string[] {
  ensureBuiltins();
  return [...registry.keys()].sort();
}

/** Builds a module from its JSON config; throws naming the unknown kind and the known ones. */
export function createInterestModule(config: InterestModuleConfig, context: InterestBuildContext): InterestModule {
  if (config === null || typeof config !== 'object' || typeof config.kind !== 'string') {
    throw new VqlModelError('INVALID_CONFIG', 'createInterestModule(config): config must be an object with a string "kind".');
  }
  ensureBuiltins();
  const factory = registry.get(config.kind);
  if (factory === undefined) {
    throw new VqlModelError(
      'UNKNOWN_KIND',
      `createInterestModule: unknown interest module kind "${config.kind}"; registered: ${interestModuleKinds().join(', ') || 'none'}.`,
    );
  }
  const module = factory(config, context);
  if (module.kind !== config.kind) {
    throw new VqlModelError('INVALID_CONFIG', `createInterestModule: factory for "${config.kind}" built a module of kind "${module.kind}".`);
  }
  return module;
}

/**
 * Checks a module's output against the batch (shape [B, outputDim], auxLoss scalar); the model
 * calls it on every forward so a broken baseline fails with its name, not deep inside the tower.
 */
export function checkInterestOutput(module: InterestModule, output: InterestOutput, batchSize: number): void {
  const shape = output.interest.shape;
  if (shape.length !== 2 || shape[0] !== batchSize || shape[1] !== module.outputDim) {
    throw new VqlModelError(
      'SHAPE_MISMATCH',
      `interest module "${module.kind}" returned interest of shape [${shape.join(', ')}], expected [${batchSize}, ${module.outputDim}].`,
    );
  }
  if (output.auxLoss !== undefined && output.auxLoss.rank !== 0) {
    throw new VqlModelError('SHAPE_MISMATCH', `interest module "${module.kind}" returned an auxLoss of rank ${output.auxLoss.rank}; expected a scalar.`);
  }
}
