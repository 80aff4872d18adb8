import { VqlCacheStoreError } from '@vql/cache-store';
import { VqlServingError } from './errors.js';

/** The JSON body of every error response. */
export interface ErrorBody {
  error: string;
  message: string;
  /** JSON pointer of the request field at fault, for 400s. */
  field?: string;
  user?: string;
}

const CLIENT_CODES = new Set(['INVALID_ARGUMENT', 'INVALID_TIME', 'QUERY_BEFORE_HISTORY', 'UNKNOWN_FEATURE', 'EVENT_AFTER_ANCHOR']);
const UNAVAILABLE_CODES = new Set(['STORE_UNAVAILABLE', 'STORE_CLOSED', 'MODEL_NOT_READY']);

/** Which JSON pointer a cache-store message names (`history.times[3]` → `/events/3/time`). */
function fieldOf(message: string, list: 'candidates' | 'events'): string | undefined {
  const ev = /(?:history|events)\.times\[(\d+)\]/.exec(message);
  if (ev !== null) return `/events/${ev[1]}/time`;
  if (/candidates\.time|the request/.test(message)) return '/time';
  if (/request time/.test(message)) return '/time';
  const item = /items\[(\d+)\]/.exec(message);
  if (item !== null) return `/${list}/${item[1]}/item`;
  return undefined;
}

/** HTTP status and body for an error thrown while serving a request. */
export function toHttpError(error: unknown, list: 'candidates' | 'events'): { status: number; body: ErrorBody } {
  if (error instanceof VqlServingError) {
    const status = UNAVAILABLE_CODES.has(error.code) ? 503 : error.code === 'MODEL_STAGING' ? 409 : 400;
    return { status, body: { error: error.code, message: error.message, ...(error.field === undefined ? {} : { field: error.field }) } };
  }
  if (error instanceof VqlCacheStoreError) {
    if (UNAVAILABLE_CODES.has(error.code)) return { status: 503, body: { error: error.code, message: `The cache store is unavailable; retry later. ${error.message}` } };
    if (CLIENT_CODES.has(error.code)) {
      const field = fieldOf(error.message, list);
      return { status: 400, body: { error: error.code, message: error.message, ...(field === undefined ? {} : { field }) } };
    }
    return { status: 500, body: { error: error.code, message: error.message } };
  }
  return { status: 500, body: { error: 'INTERNAL', message: error instanceof Error ? error.message : String(error) } };
}
