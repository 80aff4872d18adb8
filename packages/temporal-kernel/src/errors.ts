/** Thrown for invalid arguments and parameters in @vql/temporal-kernel; `code` is stable. */
export class VqlTemporalKernelError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'VqlTemporalKernelError';
    this.code = code;
  }
}
