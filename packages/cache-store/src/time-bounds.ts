import { checkKnownKeys } from '@vql/runtime';
import { VqlCacheStoreError } from './errors.js';

/**
 * What an event or request time (epoch seconds) may be. One bad value (a millisecond timestamp,
 * a year-2100 clock) would otherwise move a cache's anchor past every real request, and a cache
 * cannot drop events: so times are checked before anything is written or scored.
 */
export interface TimeBounds {
  /** Earliest accepted time, epoch seconds. Default 631152000 (1990-01-01T00:00:00Z). */
  earliest?: number;
  /** How far past the server clock a time may be, seconds (clock skew between producers). Default 300. */
  maxFutureSkew?: number;
  /** The server clock, epoch seconds. Default `Date.now() / 1000`. */
  now?: () => number;
}

export const DEFAULT_EARLIEST = 631152000;
export const DEFAULT_MAX_FUTURE_SKEW = 300;
const KEYS = ['earliest', 'maxFutureSkew', 'now'] as const;

export interface ResolvedTimeBounds {
  readonly earliest: number;
  readonly maxFutureSkew: number;
  readonly now: () => number;
}

export function resolveTimeBounds(where: string, bounds: TimeBounds | undefined): ResolvedTimeBounds {
  if (bounds !== undefined && (bounds === null || typeof bounds !== 'object')) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: timeBounds must be an object, got ${bounds === null ? 'null' : typeof bounds}.`);
  }
  checkKnownKeys(`${where}: timeBounds`, bounds, KEYS, (m) => new VqlCacheStoreError('UNKNOWN_OPTION', m));
  const earliest = bounds?.earliest ?? DEFAULT_EARLIEST;
  const skew = bounds?.maxFutureSkew ?? DEFAULT_MAX_FUTURE_SKEW;
  const now = bounds?.now ?? (() => Date.now() / 1000);
  if (typeof earliest !== 'number' || Number.isNaN(earliest) || earliest === Number.POSITIVE_INFINITY) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: timeBounds.earliest must be a number (epoch seconds) or -Infinity, got ${String(earliest)}.`);
  }
  if (typeof skew !== 'number' || !(skew >= 0)) {
    throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: timeBounds.maxFutureSkew must be a number ≥ 0 (seconds; Infinity = no upper bound), got ${String(skew)}.`);
  }
  if (typeof now !== 'function') throw new VqlCacheStoreError('INVALID_ARGUMENT', `${where}: timeBounds.now must be a function returning epoch seconds.`);
  return { earliest, maxFutureSkew: skew, now };
}

const iso = (seconds: number): string => {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? `${seconds} s` : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
};

/** A hint when `t` read as milliseconds or microseconds lands inside the bounds. */
function unitHint(t: number, lo: number, hi: number): string {
  for (const [unit, div] of [['milliseconds', 1e3], ['microseconds', 1e6], ['nanoseconds', 1e9]] as const) {
    const s = t / div;
    if (s >= lo && s <= hi) return ` It looks like ${unit}: ${t} / ${div} = ${iso(s)}; times are epoch seconds.`;
  }
  return '';
}

/**
 * Throws `INVALID_TIME` for the first time outside [earliest, now + maxFutureSkew] (or non-finite),
 * naming `label(i)` (the event and its id), the bound and, where it fits, the unit mistake.
 */
export function checkTimes(where: string, times: ArrayLike<number>, bounds: ResolvedTimeBounds, label: (i: number) => string, outcome = 'nothing was written'): void {
  if (times.length === 0) return;
  const now = bounds.now();
  const latest = now + bounds.maxFutureSkew;
  for (let i = 0; i < times.length; i++) {
    const t = times[i]!;
    if (t >= bounds.earliest && t <= latest) continue;
    if (!Number.isFinite(t)) throw new VqlCacheStoreError('INVALID_TIME', `${where}: ${label(i)} has time ${t}, which is not a finite number of epoch seconds; ${outcome}.`);
    const hint = unitHint(t, bounds.earliest, latest);
    if (t < bounds.earliest) {
      throw new VqlCacheStoreError(
        'INVALID_TIME',
        `${where}: ${label(i)} has time ${t} (${iso(t)}), before the earliest accepted time ${bounds.earliest} (${iso(bounds.earliest)}; timeBounds.earliest); ${outcome}.${hint}`,
      );
    }
    throw new VqlCacheStoreError(
      'INVALID_TIME',
      `${where}: ${label(i)} has time ${t} (${iso(t)}), more than ${bounds.maxFutureSkew} s (timeBounds.maxFutureSkew) after the server clock ${iso(now)}; ${outcome}.${hint}`,
    );
  }
}
