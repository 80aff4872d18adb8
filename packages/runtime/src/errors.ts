/** Thrown for invalid arguments and environment problems in @vql/runtime; `code` is stable. */
export class VqlRuntimeError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'VqlRuntimeError';
    this.code = code;
  }
}
