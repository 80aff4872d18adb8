/**
 * The one error base of vql. Every package's error class extends it with its own `code` union,
 * so callers match on `error.code` (stable, documented per package) rather than on classes or
 * message text. The marker is a registered symbol, so `isVqlError` also recognises errors thrown
 * by a second copy of a package (two installed versions, a worker bundle) where `instanceof` fails.
 */
const MARKER: unique symbol = Symbol.for('@vql/errors.VqlError') as never;

export interface VqlErrorOptions {
  /** The lower-level error this one explains (kept as `error.cause`). */
  cause?: unknown;
}

export class VqlError<Code extends string = string> extends Error {
  /** Stable machine-readable reason, from the throwing package's code union. */
  readonly code: Code;
  /** The package that threw (`'@vql/data'`, `'@vql/experiment'`, ...). */
  readonly source: string;
  /** Marks the instance for `isVqlError` (a registered symbol: the same in every copy of this package). */
  readonly [MARKER] = true;

  constructor(source: string, code: Code, message: string, options?: VqlErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VqlError';
    this.source = source;
    this.code = code;
  }
}

/**
 * True when `error` is a `VqlError` (from any package, any copy); with `code`, only when its
 * code is that one (or one of those).
 */
export function isVqlError<Code extends string = string>(error: unknown, code?: Code | readonly Code[]): error is VqlError<Code> {
  if (error === null || typeof error !== 'object' || (error as Record<symbol, unknown>)[MARKER] !== true) return false;
  if (code === undefined) return true;
  const actual = (error as VqlError<Code>).code;
  return typeof code === 'string' ? actual === code : code.includes(actual);
}
