/** Thrown for invalid arguments and inconsistent state in @vql/quantizer; `code` is stable. */
export class VqlQuantizerError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'VqlQuantizerError';
    this.code = code;
  }
}
