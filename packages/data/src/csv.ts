import { createReadStream, existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { VqlDataError } from './errors.js';

/** One parsed row: its fields and its 1-based line number in the (decompressed) file. */
export interface CsvRow {
  fields: string[];
  line: number;
}

export interface CsvReadOptions {
  /** Field separator; default ','. */
  delimiter?: string;
}

/**
 * Finds `name` or `name.gz` in `dir`. Throws FILE_NOT_FOUND naming every path tried, so a user
 * who brought the file under the other name sees what was expected.
 */
export function resolveDataFile(dir: string, name: string): string {
  const tried = [join(dir, name), join(dir, `${name}.gz`)];
  for (const path of tried) if (existsSync(path) && statSync(path).isFile()) return path;
  throw new VqlDataError('FILE_NOT_FOUND', `Data file not found: tried ${tried.join(' and ')}.`);
}

export function assertFileExists(path: string, what: string): void {
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new VqlDataError('FILE_NOT_FOUND', `${what}: file not found: ${path}.`);
  }
}

/**
 * Streams the rows of a CSV/TSV file (plain or gzip, detected by the `.gz` suffix) through
 * csv-parse, so quoted fields with commas work and a 1 GB log is never one string in memory.
 */
export async function* readCsvRows(path: string, options: CsvReadOptions = {}): AsyncGenerator<CsvRow> {
  assertFileExists(path, 'readCsvRows');
  const file = createReadStream(path);
  const source = path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
  const parser = parse({
    delimiter: options.delimiter ?? ',',
    relax_column_count: true, // column counts are checked by the readers, with file and line
    skip_empty_lines: true,
    bom: true,
    info: true,
  });
  // Errors of the file / gunzip streams do not propagate through pipe(); forward them.
  const forward = (error: Error): void => {
    parser.destroy(error);
  };
  file.on('error', forward);
  if (source !== file) source.on('error', forward);
  source.pipe(parser);
  try {
    for await (const chunk of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      yield { fields: chunk.record, line: chunk.info.lines };
    }
  } catch (error) {
    if (error instanceof VqlDataError) throw error;
    const err = error as Error & { code?: string; lines?: number };
    const where = err.lines !== undefined ? `${basename(path)}:${err.lines}` : basename(path);
    throw new VqlDataError('CSV_SYNTAX', `${where}: cannot parse (${err.code ?? 'error'}): ${err.message} [${path}]`);
  } finally {
    file.destroy();
  }
}

/** Where a value came from, for error messages. */
export interface FieldSite {
  file: string;
  line: number;
  column: string;
}

function site(s: FieldSite): string {
  return `${basename(s.file)}:${s.line} column "${s.column}"`;
}

/** A non-negative integer id (ids in every supported dataset are integers). */
export function parseId(text: string | undefined, s: FieldSite): number {
  const value = text === undefined || text === '' ? Number.NaN : Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new VqlDataError('BAD_VALUE', `${site(s)}: expected a non-negative integer id, got "${text ?? ''}".`);
  }
  return value;
}

/** A finite number; empty, "NaN" and "Infinity" are refused. */
export function parseNumber(text: string | undefined, s: FieldSite): number {
  const value = text === undefined || text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(value)) {
    throw new VqlDataError('BAD_VALUE', `${site(s)}: expected a finite number, got "${text ?? ''}".`);
  }
  return value;
}

/** Column positions by name; throws MISSING_COLUMN naming the file and the absent columns. */
export function columnIndex<const K extends string>(
  header: string[],
  required: readonly K[],
  file: string,
): Record<K, number> {
  const trimmed = header.map((h) => h.trim());
  const missing = required.filter((name) => !trimmed.includes(name));
  if (missing.length > 0) {
    throw new VqlDataError(
      'MISSING_COLUMN',
      `${basename(file)}:1: missing column(s) ${missing.map((m) => `"${m}"`).join(', ')}; header is ${trimmed.join(',')} [${file}]`,
    );
  }
  const out = {} as Record<K, number>;
  for (const name of required) out[name] = trimmed.indexOf(name);
  return out;
}

export function checkColumnCount(row: CsvRow, expected: number, file: string): void {
  if (row.fields.length !== expected) {
    throw new VqlDataError(
      'BAD_COLUMN_COUNT',
      `${basename(file)}:${row.line}: expected ${expected} columns, got ${row.fields.length} [${file}]`,
    );
  }
}
