import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { VqlDataError } from './errors.js';
import { readLongCtr } from './longctr.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vql-data-longctr-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const intList = (name: string) => [
  { name, repetition_type: 'OPTIONAL' as const, converted_type: 'LIST' as const, num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED' as const, num_children: 1 },
  { name: 'element', type: 'INT32' as const, repetition_type: 'OPTIONAL' as const },
];
const int = (name: string) => ({ name, type: 'INT32' as const, repetition_type: 'REQUIRED' as const });

/** The five files of the layout, as pandas + pyarrow would write them (3-level lists). */
function writeLayout(d: string, samples: { user: number[]; item: number[]; len: number[]; y: number[] }): void {
  mkdirSync(d, { recursive: true });
  parquetWriteFile({
    filename: join(d, 'user_info.parquet'),
    columnData: [{ name: 'user_index', data: [0, 1, 2] }, { name: 'full_item_seq', data: [[1, 2, 3, 1], [2], []] }],
    schema: [{ name: 'root', num_children: 2 }, int('user_index'), ...intList('full_item_seq')],
  });
  parquetWriteFile({
    filename: join(d, 'item_info.parquet'),
    columnData: [
      { name: 'item_index', data: [0, 1, 2, 3, 4] },
      { name: 'item_id', data: [0, 1, 2, 3, 4] },
      { name: 'cate_id', data: [0, 7, 7, 8, 9] },
      { name: 'emb', data: [[0, 0], [0.1, 0.2], [0.3, 0.1], [0.5, 0.5], [0.9, 0.1]] },
    ],
    schema: [
      { name: 'root', num_children: 4 },
      int('item_index'),
      int('item_id'),
      int('cate_id'),
      { name: 'emb', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', type: 'FLOAT', repetition_type: 'OPTIONAL' },
    ],
  });
  for (const split of ['train', 'valid', 'test']) {
    parquetWriteFile({
      filename: join(d, `${split}.parquet`),
      columnData: [
        { name: 'user_index', data: samples.user },
        { name: 'item_index', data: samples.item },
        { name: 'seq_len', data: samples.len },
        { name: 'is_click', data: samples.y.map((y) => y * 1.0), type: 'FLOAT' },
      ],
    });
  }
}

describe('readLongCtr', () => {
  it('turns user sequences into events and samples into histories of seq_len behaviours', async () => {
    const d = join(dir, 'ok');
    writeLayout(d, { user: [0, 0, 1, 2], item: [2, 4, 3, 1], len: [2, 4, 1, 0], y: [1, 0, 1, 0] });
    const { table, splits, skippedSamples, skippedItemColumns } = await readLongCtr({ dir: d });
    expect(table.schema).toMatchObject({ numUsers: 2, numItems: 4 }); // user 2 has no behaviour
    expect(Array.from(table.item)).toEqual([1, 2, 3, 1, 2]); // dense ids follow item_index
    expect(Array.from(table.time)).toEqual([0, 1, 2, 3, 0]);
    expect(skippedSamples).toBe(3); // user 2's sample, in each of the three files
    expect(skippedItemColumns.sort()).toEqual(['emb', 'item_id']); // float list, identity copy
    expect(table.schema.context).toEqual([{ name: 'cate_id', kind: 'categorical', scope: 'item', vocabSize: 3 }]);
    expect(Array.from(table.itemContext['cate_id']!)).toEqual([0, 1, 1, 2, 3]);
    const t = splits.train;
    expect(t.size).toBe(3);
    expect(Array.from(t.endOffset)).toEqual([2, 4, 5]); // user 1 starts at row 4
    expect(Array.from(t.targetItem)).toEqual([2, 4, 3]); // item 4 only as a target: still kept
    expect(Array.from(t.label)).toEqual([1, 0, 1]);
    for (let i = 0; i < t.size; i++) {
      for (let r = table.userOffsets[t.user[i]!]!; r < t.endOffset[i]!; r++) expect(table.time[r]).toBeLessThan(t.targetTime[i]!);
    }
  });

  it('names file, row group, row, column and value for a bad sample', async () => {
    const d = join(dir, 'bad');
    writeLayout(d, { user: [0, 1], item: [2, 3], len: [2, 5], y: [1, 0] });
    const error = await readLongCtr({ dir: d }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(VqlDataError);
    expect((error as Error).message).toMatch(/train\.parquet row group 0, row 1 column "seq_len": 5 exceeds the 1 behaviours of user_index 1 in user_info\.parquet/);
    await expect(readLongCtr({ dir: join(dir, 'nothing') })).rejects.toThrow(/none of train\.parquet, train_longctr\.parquet in/);
  });
});
