/** Thrown for invalid metric inputs; `code` is stable, the message names the argument. */
export class VqlMetricsError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'VqlMetricsError';
    this.code = code;
  }
}
