import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Field, FixedSizeList, Float32, Float64, Int32, Table, makeData, makeVector, tableFromIPC, tableToIPC } from 'apache-arrow';
import type { Data, DataType, Vector } from 'apache-arrow';
import { VqlDataError } from './errors.js';
import type { ContextColumn, EventTable } from './types.js';

/** Bumped whenever the on-disk layout or the normalization changes, so old caches are rebuilt. */
export const STORE_FORMAT_VERSION = 1;

interface StoreMeta {
  format: number;
  name: string;
  numEvents: number;
  schema: EventTable['schema'];
  vocabularies: EventTable['vocabularies'];
  report: EventTable['report'];
  /** Width per context column, to rebuild flat views. */
  widths: Record<string, number>;
}

function columnVector(values: ContextColumn | Float64Array, width: number): Vector {
  const type = values instanceof Int32Array ? new Int32() : values instanceof Float32Array ? new Float32() : new Float64();
  if (width === 1) return makeVector(values);
  const rows = values.length / width;
  const child = makeData({ type: type as DataType, length: values.length, nullCount: 0, data: values } as never);
  const list = new FixedSizeList(width, new Field('v', type, false));
  return makeVector(makeData({ type: list, length: rows, nullCount: 0, child } as never));
}

/** The flat typed-array view of a column: zero-copy when the file has one record batch. */
function columnValues<T extends Int32Array | Float32Array | Float64Array>(table: Table, name: string, file: string): T {
  const vector = table.getChild(name);
  if (vector === null) throw new VqlDataError('CACHE_CORRUPT', `${file}: column "${name}" is missing.`);
  // `values` may run past `length` (buffers are padded to 8 bytes): cut to the logical rows.
  const leaf = (d: Data): T =>
    d.type instanceof FixedSizeList ? leaf(d.children[0]!) : ((d.values as T).subarray(d.offset, d.offset + d.length) as T);
  if (vector.data.length === 1) return leaf(vector.data[0]!);
  // Several batches (not written by us, but valid Arrow): concatenate once.
  const parts = vector.data.map(leaf);
  const out = new (parts[0]!.constructor as new (n: number) => T)(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p as never, o);
    o += p.length;
  }
  return out;
}

function widthOf(table: EventTable, name: string, rows: number, values: ContextColumn): number {
  const w = values.length / rows;
  if (!Number.isInteger(w)) throw new VqlDataError('INVALID_ARGUMENT', `${table.name}: context "${name}" has ${values.length} values for ${rows} rows.`);
  return w;
}

/**
 * Writes a table as Arrow IPC files (`events.arrow`, `items.arrow`, `users.arrow`) plus
 * `meta.json` into `dir`, atomically (a temp folder renamed into place).
 */
export function saveEventTable(table: EventTable, dir: string): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const widths: Record<string, number> = {};
  const events: Record<string, Vector> = {
    user: makeVector(table.user),
    item: makeVector(table.item),
    time: makeVector(table.time),
    label: makeVector(table.label),
  };
  for (const [name, values] of Object.entries(table.eventContext)) {
    widths[name] = widthOf(table, name, table.numEvents, values);
    events[`ctx:${name}`] = columnVector(values, widths[name]);
  }
  const items: Record<string, Vector> = { rawItemId: makeVector(table.rawItemId) };
  for (const [name, values] of Object.entries(table.itemContext)) {
    widths[name] = widthOf(table, name, table.schema.numItems + 1, values);
    items[`ctx:${name}`] = columnVector(values, widths[name]);
  }
  const userStart = table.userOffsets.subarray(0, table.schema.numUsers + 1);
  const users: Record<string, Vector> = { rawUserId: makeVector(table.rawUserId), start: makeVector(userStart) };
  writeFileSync(join(tmp, 'events.arrow'), tableToIPC(new Table(events), 'file'));
  writeFileSync(join(tmp, 'items.arrow'), tableToIPC(new Table(items), 'file'));
  writeFileSync(join(tmp, 'users.arrow'), tableToIPC(new Table(users), 'file'));
  const meta: StoreMeta = {
    format: STORE_FORMAT_VERSION,
    name: table.name,
    numEvents: table.numEvents,
    schema: table.schema,
    vocabularies: table.vocabularies,
    report: table.report,
    widths,
  };
  writeFileSync(join(tmp, 'meta.json'), JSON.stringify(meta));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

