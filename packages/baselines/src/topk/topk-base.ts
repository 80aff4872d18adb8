import { createRng, tf, type JsonValue, type Rng, type Tensor, type Variable } from '@vql/runtime';
import type { InterestBuildContext, InterestInputs, InterestModule, InterestModuleConfig, InterestOutput } from '@vql/model';
import { ATTENTION_OPTIONS, Projections, assignAll, attendSelection, resolveHeads } from '../attention.js';
import type { HeadShape, Selection } from '../attention.js';
import { checkKnown, intOption } from '../config.js';
import { TimeKernel } from '../time-kernel.js';

/** What a search unit returns; `projected` lets the attention reuse a query / keys it computed. */
export interface SelectResult {
  readonly selection: Selection;
  readonly auxLoss?: Tensor;
  readonly projected?: { query: Tensor; uniqueKeys: Tensor };
}

/** Real (unmasked) positions of row b, oldest → newest, into `out`; returns the count. */
export function realPositions(inputs: InterestInputs, b: number, out: Int32Array): number {
  const L = inputs.maxLen;
  const mask = inputs.host.historyMask;
  let n = 0;
  for (let l = 0; l < L; l++) if (mask[b * L + l] !== 0) out[n++] = l;
  return n;
}

/** Default number of retrieved behaviours (SIM, ETA, TWIN use 50–200 in their papers). */
export const DEFAULT_K = 50;

/**
 * Shared frame of the two-stage "retrieve k, then attend" methods (SIM, ETA, TWIN): a
 * general search unit (`select`, on the host, no gradient) picks ≤ k behaviours per row, and an
 * exact search unit (multi-head target attention over them) produces the interest. The ESU's
 * projections always train; what else trains is the subclass's business.
 */
export abstract class TopKModule implements InterestModule {
  abstract readonly kind: string;
  readonly config: InterestModuleConfig;
  readonly outputDim: number;
  readonly k: number;
  readonly shape: HeadShape;
  protected readonly proj: Projections;
  protected readonly rng: Rng;
  /** The temporal kernel (log κ(dt) on the attention logits), or null. */
  readonly timeKernel: TimeKernel | null;

  protected constructor(
    protected readonly where: string,
    kind: string,
    config: Readonly<Record<string, unknown>>,
    context: InterestBuildContext,
    extraOptions: readonly string[],
    kName = 'k',
  ) {
    checkKnown(where, config, [...ATTENTION_OPTIONS, kName, ...extraOptions]);
    // k > L is fine (takes all); k ≤ 0 is refused.
    this.k = intOption(where, kName, config[kName], DEFAULT_K, 1);
    this.shape = resolveHeads(where, config, context);
    this.outputDim = this.shape.heads * this.shape.headDim;
    this.rng = createRng(context.seed);
    this.proj = new Projections(this.rng, this.shape);
    this.timeKernel = TimeKernel.fromOption(where, config['kernel']);
    this.config = {
      kind,
      [kName]: this.k,
      heads: this.shape.heads,
      headDim: this.shape.headDim,
      useContext: this.shape.useContext,
      kernel: this.timeKernel?.jsonConfig() ?? null,
    };
  }

  /** Adds the subclass's resolved options to `config` (called once from the subclass constructor). */
  protected extendConfig(extra: Record<string, JsonValue>): void {
    Object.assign(this.config as Record<string, JsonValue>, extra);
  }

  /** Picks ≤ min(k, L) behaviours per row; may return an auxiliary loss (e.g. SIM soft's retriever). */
  protected abstract select(inputs: InterestInputs): SelectResult;

  /**
   * The history positions the search unit picks for each row (ascending; for per-head selections
   * the union over heads), without the attention: for tests and retrieval analyses.
   */
  retrieve(inputs: InterestInputs): number[][] {
    return this.retrieveSets(inputs).map((sets) => [...new Set(sets.flat())].sort((x, y) => x - y));
  }

  /** Positions picked per row and per selection set ([b][s]: one set, or one per head for TWIN), ascending. */
  retrieveSets(inputs: InterestInputs): number[][][] {
    if (inputs.maxLen === 0) return Array.from({ length: inputs.batchSize }, () => [[]]);
    let selection: Selection | null = null;
    tf.tidy(() => {
      selection = this.select(inputs).selection;
    });
    const sel = selection as unknown as Selection;
    return Array.from({ length: inputs.batchSize }, (_, b) =>
      Array.from({ length: sel.sets }, (_, s) =>
        Array.from(sel.positions.subarray((b * sel.sets + s) * sel.k, (b * sel.sets + s + 1) * sel.k))
          .filter((p) => p >= 0)
          .sort((x, y) => x - y),
      ),
    );
  }

  forward(inputs: InterestInputs): InterestOutput {
    const B = inputs.batchSize;
    if (inputs.maxLen === 0) return { interest: tf.zeros([B, this.outputDim]) };
    const { selection, auxLoss, projected } = this.select(inputs);
    const interest = attendSelection(inputs, this.proj, selection, this.timeKernel, projected ?? null);
    return auxLoss === undefined ? { interest } : { interest, auxLoss };
  }

  protected extraVariables(): Variable[] {
    return [];
  }

  protected extraWeights(): Record<string, Tensor> {
    return {};
  }

  /** Validates and returns the subclass's assignments; nothing is assigned before all checks pass. */
  protected checkedExtraWeights(_weights: Record<string, Tensor>): Array<[Variable, Tensor]> {
    return [];
  }

  trainableVariables(): Variable[] {
    return [...this.proj.variables(), ...this.extraVariables(), ...(this.timeKernel?.trainableVariables() ?? [])];
  }

  getWeights(): Record<string, Tensor> {
    return { ...this.proj.weights(), ...this.extraWeights(), ...(this.timeKernel?.weights() ?? {}) };
  }

  setWeights(weights: Record<string, Tensor>): void {
    const all = [...this.proj.checked(this.where, weights), ...this.checkedExtraWeights(weights)];
    const kernel = this.timeKernel?.checked(this.where, weights);
    assignAll(all);
    kernel?.();
  }

  /** Host copies of W_Q, W_K, W_V (for the online scorers). */
  projectionValues(): { wq: Float32Array; wk: Float32Array; wv: Float32Array } {
    return {
      wq: this.proj.wq.dataSync() as Float32Array,
      wk: this.proj.wk.dataSync() as Float32Array,
      wv: this.proj.wv.dataSync() as Float32Array,
    };
  }

  dispose(): void {
    this.proj.dispose();
    tf.dispose(this.extraVariables());
    this.timeKernel?.dispose();
  }
}

/** Length of row b's history (positions 0..len−1 are real; the model pads after the last event). */
export function rowLength(inputs: InterestInputs, b: number): number {
  return Math.min(inputs.host.historyLength[b]!, inputs.maxLen);
}
