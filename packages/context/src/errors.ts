/** Thrown for invalid feature specs, context columns and weights in @vql/context; `code` is stable. */
export class VqlContextError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'VqlContextError';
    this.code = code;
  }
}
