import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { z } from 'zod';
import { VqlDataError } from './errors.js';

/**
 * The schema file of a user's own event log (JSON): which columns hold user, item, time and
 * label, and how each context feature is read. See the README's "Bring your own events".
 */
const column = z.string().min(1);

const idSchema = z.union([
  column,
  z.object({ column, ids: z.enum(['integer', 'string']).optional() }).strict(),
]);

const scope = z.enum(['item', 'event']);

const featureSchema = z.discriminatedUnion('kind', [
  z.object({ name: z.string().min(1), column: column.optional(), kind: z.literal('categorical'), scope }).strict(),
  z
    .object({
      name: z.string().min(1),
      column: column.optional(),
      kind: z.literal('multi'),
      scope,
      /** Splits a text cell ("a|b|c"); list columns (Parquet / Arrow) need none. */
      separator: z.string().min(1).optional(),
      /** Values kept per row; default: the most found in the file (one extra pass). */
      width: z.number().int().min(1).optional(),
    })
    .strict(),
  z
    .object({
      name: z.string().min(1),
      column: column.optional(),
      kind: z.literal('numeric'),
      scope,
      /** Bucket boundaries (ascending); default: 8 quantile buckets of the values read. */
      boundaries: z.array(z.number()).min(1).optional(),
      /** Value of a blank cell; without it a blank is an error. */
      default: z.number().optional(),
    })
    .strict(),
]);

export const eventSchemaSchema = z
  .object({
    /** Name of the dataset in tables and reports; default the file's base name. */
    name: z.string().min(1).optional(),
    /** Default from the file's extension (.csv, .tsv, .parquet, .arrow / .feather / .ipc; .gz allowed for text). */
    format: z.enum(['csv', 'tsv', 'parquet', 'arrow']).optional(),
    /** Text formats only; default ',' for csv and a tab for tsv. */
    delimiter: z.string().length(1).optional(),
    user: idSchema,
    item: idSchema,
    time: z.object({ column, unit: z.enum(['s', 'ms', 'us', 'iso']) }).strict(),
    /** A 0/1 column (true/false also read), or "implicit": every row is a positive. */
    label: z.union([z.literal('implicit'), z.object({ column }).strict()]),
    /** Implicit labels only: seeded negatives drawn per positive when samples are built. */
    negatives: z
      .object({ perPositive: z.number().int().min(1), sampling: z.enum(['uniform', 'popularity']).optional() })
      .strict()
      .optional(),
    features: z.array(featureSchema).optional(),
    cleaning: z
      .object({
        minTime: z.number().optional(),
        maxTime: z.number().optional(),
        timeWindow: z.tuple([z.number(), z.number()]).optional(),
        duplicates: z.enum(['drop', 'keep', 'error']).optional(),
        minEventsPerUser: z.number().int().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.negatives !== undefined && s.label !== 'implicit') {
      ctx.addIssue({ code: 'custom', path: ['negatives'], message: 'is only for "label": "implicit" (explicit labels already have negatives)' });
    }
    const names = new Set<string>();
    (s.features ?? []).forEach((f, i) => {
      if (names.has(f.name)) ctx.addIssue({ code: 'custom', path: ['features', i, 'name'], message: `"${f.name}" is declared twice` });
      names.add(f.name);
      if (f.kind === 'numeric' && f.boundaries !== undefined && f.boundaries.some((b, k) => k > 0 && b <= f.boundaries![k - 1]!)) {
        ctx.addIssue({ code: 'custom', path: ['features', i, 'boundaries'], message: 'must be strictly ascending' });
      }
    });
    if ((s.format === 'parquet' || s.format === 'arrow') && s.delimiter !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['delimiter'], message: `is for csv / tsv files, not ${s.format}` });
    }
  });

export type EventSchema = z.infer<typeof eventSchemaSchema>;
export type EventFeature = NonNullable<EventSchema['features']>[number];
export type EventFileFormat = NonNullable<EventSchema['format']>;

function pathOf(path: ReadonlyArray<PropertyKey>): string {
  let out = 'schema';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `.${String(part)}`;
  return out;
}

/** Validates a schema object; the error names the source and every bad key. */
export function parseEventSchema(input: unknown, source = 'events schema'): EventSchema {
  const result = eventSchemaSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return `${pathOf(issue.path)}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    }
    return `${pathOf(issue.path)}: ${issue.message}`;
  });
  throw new VqlDataError('BAD_SCHEMA', `${source}: invalid events schema: ${problems.join('; ')}.`);
}

/** Reads and validates a schema file. */
export function loadEventSchema(path: string): EventSchema {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new VqlDataError('FILE_NOT_FOUND', `events schema ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new VqlDataError('BAD_SCHEMA', `events schema ${path}: not valid JSON (${(error as Error).message}).`);
  }
  return parseEventSchema(json, path);
}

/** The file format: the schema's `format`, else the file's extension. */
export function eventFileFormat(file: string, schema: EventSchema): EventFileFormat {
  if (schema.format !== undefined) return schema.format;
  const ext = extname(file.endsWith('.gz') ? file.slice(0, -3) : file).toLowerCase();
  switch (ext) {
    case '.csv':
    case '.txt':
      return 'csv';
    case '.tsv':
    case '.tab':
      return 'tsv';
    case '.parquet':
    case '.pq':
      return 'parquet';
    case '.arrow':
    case '.feather':
    case '.ipc':
      return 'arrow';
    default:
      throw new VqlDataError('BAD_SCHEMA', `${file}: cannot tell the format from the extension "${ext}"; set "format" (csv, tsv, parquet, arrow) in the schema.`);
  }
}

export function idColumn(spec: EventSchema['user']): { column: string; ids: 'integer' | 'string' } {
  return typeof spec === 'string' ? { column: spec, ids: 'integer' } : { column: spec.column, ids: spec.ids ?? 'integer' };
}
