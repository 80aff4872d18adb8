/** Thrown for invalid configurations, inputs and training failures in @vql/model; `code` is stable. */
export class VqlModelError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'VqlModelError';
    this.code = code;
  }
}
