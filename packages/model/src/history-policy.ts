import { VqlModelError } from './errors.js';

/**
 * Which behaviours a model sees for a target (recorded in its config, so serving can check it):
 * every one before the target (`whole`, what a per-user cache sums), or only the newest `length`.
 */
export type HistoryPolicy = { readonly kind: 'whole' } | { readonly kind: 'newest'; readonly length: number };

/**
 * The policy of a model config: `historyPolicy` when given (it must agree with `historyWindow`),
 * otherwise derived from `historyWindow` (null = whole). Newest-L is carried by the window, so
 * every batch layout applies it; returns both, consistent.
 */
export function resolveHistoryPolicy(where: string, policy: unknown, historyWindow: number | null): { historyPolicy: HistoryPolicy; historyWindow: number | null } {
  if (policy === undefined || policy === null) {
    return { historyPolicy: historyWindow === null ? { kind: 'whole' } : { kind: 'newest', length: historyWindow }, historyWindow };
  }
  const p = policy as { kind?: unknown; length?: unknown };
  if (typeof p !== 'object' || (p.kind !== 'whole' && p.kind !== 'newest')) {
    throw new VqlModelError('INVALID_CONFIG', `${where}: config.historyPolicy must be { kind: 'whole' } or { kind: 'newest', length: L }, got ${JSON.stringify(policy)}.`);
  }
  if (p.kind === 'whole') {
    if (historyWindow !== null) {
      throw new VqlModelError('INVALID_CONFIG', `${where}: config.historyPolicy is { kind: 'whole' } but config.historyWindow = ${historyWindow} keeps only the newest ${historyWindow}; drop one of them.`);
    }
    return { historyPolicy: { kind: 'whole' }, historyWindow: null };
  }
  const length = p.length;
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 1) {
    throw new VqlModelError('INVALID_CONFIG', `${where}: config.historyPolicy.length must be a positive integer, got ${JSON.stringify(length)}.`);
  }
  if (historyWindow !== null && historyWindow !== length) {
    throw new VqlModelError('INVALID_CONFIG', `${where}: config.historyPolicy.length (${length}) and config.historyWindow (${historyWindow}) disagree.`);
  }
  return { historyPolicy: { kind: 'newest', length }, historyWindow: length };
}

/** `whole history` / `newest 1000`, for logs and reports. */
export function describeHistoryPolicy(policy: HistoryPolicy): string {
  return policy.kind === 'whole' ? 'whole history' : `newest ${policy.length}`;
}
