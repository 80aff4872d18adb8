/** A problem with the experiment's input (config, flags, paths), reported before any training. */
export class ExperimentConfigError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'ExperimentConfigError';
    this.code = code;
  }
}
