import { createReadStream, existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { VqlDataError, checkOptionKeys } from './errors.js';

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
  checkOptionKeys(options, ['delimiter'], 'readCsvRows');
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

const ID_PATTERN = /^\s*[0-9]+\s*$/;
// Plain decimal notation only: hex/binary/octal literals ("0x1F"), "Infinity" and blanks, which
// `Number()` accepts (blank as 0), are refused.
const DECIMAL_PATTERN = /^\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*$/;

/**
 * A non-negative integer id in plain digits. Blank, signed, fractional, exponent ("1e3") and
 * hex ("0x1F") forms are errors: a blank id read as 0 would silently merge users.
 */
export function parseId(text: string | undefined, s: FieldSite): number {
  const value = text !== undefined && ID_PATTERN.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) {
    const why = text === undefined || text.trim() === '' ? 'a blank id' : `"${text}"`;
    throw new VqlDataError('BAD_VALUE', `${site(s)}: expected a non-negative integer id (digits only), got ${why}.`);
  }
  return value;
}

/** A finite decimal number ("12", "-0.5", "1.5e3"); blank, "NaN", "Infinity" and "0x1F" are refused. */
export function parseNumber(text: string | undefined, s: FieldSite): number {
  const value = text !== undefined && DECIMAL_PATTERN.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(value)) {
    throw new VqlDataError('BAD_VALUE', `${site(s)}: expected a finite decimal number, got ${text === undefined || text.trim() === '' ? 'a blank value' : `"${text}"`}.`);
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
