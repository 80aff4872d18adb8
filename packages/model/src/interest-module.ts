import type { ContextFeatureSpec } from '@vql/context';
import type { CtrBatch } from '@vql/data';
import type { JsonValue, Tensor, Variable } from '@vql/runtime';

// Types only (the registry that builds modules by kind is interest-registry.ts).
//
// The one interface every user-interest method implements: VQL, full target attention, and the
// baselines (SIM hard/soft, ETA, TWIN, SDIM, compression). `CtrModel`, `Trainer`, the evaluator and
// the experiment runner only ever talk to an `InterestModule`, built by name from a JSON config.
//
// Dimensions used below: B = batch size, L = history length of the batch (may be 0),
// U = unique history rows of the batch, d = item embedding width, D = fused (item ⊕ static context)
// width, width = a context feature's column count (1 for categorical / numeric).

/**
 * Host (typed-array) view of the batch the model was given, after the model's history window
 * (`CtrModelConfig.historyWindow`) was applied: `@vql/data`'s `CtrBatch` (the one batch contract),
 * read-only, with the labels optional. Top-k baselines pick positions on the host (SIM hard: same
 * category as the target) and then `tf.gather` what they picked, without gradients through the
 * selection. `label` (0/1, [B]) is there in every training batch, only for a module's auxiliary
 * training loss (SIM soft's search-unit CTR head); `interest` must never depend on it.
 */
export type InterestHostBatch = Readonly<Omit<CtrBatch, 'label' | 'trueProb'>> & { readonly label?: Float32Array };

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

/**
 * Where the events and targets of a user-grouped batch lie (DESIGN §2b). Events of user k are
 * [eventOffsets[k], eventOffsets[k+1]) with non-decreasing times; its targets are
 * [targetOffsets[k], targetOffsets[k+1]) in time order, target j seeing the user's first
 * historyEnd[j] events (non-decreasing in j, every one strictly before the target in time).
 */
export interface CausalLayout {
  readonly numUsers: number; // Bu
  readonly eventOffsets: Int32Array; // [Bu+1]
  readonly eventRow: Int32Array; // [E] unique row of each event (keys, values, bias are per row)
  readonly eventTime: Float64Array; // [E] seconds
  readonly targetOffsets: Int32Array; // [Bu+1]
  readonly targetTime: Float64Array; // [T] seconds
  readonly historyEnd: Int32Array; // [T] relative to the user's first event
  /**
   * First event target j sees (relative, non-decreasing within a user): the newest-L window
   * max(0, historyEnd − L). Absent: 0, the whole history. Events leaving the window are
   * subtracted from the state (float64; a code whose count drops to 0 is reset to exact zeros).
   */
  readonly historyStart?: Int32Array; // [T]
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
  /** Context features of the dataset. */
  readonly contextFeatures: readonly ContextFeatureSpec[];
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
  /**
   * True while the next training forward would change weights before reading them (VQL's
   * k-means codebook initialisation from the batch): a data-parallel trainer runs such steps
   * whole on the main thread, so every replica sees the initialised weights.
   */
  readonly initializing?: boolean;
  /** Optional statistics for the epoch log, over the training steps since the previous call. */
  stats?(): InterestStats;
  /** Frees every tensor the module owns. */
  dispose(): void;
}

export type InterestModuleFactory = (config: InterestModuleConfig, context: InterestBuildContext) => InterestModule;
