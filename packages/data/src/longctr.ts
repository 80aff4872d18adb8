import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parquetSchema } from 'hyparquet';
import type { SchemaTree } from 'hyparquet';
import { VqlDataError, checkOptionKeys } from './errors.js';
import { EventTableBuilder } from './event-table-builder.js';
import type { FeatureDecl } from './event-table-builder.js';
import { parquetFileMetadata, parquetRows } from './event-source.js';
import { Growable } from './growable.js';
import { percentileLinear } from './stats.js';
import type { CtrSampleSet, CtrSplits } from './samples.js';
import type { EventTable } from './types.js';

/**
 * The reczoo/LongCTR (FuxiCTR) Parquet layout, read as is:
 *
 * - `train.parquet`, `valid.parquet`, `test.parquet` (or `*_longctr.parquet`): one row per sample,
 *   meta columns `user_index`, `item_index` (the target), `seq_len` (how many of the user's
 *   behaviours precede the sample) and a 0/1 label column (`label` or `is_click`).
 * - `user_info.parquet`: row `u` is user_index `u`; list column `full_item_seq` holds the user's
 *   behaviours (item_index values, oldest first). A sample's history is `full_item_seq[:seq_len]`.
 * - `item_info.parquet`: one row per item_index (row 0 = padding), item feature columns.
 */
export interface LongCtrOptions {
  /** Folder holding the five files. */
  dir?: string;
  trainFile?: string;
  validFile?: string;
  testFile?: string;
  userInfoFile?: string;
  itemInfoFile?: string;
  /** Label column of the sample files; default `label`, else `is_click`. */
  labelColumn?: string;
  /** List column of user_info; default `full_item_seq`. */
  sequenceColumn?: string;
  /** item_info columns used as item features; default every categorical / numeric / integer-list column. */
  itemFeatures?: string[];
  /** Table name; default the folder's name. */
  name?: string;
}

export interface LongCtrDataset {
  /** The behaviour sequences as events (time = position in the sequence, in "seconds"). */
  table: EventTable;
  /** The given samples; a history is the user's rows before `endOffset` = start + seq_len. */
  splits: CtrSplits;
  /** Samples skipped because their user has no behaviour at all (nothing to attend to). */
  skippedSamples: number;
  /** item_info columns not used: float lists (pretrained embeddings) and identity copies of item_index. */
  skippedItemColumns: string[];
}

const SPLITS = ['train', 'valid', 'test'] as const;

function findFile(dir: string | undefined, given: string | undefined, names: string[], what: string): string {
  if (given !== undefined) return given;
  if (dir === undefined) throw new VqlDataError('INVALID_ARGUMENT', `readLongCtr: give options.dir or options.${what}.`);
  for (const n of names) if (existsSync(join(dir, n))) return join(dir, n);
  throw new VqlDataError('FILE_NOT_FOUND', `LongCTR layout: none of ${names.join(', ')} in ${dir}.`);
}

function leafType(node: SchemaTree): string | undefined {
  return node.children.length === 0 ? node.element.type : leafType(node.children[0]!);
}

type ColumnKind = 'categorical' | 'numeric' | 'int-list' | 'float-list';

function kindOf(node: SchemaTree): ColumnKind {
  const leaf = leafType(node);
  const isFloat = leaf === 'FLOAT' || leaf === 'DOUBLE';
  if (node.children.length > 0) return isFloat ? 'float-list' : 'int-list';
  return isFloat ? 'numeric' : 'categorical';
}

function intAt(value: unknown, where: string, column: string, min: number): number {
  const n = typeof value === 'bigint' ? Number(value) : typeof value === 'number' ? value : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new VqlDataError('BAD_VALUE', `${where} column "${column}": expected an integer >= ${min}, got ${value === null || value === undefined ? 'null' : String(value)}.`);
  }
  return n;
}

/**
 * Reads a LongCTR-layout folder into an `EventTable` (built by the shared builder) and the
 * given train / valid / test samples. Every bad cell throws `VqlDataError` naming the file,
 * row group, row, column and value.
 */
