import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import type { Table, Vector } from 'apache-arrow';
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';
import type { FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { assertFileExists, readCsvRows } from './csv.js';
import { VqlDataError } from './errors.js';

/**
 * One row of a columnar or text source: the values of the requested columns, in request order
 * (text cells are strings, Parquet / Arrow cells keep their type; lists are arrays), and where
 * it came from for error messages ("events.csv:12", "events.parquet row group 3, row 1200").
 */
export interface SourceRow {
  values: unknown[];
  where: string;
}

export type RowSource = AsyncIterable<SourceRow>;

function missingColumns(file: string, wanted: readonly string[], present: readonly string[], where: string): void {
  const missing = wanted.filter((c) => !present.includes(c));
  if (missing.length > 0) {
    throw new VqlDataError(
      'MISSING_COLUMN',
      `${basename(file)}${where}: missing column(s) ${missing.map((m) => `"${m}"`).join(', ')}; the file has ${present.join(', ')} [${file}]`,
    );
  }
}

/** CSV / TSV (plain or .gz) with a header line. */
export async function* textRows(file: string, columns: readonly string[], delimiter: string): RowSource {
  let index: number[] | null = null;
  let width = 0;
  for await (const row of readCsvRows(file, { delimiter })) {
    if (index === null) {
      const header = row.fields.map((h) => h.trim());
      missingColumns(file, columns, header, ':1');
      index = columns.map((c) => header.indexOf(c));
      width = header.length;
      continue;
    }
    if (row.fields.length !== width) {
      throw new VqlDataError('BAD_COLUMN_COUNT', `${basename(file)}:${row.line}: expected ${width} columns (as in the header), got ${row.fields.length} [${file}]`);
    }
    yield { values: index.map((i) => row.fields[i]), where: `${basename(file)}:${row.line}` };
  }
}

export async function parquetFileMetadata(file: string): Promise<{ metadata: FileMetaData; columns: string[] }> {
  assertFileExists(file, 'Parquet');
  const buffer = await asyncBufferFromFile(file);
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (error) {
    throw new VqlDataError('BAD_FILE', `${file}: not a readable Parquet file (${(error as Error).message}).`);
  }
  return { metadata, columns: parquetSchema(metadata).children.map((c) => c.element.name) };
}

/** Parquet, read one row group at a time (memory bounded by the largest group). */
export async function* parquetRows(file: string, columns: readonly string[]): RowSource {
  const { metadata, columns: present } = await parquetFileMetadata(file);
  missingColumns(file, columns, present, '');
  const buffer = await asyncBufferFromFile(file);
  let rowStart = 0;
  for (const [g, group] of metadata.row_groups.entries()) {
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: unknown[][] = [];
    try {
      await parquetRead({
        file: buffer,
        metadata,
        columns: [...columns],
        rowStart,
        rowEnd,
        compressors,
        onComplete: (r) => {
          rows = r;
        },
      });
    } catch (error) {
      throw new VqlDataError('BAD_FILE', `${basename(file)} row group ${g}: cannot decode (${(error as Error).message}) [${file}]`);
    }
    for (let i = 0; i < rows.length; i++) {
      yield { values: rows[i]!, where: `${basename(file)} row group ${g}, row ${rowStart + i}` };
    }
    rowStart = rowEnd;
  }
}

function arrowCell(v: unknown): unknown {
  // List cells come back as Vectors; plain arrays are what the readers expect.
  if (v !== null && typeof v === 'object' && 'toArray' in v && typeof (v as Vector).toArray === 'function') return Array.from((v as Vector).toArray() as ArrayLike<unknown>);
  return v;
}

/** Arrow IPC (file or stream format, e.g. Feather v2), one record batch at a time. */
export async function* arrowRows(file: string, columns: readonly string[]): RowSource {
  assertFileExists(file, 'Arrow');
  let table: Table;
  try {
    table = tableFromIPC(readFileSync(file));
  } catch (error) {
    throw new VqlDataError('BAD_FILE', `${file}: not a readable Arrow IPC file (${(error as Error).message}).`);
  }
  missingColumns(file, columns, table.schema.fields.map((f) => f.name), '');
  let offset = 0;
  for (const [b, batch] of table.batches.entries()) {
    const vectors = columns.map((c) => batch.getChild(c)!);
    for (let i = 0; i < batch.numRows; i++) {
      yield { values: vectors.map((v) => arrowCell(v.get(i))), where: `${basename(file)} record batch ${b}, row ${offset + i}` };
    }
    offset += batch.numRows;
  }
}
