import { basename } from 'node:path';
import { VqlDataError, checkOptionKeys } from './errors.js';
import { EventTableBuilder } from './event-table-builder.js';
import type { CleaningOptions, FeatureDecl } from './event-table-builder.js';
import { eventFileFormat, idColumn, loadEventSchema, parseEventSchema } from './event-schema.js';
import type { EventFeature, EventSchema } from './event-schema.js';
import { arrowRows, parquetRows, textRows } from './event-source.js';
import type { RowSource } from './event-source.js';
import { percentileLinear } from './stats.js';
import type { BuildCtrSamplesOptions } from './samples.js';
import type { EventTable } from './types.js';

export interface ReadEventsOptions {
  /**
   * Called with each bad row's error instead of throwing; the row is skipped and counted in
   * `report.droppedOther["bad row"]`. Schema and file problems (missing column, bad file) still throw.
   */
  onProblem?: (error: VqlDataError) => void;
}

const ID_PATTERN = /^\s*[0-9]+\s*$/;
const DECIMAL_PATTERN = /^\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*$/;
// ISO 8601 date or date-time; Date.parse alone also takes "March 7" and locale forms.
const ISO_PATTERN = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$/;
const UNIT_SECONDS = { s: 1, ms: 1e-3, us: 1e-6 } as const;

function show(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'string') return value.trim() === '' ? 'a blank value' : `"${value}"`;
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return `[${value.slice(0, 5).map(show).join(', ')}${value.length > 5 ? ', …' : ''}]`;
  return String(value);
}

function bad(where: string, column: string, expected: string, value: unknown): VqlDataError {
  return new VqlDataError('BAD_VALUE', `${where} column "${column}": expected ${expected}, got ${show(value)}.`);
}

function isBlank(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'string' && v.trim() === '');
}

function toFiniteNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && DECIMAL_PATTERN.test(v)) return Number(v);
  return Number.NaN;
}

/** Interns string ids into 1, 2, ... in order of first appearance, keeping the raw strings. */
class StringIds {
  readonly ids = new Map<string, number>();
  readonly raw: string[] = [''];
  get(text: string): number {
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.raw.length;
      this.ids.set(text, id);
      this.raw.push(text);
    }
    return id;
  }
}

interface Plan {
  columns: string[];
  user: { index: number; column: string; strings: StringIds | null };
  item: { index: number; column: string; strings: StringIds | null };
  time: { index: number; column: string; unit: EventSchema['time']['unit'] };
  label: { index: number; column: string } | null;
  features: Array<{ spec: EventFeature; index: number; column: string; decl: FeatureDecl; values: number[] | null }>;
}

function planOf(schema: EventSchema): Plan {
  const columns: string[] = [];
  const at = (c: string): number => {
    const i = columns.indexOf(c);
    if (i >= 0) return i;
    columns.push(c);
    return columns.length - 1;
  };
  const u = idColumn(schema.user);
  const it = idColumn(schema.item);
  return {
    columns,
    user: { index: at(u.column), column: u.column, strings: u.ids === 'string' ? new StringIds() : null },
    item: { index: at(it.column), column: it.column, strings: it.ids === 'string' ? new StringIds() : null },
    time: { index: at(schema.time.column), column: schema.time.column, unit: schema.time.unit },
    label: schema.label === 'implicit' ? null : { index: at(schema.label.column), column: schema.label.column },
    features: (schema.features ?? []).map((spec) => {
      const column = spec.column ?? spec.name;
      const decl: FeatureDecl =
        spec.kind === 'numeric'
          ? { name: spec.name, kind: 'numeric', scope: spec.scope, boundaries: [...(spec.boundaries ?? [])] }
          : spec.kind === 'multi'
            ? { name: spec.name, kind: 'multi', scope: spec.scope, width: spec.width ?? 1 }
            : { name: spec.name, kind: 'categorical', scope: spec.scope };
      return { spec, index: at(column), column, decl, values: spec.kind === 'numeric' && spec.boundaries === undefined ? [] : null };
    }),
  };
}

function rowsOf(file: string, schema: EventSchema, columns: readonly string[]): RowSource {
  const format = eventFileFormat(file, schema);
  if (format === 'parquet') return parquetRows(file, columns);
  if (format === 'arrow') return arrowRows(file, columns);
  return textRows(file, columns, schema.delimiter ?? (format === 'tsv' ? '\t' : ','));
}

