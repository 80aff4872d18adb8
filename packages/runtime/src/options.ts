import { VqlRuntimeError } from './errors.js';

/** Edit distance, for "did you mean" hints (option names are short). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/**
 * Refuses option keys outside `allowed`: a misspelt option would otherwise be ignored without a
 * word and its default used. `where` names the call ("appendEvents: options"); the message lists
 * the allowed keys and the closest one. Throws `makeError(message)` (each package passes its own
 * error class with code `UNKNOWN_OPTION`), by default a `VqlRuntimeError`. `undefined` / `null`
 * options pass (callers default them).
 */
export function checkKnownKeys(
  where: string,
  options: unknown,
  allowed: readonly string[],
  makeError: (message: string) => Error = (message) => new VqlRuntimeError('UNKNOWN_OPTION', message),
): void {
  if (options === undefined || options === null || typeof options !== 'object') return;
  const unknown = Object.keys(options).filter((k) => !allowed.includes(k));
  if (unknown.length === 0) return;
  const hints = unknown.map((k) => {
    const lower = k.toLowerCase();
    let best: string | undefined;
    let bestDistance = Number.POSITIVE_INFINITY;
    for (const a of allowed) {
      const d = distance(lower, a.toLowerCase());
      if (d < bestDistance) [best, bestDistance] = [a, d];
    }
    // A typo (small edit distance), else a part or an extension of a known key.
    const typo = bestDistance <= Math.max(2, Math.floor(k.length / 3)) ? best : undefined;
    const part = k.length >= 3 ? allowed.find((a) => a.length >= 3 && (a.toLowerCase().includes(lower) || lower.includes(a.toLowerCase()))) : undefined;
    const hint = typo ?? part;
    return `"${k}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`;
  });

  throw makeError(
    `${where}: unknown option${unknown.length > 1 ? 's' : ''} ${hints.join(', ')}; allowed: ${allowed.length === 0 ? 'none' : allowed.join(', ')}.`,
  );
}
