import type { Candidates, UserHistory } from '@vql/cache-store';
import type { CtrModel } from '@vql/model';
import { VqlServingError } from './errors.js';
import type { ServingEvent } from './schemas.js';

type Feature = CtrModel['config']['contextFeatures'][number];
type Row = { item: number; context?: Record<string, number | number[]> | undefined };

/**
 * JSON rows → the typed columns the cache model reads: items, and one column per context
 * feature of the given scopes (`[n*width]`: Int32Array for categorical / multi ids, Float32Array
 * for numeric values). A missing, unknown or mis-shaped feature is refused naming its field.
 */
function contextColumns(rows: readonly Row[], features: readonly Feature[], scopes: ReadonlySet<string>, list: string): Record<string, Int32Array | Float32Array> {
  const wanted = features.filter((f) => scopes.has(f.scope));
  const names = new Set(wanted.map((f) => f.name));
  const out: Record<string, Int32Array | Float32Array> = {};
  for (const f of wanted) {
    const width = f.kind === 'multi' ? f.width : 1;
    const col = f.kind === 'numeric' ? new Float32Array(rows.length * width) : new Int32Array(rows.length * width);
    rows.forEach((row, i) => {
      const field = `/${list}/${i}/context/${f.name}`;
      const v = row.context?.[f.name];
      if (v === undefined) throw new VqlServingError('INVALID_ARGUMENT', `${field} is required: the model reads the ${f.scope} feature "${f.name}" (${f.kind}).`, { field });
      const values = typeof v === 'number' ? [v] : v;
      if (f.kind === 'multi' ? values.length > width : values.length !== 1) {
        throw new VqlServingError('INVALID_ARGUMENT', `${field} must be ${f.kind === 'multi' ? `at most ${width} ids` : 'one number'}, got ${JSON.stringify(v)}.`, { field });
      }
      values.forEach((x, k) => {
        if (f.kind !== 'numeric' && !Number.isInteger(x)) throw new VqlServingError('INVALID_ARGUMENT', `${field} must hold integer ids, got ${x}.`, { field });
        col[i * width + k] = x;
      });
    });
    out[f.name] = col;
  }
  rows.forEach((row, i) => {
    for (const name of Object.keys(row.context ?? {})) {
      if (!names.has(name)) {
        const field = `/${list}/${i}/context/${name}`;
        throw new VqlServingError('UNKNOWN_FEATURE', `${field}: the model has no ${[...scopes].join('/')} feature "${name}" (it reads: ${[...names].join(', ') || 'none'}).`, { field });
      }
    }
  });
  return out;
}

function checkItems(rows: readonly Row[], numItems: number, list: string): Int32Array {
  return Int32Array.from(rows, (r, i) => {
    if (r.item < 1 || r.item > numItems) {
      const field = `/${list}/${i}/item`;
      throw new VqlServingError('INVALID_ARGUMENT', `${field} = ${r.item} is outside the model's item vocabulary 1..${numItems}.`, { field });
    }
    return r.item;
  });
}

/** Candidates of one score request (item-scope context only: nothing pairwise with the history). */
export function candidateColumns(model: CtrModel, candidates: readonly Row[], time: number): Candidates {
  const items = checkItems(candidates, model.config.numItems, 'candidates');
  return { items, time, context: contextColumns(candidates, model.config.contextFeatures, new Set(['item']), 'candidates') };
}

/** Behaviours of one events request, with their ids. */
export function eventColumns(model: CtrModel, events: readonly ServingEvent[]): UserHistory {
  const items = checkItems(events, model.config.numItems, 'events');
  return {
    items,
    times: Float64Array.from(events, (e) => e.time),
    context: contextColumns(events, model.config.contextFeatures, new Set(['item', 'event']), 'events'),
    ids: events.map((e) => e.id),
  };
}