function splitMulti(value: unknown, spec: Extract<EventFeature, { kind: 'multi' }>, where: string, column: string): string[] {
  if (isBlank(value)) return [];
  if (Array.isArray(value)) return value.filter((v) => !isBlank(v)).map((v) => String(v).trim());
  if (typeof value === 'string') {
    if (spec.separator === undefined) {
      // A one-value cell is fine without a separator; several need one.
      return [value.trim()];
    }
    return value.split(spec.separator).map((v) => v.trim()).filter((v) => v !== '');
  }
  if (typeof value === 'number' || typeof value === 'bigint') return [String(value)];
  throw bad(where, column, 'a list or a separated text cell', value);
}

/** Extra pass for multi-valued features declared without `width`: the most values in a row. */
async function measureWidths(file: string, schema: EventSchema, plan: Plan): Promise<void> {
  const open = plan.features.filter((f) => f.spec.kind === 'multi' && f.spec.width === undefined);
  if (open.length === 0) return;
  const columns = open.map((f) => f.column);
  for await (const row of rowsOf(file, schema, columns)) {
    open.forEach((f, k) => {
      let n: number;
      try {
        n = splitMulti(row.values[k], f.spec as Extract<EventFeature, { kind: 'multi' }>, row.where, f.column).length;
      } catch {
        return; // reported with its row in the main pass
      }
      const decl = f.decl as Extract<FeatureDecl, { kind: 'multi' }>;
      if (n > decl.width) decl.width = n;
    });
  }
}

/** 8 quantile buckets of the values read (distinct boundaries only). */
function quantileBoundaries(values: number[]): number[] {
  if (values.length === 0) return [0];
  const sorted = Float64Array.from(values).sort();
  const out: number[] = [];
  for (let q = 1; q < 8; q++) {
    const b = percentileLinear(sorted, q / 8);
    if (out.length === 0 || b > out[out.length - 1]!) out.push(b);
  }
  return out;
}

/**
 * Reads a user's event log described by an events schema (object or path to the JSON file)
 * into a normalized `EventTable`, through the same builder and cleaning as the shipped readers.
 * Every bad cell throws `VqlDataError` (`BAD_VALUE`) naming the file, line (or row group and
 * row), column and value — or goes to `options.onProblem` and the row is skipped.
 */
