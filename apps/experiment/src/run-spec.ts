import type { DatasetName, MethodName } from './config.js';

export type Study = 'main' | 'ablation' | 'codebook-sweep' | 'group-sweep' | 'length-sweep' | 'latency';

/** One training (or latency) run: everything that determines its numbers. */
export interface RunSpec {
  id: string;
  /** Every study this run's numbers appear in (a main-comparison VQL run is also a sweep point). */
  studies: Study[];
  method: MethodName;
  /** 'default', a VQL ablation name, or the oracle's 'full-history' / 'at-L'. */
  variant: string;
  dataset: DatasetName;
  L: number;
  /** Codebook sizes per group (VQL family) — recorded as K = largest, G = count. */
  codebookSizes: number[];
  heads: number;
  seed: number;
  /**
   * Set when an earlier planned run trains the same model on the same behaviours (last-n at every
   * L ≥ its n; the newest L of histories at most L long and the whole history): this run is not
   * trained, its record is a copy of that run's. `why` says which behaviours both read.
   */
  sameAs?: { id: string; why: string };
}
