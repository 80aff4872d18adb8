import type { UserHistory } from '@vql/cache-store';
import type { CtrModel, InterestModuleConfig } from '@vql/model';
import type { ExperimentConfig, MethodName } from '../config.js';
import type { PreparedDataset } from '../datasets.js';
import type { RunSpec } from '../run-spec.js';
import type { RunRecord } from '../results.js';

// The shape of one row of the method table (table.ts). Types only: the entries live in the table.

/** What an entry's builders read: the run, the experiment config and the run's dataset. */
export interface MethodContext {
  readonly spec: RunSpec;
  readonly config: ExperimentConfig;
  readonly data: PreparedDataset;
}

/** How a trained method differs from the others inside the shared `CtrModel`. */
export interface InterestPlan {
  /** The interest module's JSON config (`kind` names a registered module). */
  readonly interest: InterestModuleConfig;
  /** Weight of the module's auxiliary loss; default the config's `model.vqWeight`. */
  readonly auxLossWeight?: number;
}

/** A reference score (no training through the runner): test-set probabilities and what the record says. */
export interface ReferenceScore {
  /** Test-set probabilities, or null when the method cannot run on this dataset (`values.note` says why). */
  readonly probs: Float32Array | null;
  readonly values: Partial<RunRecord>;
}

/** One user's online state and its request path, measured by the latency study. */
export interface OnlineScorer {
  /** Bytes of per-user state the method keeps online. */
  readonly stateBytes: number;
  /** One request for `candidates` (interest vectors; the tower is the same for every method). */
  request(candidates: Int32Array): void;
  dispose(): void;
}

/** Builds a method's online scorer for one user from an (untrained, seeded) model of the method. */
export type OnlineScorerFactory = (model: CtrModel, history: UserHistory, now: number) => OnlineScorer;

/**
 * What a method is in the comparison: the method under study (VQL), the exact attention it
 * approximates, a baseline (default), the logistic floor, or a ceiling (the oracle).
 */
export type MethodRole = 'subject' | 'exact' | 'baseline' | 'floor' | 'ceiling';

export interface MethodEntry {
  readonly name: MethodName;
  /** Default 'baseline'. The report orders rows and picks the headline's comparisons by role. */
  readonly role?: MethodRole;
  /** The report's row name for a variant at L (`L` already human: "1k"); default name or "name / variant". */
  readonly label?: (variant: string, L: string) => string;
  /**
   * Trained methods that read at most the newest n behaviours whatever L is (last-n): n. Default
   * none (all L). Runs at different L ≥ n see the same behaviours and are trained once.
   */
  readonly window?: (config: ExperimentConfig) => number;
  /** Trained methods: the interest module (and aux weight) of its `CtrModel`. */
  readonly interest?: (context: MethodContext) => InterestPlan;
  /** Reference methods (floor, oracle): scored from the samples without a `CtrModel`. */
  readonly reference?: (context: MethodContext) => ReferenceScore;
  /** Variants a main or length-sweep run of this method expands to on `dataset`; default ['default']. */
  readonly variants?: (dataset: PreparedDataset['name']) => readonly string[];
  /**
   * Latency study: the method whose model the scorer reads (default this one; full attention is
   * timed over VQL's model's exact keys), and the scorer, imported when the study runs.
   */
  readonly latency?: {
    readonly modelOf?: MethodName;
    readonly scorer: () => Promise<OnlineScorerFactory>;
  };
}