export async function readEvents(file: string, schemaOrPath: EventSchema | string, options: ReadEventsOptions = {}): Promise<EventTable> {
  checkOptionKeys(options, ['onProblem'], 'readEvents');
  const schema = typeof schemaOrPath === 'string' ? loadEventSchema(schemaOrPath) : parseEventSchema(schemaOrPath);
  const plan = planOf(schema);
  await measureWidths(file, schema, plan);
  const name = schema.name ?? basename(file).replace(/\.(gz)$/, '').replace(/\.[^.]+$/, '');
  const builder = new EventTableBuilder(name, plan.features.map((f) => f.decl), plan.label !== null);
  builder.setSourceFile(file);
  const eventFeatures = plan.features.filter((f) => f.spec.scope === 'event');
  const eventWidth = eventFeatures.reduce((n, f) => n + (f.decl.kind === 'multi' ? f.decl.width : 1), 0);
  const ev = new Array<number>(eventWidth).fill(0);
  const itemValues: Array<{ name: string; value: number | number[] }> = [];
  let rowNumber = 0;

  const readId = (value: unknown, where: string, spec: Plan['user']): number => {
    if (spec.strings !== null) {
      if (isBlank(value)) throw bad(where, spec.column, 'an id', value);
      return spec.strings.get(typeof value === 'string' ? value.trim() : String(value));
    }
    let n = Number.NaN;
    if (typeof value === 'number') n = value;
    else if (typeof value === 'bigint') n = value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : Number.NaN;
    else if (typeof value === 'string' && ID_PATTERN.test(value)) n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw bad(where, spec.column, 'a non-negative integer id (digits only; set "ids": "string" for text ids)', value);
    }
    return n;
  };

  const readTime = (value: unknown, where: string): number => {
    const { unit, column } = plan.time;
    if (value instanceof Date) {
      const t = value.getTime() / 1000; // Parquet TIMESTAMP / DATE columns arrive as dates
      if (Number.isFinite(t)) return t;
    } else if (unit === 'iso') {
      if (typeof value === 'string' && ISO_PATTERN.test(value.trim())) {
        const t = Date.parse(value.trim());
        if (Number.isFinite(t)) return t / 1000;
      }
      throw bad(where, column, 'an ISO 8601 date or date-time ("2024-03-07", "2024-03-07T12:30:00Z")', value);
    } else {
      const t = toFiniteNumber(value);
      if (Number.isFinite(t)) return t * UNIT_SECONDS[unit];
    }
    throw bad(where, column, `a finite decimal time in ${unit === 'us' ? 'µs' : unit}`, value);
  };

  const readLabel = (value: unknown, where: string, column: string): number => {
    if (value === true || value === 1 || value === 1n || value === '1' || value === 'true') return 1;
    if (value === false || value === 0 || value === 0n || value === '0' || value === 'false') return 0;
    if (typeof value === 'string') {
      const t = value.trim().toLowerCase();
      if (t === '1' || t === '1.0' || t === 'true') return 1;
      if (t === '0' || t === '0.0' || t === 'false') return 0;
    }
    throw bad(where, column, 'a 0/1 label', value);
  };

  for await (const row of rowsOf(file, schema, plan.columns)) {
    rowNumber++;
    const v = row.values;
    try {
      const user = readId(v[plan.user.index], row.where, plan.user);
      const item = readId(v[plan.item.index], row.where, plan.item);
      const time = readTime(v[plan.time.index], row.where);
      const label = plan.label === null ? 1 : readLabel(v[plan.label.index], row.where, plan.label.column);
      let k = 0;
      itemValues.length = 0;
      for (const f of plan.features) {
        const cell = v[f.index];
        let value: number | number[];
        if (f.spec.kind === 'numeric') {
          if (isBlank(cell) && f.spec.default !== undefined) value = f.spec.default;
          else {
            value = toFiniteNumber(cell);
            if (!Number.isFinite(value)) throw bad(row.where, f.column, 'a finite decimal number (or set "default" for blanks)', cell);
          }
          f.values?.push(value);
        } else if (f.spec.kind === 'categorical') {
          if (Array.isArray(cell)) throw bad(row.where, f.column, 'one value (declare "kind": "multi" for lists)', cell);
          value = isBlank(cell) ? 0 : builder.intern(f.spec.name, typeof cell === 'string' ? cell.trim() : String(cell));
        } else {
          const parts = splitMulti(cell, f.spec, row.where, f.column);
          const width = (f.decl as Extract<FeatureDecl, { kind: 'multi' }>).width;
          if (parts.length > width) throw bad(row.where, f.column, `at most ${width} values ("width" in the schema)`, cell);
          value = new Array<number>(width).fill(0);
          for (let p = 0; p < parts.length; p++) value[p] = builder.intern(f.spec.name, parts[p]!);
        }
        if (f.spec.scope === 'event') {
          if (typeof value === 'number') ev[k++] = value;
          else for (const x of value) ev[k++] = x;
        } else itemValues.push({ name: f.spec.name, value });
      }
      builder.addEvent(user, item, time, label, rowNumber, ev);
      for (const { name: feature, value } of itemValues) builder.setItemFeature(item, feature, value);
    } catch (error) {
      if (!(error instanceof VqlDataError) || options.onProblem === undefined) throw error;
      options.onProblem(error);
      builder.countDropped('bad row');
    }
  }
  if (rowNumber === 0) throw new VqlDataError('EMPTY_DATASET', `${file}: no data rows.`);
  for (const f of plan.features) {
    if (f.values !== null && f.decl.kind === 'numeric') f.decl.boundaries.push(...quantileBoundaries(f.values));
  }
  const table = builder.build(schema.cleaning as CleaningOptions | undefined);
  // Text ids: the table's raw ids are the interned numbers; keep the strings beside them.
  if (plan.user.strings !== null) table.vocabularies['@user'] = Array.from(table.rawUserId, (r, i) => (i === 0 ? '' : plan.user.strings!.raw[r]!));
  if (plan.item.strings !== null) table.vocabularies['@item'] = Array.from(table.rawItemId, (r, i) => (i === 0 ? '' : plan.item.strings!.raw[r]!));
  return table;
}

/** The `buildCtrSamples` options an events schema implies (negatives for implicit labels). */
export function eventSamplingOptions(schema: EventSchema): Pick<BuildCtrSamplesOptions, 'negativesPerPositive' | 'negativeSampling'> {
  if (schema.label !== 'implicit' || schema.negatives === undefined) return {};
  return {
    negativesPerPositive: schema.negatives.perPositive,
    ...(schema.negatives.sampling !== undefined ? { negativeSampling: schema.negatives.sampling } : {}),
  };
}
