import { VqlError } from '@vql/errors';
import type { VqlErrorOptions } from '@vql/errors';

/** Why the experiment's input was refused; stable, safe to match on. */
export type ExperimentConfigErrorCode =
  | 'BAD_DATASET'
  | 'CONFIG_NOT_FOUND'
  | 'CONFIG_NOT_JSON'
  | 'INVALID_CONFIG'
  | 'INVALID_FLAG'
  | 'NOTHING_TO_RUN'
  | 'NOT_A_MODEL'
  | 'OUT_DIR_NOT_WRITABLE'
  | 'RESULTS_CORRUPT'
  | 'RESULTS_OTHER_CONFIG'
  | 'UNKNOWN_PRESET';

/** A problem with the experiment's input (config, flags, paths), reported before any training. */
export class ExperimentConfigError extends VqlError<ExperimentConfigErrorCode> {
  constructor(code: ExperimentConfigErrorCode, message: string, options?: VqlErrorOptions) {
    super('@vql/experiment', code, message, options);
    this.name = 'ExperimentConfigError';
  }
}

/** Why a planned run could not be executed; stable, safe to match on. */
export type ExperimentRunErrorCode =
  /** The method needs an item-scope categorical feature the dataset lacks (SIM hard). */
  | 'NEEDS_CATEGORY_FEATURE'
  /** The oracle was asked for on a dataset without true click probabilities. */
  | 'NO_ORACLE'
  /** The latency study was asked for a method whose table entry has no online scorer. */
  | 'NO_ONLINE_SCORER'
  /** A dataset entry that is neither an events file nor a LongCTR folder reached the user-data reader. */
  | 'NOT_A_USER_DATASET'
  /** A method name that is not in the method table. */
  | 'UNKNOWN_METHOD'
  /** A `--jobs` worker process exited while it was executing a run. */
  | 'WORKER_EXITED';

/** A planned run that cannot execute on the data it was given (the message names method and dataset). */
export class ExperimentRunError extends VqlError<ExperimentRunErrorCode> {
  constructor(code: ExperimentRunErrorCode, message: string, options?: VqlErrorOptions) {
    super('@vql/experiment', code, message, options);
    this.name = 'ExperimentRunError';
  }
}