function readIpc(file: string): Table {
  try {
    return tableFromIPC(readFileSync(file));
  } catch (error) {
    throw new VqlDataError('CACHE_CORRUPT', `${file}: not a readable Arrow IPC file (${(error as Error).message}).`);
  }
}

/** Reloads a table written by `saveEventTable`; columns are views into the file buffers. */
export function loadEventTable(dir: string): EventTable {
  const metaFile = join(dir, 'meta.json');
  if (!existsSync(metaFile)) throw new VqlDataError('FILE_NOT_FOUND', `loadEventTable: ${metaFile} not found.`);
  let meta: StoreMeta;
  try {
    meta = JSON.parse(readFileSync(metaFile, 'utf8')) as StoreMeta;
  } catch (error) {
    throw new VqlDataError('CACHE_CORRUPT', `${metaFile}: invalid JSON (${(error as Error).message}).`);
  }
  if (meta.format !== STORE_FORMAT_VERSION) {
    throw new VqlDataError('CACHE_CORRUPT', `${metaFile}: format ${meta.format}, expected ${STORE_FORMAT_VERSION}.`);
  }
  const eventsFile = join(dir, 'events.arrow');
  const itemsFile = join(dir, 'items.arrow');
  const usersFile = join(dir, 'users.arrow');
  const events = readIpc(eventsFile);
  const items = readIpc(itemsFile);
  const users = readIpc(usersFile);
  const numUsers = meta.schema.numUsers;
  const numItems = meta.schema.numItems;
  if (events.numRows !== meta.numEvents || items.numRows !== numItems + 1 || users.numRows !== numUsers + 1) {
    throw new VqlDataError('CACHE_CORRUPT', `${dir}: row counts do not match meta.json.`);
  }
  const start = columnValues<Int32Array>(users, 'start', usersFile);
  const userOffsets = new Int32Array(numUsers + 2);
  userOffsets.set(start);
  userOffsets[numUsers + 1] = meta.numEvents;
  const eventContext: Record<string, ContextColumn> = {};
  const itemContext: Record<string, ContextColumn> = {};
  for (const spec of meta.schema.context) {
    if (spec.scope === 'event') eventContext[spec.name] = columnValues(events, `ctx:${spec.name}`, eventsFile);
    else itemContext[spec.name] = columnValues(items, `ctx:${spec.name}`, itemsFile);
  }
  return {
    name: meta.name,
    schema: meta.schema,
    numEvents: meta.numEvents,
    userOffsets,
    user: columnValues(events, 'user', eventsFile),
    item: columnValues(events, 'item', eventsFile),
    time: columnValues(events, 'time', eventsFile),
    label: columnValues(events, 'label', eventsFile),
    eventContext,
    itemContext,
    rawUserId: columnValues(users, 'rawUserId', usersFile),
    rawItemId: columnValues(items, 'rawItemId', itemsFile),
    vocabularies: meta.vocabularies,
    report: meta.report,
  };
}

/**
 * Cache key of a preprocessing run: the source files' paths, sizes and mtimes, the options, and
 * the store format. Any change re-runs preprocessing.
 */
export function cacheKey(name: string, files: string[], options: unknown): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ name, format: STORE_FORMAT_VERSION, options: options ?? null }));
  for (const file of files) {
    const st = statSync(file);
    hash.update(`\n${file}\t${st.size}\t${st.mtimeMs}`);
  }
  return hash.digest('hex').slice(0, 16);
}

export interface CachedTableResult {
  table: EventTable;
  /** True when the table came from the Arrow cache, false when it was (re)built. */
  fromCache: boolean;
  path: string;
}

/**
 * Loads `<cacheDir>/<name>-<key>` when present, otherwise runs `build`, saves the result and
 * returns it. `files` and `options` make up the key (see `cacheKey`).
 */
export async function withTableCache(
  name: string,
  files: string[],
  options: unknown,
  cacheDir: string,
  build: () => Promise<EventTable>,
): Promise<CachedTableResult> {
  const path = join(cacheDir, `${name}-${cacheKey(name, files, options)}`);
  if (existsSync(join(path, 'meta.json'))) {
    try {
      return { table: loadEventTable(path), fromCache: true, path };
    } catch (error) {
      // A corrupt cache entry is rebuilt rather than trusted; any other error is real.
      if (!(error instanceof VqlDataError && error.code === 'CACHE_CORRUPT')) throw error;
    }
  }
  const table = await build();
  mkdirSync(cacheDir, { recursive: true });
  saveEventTable(table, path);
  return { table, fromCache: false, path };
}