export async function readLongCtr(options: LongCtrOptions): Promise<LongCtrDataset> {
  checkOptionKeys(
    options,
    ['dir', 'trainFile', 'validFile', 'testFile', 'userInfoFile', 'itemInfoFile', 'labelColumn', 'sequenceColumn', 'itemFeatures', 'name'],
    'readLongCtr',
  );
  const { dir } = options;
  const files = {
    train: findFile(dir, options.trainFile, ['train.parquet', 'train_longctr.parquet'], 'trainFile'),
    valid: findFile(dir, options.validFile, ['valid.parquet', 'valid_longctr.parquet'], 'validFile'),
    test: findFile(dir, options.testFile, ['test.parquet', 'test_longctr.parquet'], 'testFile'),
    userInfo: findFile(dir, options.userInfoFile, ['user_info.parquet'], 'userInfoFile'),
    itemInfo: findFile(dir, options.itemInfoFile, ['item_info.parquet'], 'itemInfoFile'),
  };
  const seqColumn = options.sequenceColumn ?? 'full_item_seq';

  // item_info: item features, kind from the Parquet schema (read whole: one row per item).
  const itemMeta = await parquetFileMetadata(files.itemInfo);
  if (!itemMeta.columns.includes('item_index')) {
    throw new VqlDataError('MISSING_COLUMN', `${basename(files.itemInfo)}: missing column "item_index"; the file has ${itemMeta.columns.join(', ')} [${files.itemInfo}]`);
  }
  const tree = parquetSchema(itemMeta.metadata).children;
  const wanted = options.itemFeatures ?? itemMeta.columns.filter((c) => c !== 'item_index');
  for (const c of wanted) {
    if (!itemMeta.columns.includes(c)) throw new VqlDataError('MISSING_COLUMN', `${basename(files.itemInfo)}: options.itemFeatures names "${c}", not a column (${itemMeta.columns.join(', ')}).`);
  }
  const skippedItemColumns: string[] = [];
  const featureColumns: Array<{ column: string; kind: ColumnKind }> = [];
  for (const c of wanted) {
    const kind = kindOf(tree.find((t) => t.element.name === c)!);
    if (kind === 'float-list') skippedItemColumns.push(c);
    else featureColumns.push({ column: c, kind });
  }
  const itemRows: Array<{ item: number; values: unknown[]; where: string }> = [];
  const identity = featureColumns.map(() => true);
  for await (const row of parquetRows(files.itemInfo, ['item_index', ...featureColumns.map((f) => f.column)])) {
    const item = intAt(row.values[0], row.where, 'item_index', 0);
    if (item === 0) continue; // the padding row
    const values = row.values.slice(1);
    values.forEach((v, k) => {
      if (identity[k] && !(Number(v) === item)) identity[k] = false;
    });
    itemRows.push({ item, values, where: row.where });
  }
  // A column equal to item_index everywhere (LongCTR's `item_id` copy) adds nothing: skip it.
  const used = featureColumns.filter((f, k) => {
    if (identity[k] && options.itemFeatures === undefined && itemRows.length > 0) skippedItemColumns.push(f.column);
    return !(identity[k] && options.itemFeatures === undefined && itemRows.length > 0);
  });
  const usedIndex = used.map((f) => featureColumns.indexOf(f));
  const decls: FeatureDecl[] = used.map((f, k) => {
    if (f.kind === 'categorical') return { name: f.column, kind: 'categorical', scope: 'item' };
    if (f.kind === 'int-list') {
      let width = 1;
      for (const r of itemRows) width = Math.max(width, ((r.values[usedIndex[k]!] as unknown[] | null) ?? []).length);
      return { name: f.column, kind: 'multi', scope: 'item', width };
    }
    const values = itemRows.map((r) => Number(r.values[usedIndex[k]!])).filter(Number.isFinite).sort((a, b) => a - b);
    const boundaries: number[] = [];
    for (let q = 1; q < 8 && values.length > 0; q++) {
      const b = percentileLinear(values, q / 8);
      if (boundaries.length === 0 || b > boundaries[boundaries.length - 1]!) boundaries.push(b);
    }
    return { name: f.column, kind: 'numeric', scope: 'item', boundaries: boundaries.length > 0 ? boundaries : [0] };
  });

  const name = options.name ?? (dir !== undefined ? basename(dir) : 'longctr');
  const builder = new EventTableBuilder(name, decls, true);
  for (const r of itemRows) builder.declareItem(r.item);
  for (const r of itemRows) {
    used.forEach((f, k) => {
      const v = r.values[usedIndex[k]!];
      const decl = decls[k]!;
      if (v === null || v === undefined) return;
      if (decl.kind === 'categorical') builder.setItemFeature(r.item, decl.name, builder.intern(decl.name, String(v)));
      else if (decl.kind === 'multi') builder.setItemFeature(r.item, decl.name, (v as unknown[]).map((x) => builder.intern(decl.name, String(x))));
      else {
        const x = Number(v);
        if (!Number.isFinite(x)) throw new VqlDataError('BAD_VALUE', `${r.where} column "${f.column}": expected a finite number, got ${String(v)}.`);
        builder.setItemFeature(r.item, decl.name, x);
      }
    });
  }

  // user_info: row u is user_index u; its sequence becomes the user's events at times 0, 1, 2, ...
  const userMeta = await parquetFileMetadata(files.userInfo);
  const hasUserIndex = userMeta.columns.includes('user_index');
  builder.setSourceFile(files.userInfo);
  const seqLength: number[] = [];
  for await (const row of parquetRows(files.userInfo, hasUserIndex ? [seqColumn, 'user_index'] : [seqColumn])) {
    const u = seqLength.length;
    if (hasUserIndex && intAt(row.values[1], row.where, 'user_index', 0) !== u) {
      throw new VqlDataError('BAD_VALUE', `${row.where} column "user_index": expected ${u} (row u must hold user_index u, as LongCTR's loader indexes rows), got ${String(row.values[1])}.`);
    }
    const seq = row.values[0];
    if (seq !== null && !Array.isArray(seq)) {
      throw new VqlDataError('BAD_VALUE', `${row.where} column "${seqColumn}": expected a list of item_index values, got ${typeof seq}.`);
    }
    const items = (seq as unknown[] | null) ?? [];
    for (let k = 0; k < items.length; k++) {
      builder.addEvent(u, intAt(items[k], `${row.where} element ${k}`, seqColumn, 1), k, 1, k + 1);
    }
    seqLength.push(items.length);
  }

  // Samples: kept as raw (user_index, item_index, seq_len, label) until the table's dense ids exist.
  const raw = SPLITS.map(() => ({ user: new Growable(Int32Array), item: new Growable(Int32Array), len: new Growable(Int32Array), label: new Growable(Float32Array) }));
  for (const [s, split] of SPLITS.entries()) {
    const file = files[split];
    const meta = await parquetFileMetadata(file);
    const labelColumn = options.labelColumn ?? (meta.columns.includes('label') ? 'label' : 'is_click');
    const out = raw[s]!;
    for await (const row of parquetRows(file, ['user_index', 'item_index', 'seq_len', labelColumn])) {
      const [uv, iv, lv, yv] = row.values;
      const u = intAt(uv, row.where, 'user_index', 0);
      if (u >= seqLength.length) {
        throw new VqlDataError('BAD_VALUE', `${row.where} column "user_index": ${u} is not a row of ${basename(files.userInfo)} (${seqLength.length} users).`);
      }
      const item = intAt(iv, row.where, 'item_index', 1);
      const len = intAt(lv, row.where, 'seq_len', 0);
      if (len > seqLength[u]!) {
        throw new VqlDataError('BAD_VALUE', `${row.where} column "seq_len": ${len} exceeds the ${seqLength[u]} behaviours of user_index ${u} in ${basename(files.userInfo)}.`);
      }
      const y = Number(yv);
      if (y !== 0 && y !== 1) throw new VqlDataError('BAD_VALUE', `${row.where} column "${labelColumn}": expected a 0/1 label, got ${String(yv)}.`);
      builder.declareItem(item);
      out.user.push(u);
      out.item.push(item);
      out.len.push(len);
      out.label.push(y);
    }
  }

  const table = builder.build({ duplicates: 'keep' });
  const denseUser = new Map<number, number>();
  for (let d = 1; d <= table.schema.numUsers; d++) denseUser.set(table.rawUserId[d]!, d);
  const denseItem = new Map<number, number>();
  for (let d = 1; d <= table.schema.numItems; d++) denseItem.set(table.rawItemId[d]!, d);
  let skippedSamples = 0;
  const sets = raw.map((r): CtrSampleSet => {
    const n = r.user.length;
    const user = new Int32Array(n);
    const endOffset = new Int32Array(n);
    const targetItem = new Int32Array(n);
    const targetTime = new Float64Array(n);
    const label = new Float32Array(n);
    let w = 0;
    for (let i = 0; i < n; i++) {
      const d = denseUser.get(r.user.get(i));
      if (d === undefined) {
        skippedSamples++;
        continue;
      }
      user[w] = d;
      endOffset[w] = table.userOffsets[d]! + r.len.get(i);
      targetItem[w] = denseItem.get(r.item.get(i))!;
      targetTime[w] = r.len.get(i); // the position right after the history
      label[w] = r.label.get(i);
      w++;
    }
    return { table, size: w, user: user.slice(0, w), endOffset: endOffset.slice(0, w), targetItem: targetItem.slice(0, w), targetTime: targetTime.slice(0, w), label: label.slice(0, w) };
  });
  return { table, splits: { train: sets[0]!, valid: sets[1]!, test: sets[2]! }, skippedSamples, skippedItemColumns };
}
