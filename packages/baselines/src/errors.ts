/** Thrown for invalid configurations and inputs in @vql/baselines; `code` is stable. */
export class VqlBaselinesError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'VqlBaselinesError';
    this.code = code;
  }
}
