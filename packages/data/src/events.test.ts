import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table, tableToIPC, vectorFromArray } from 'apache-arrow';
import { parquetWriteFile } from 'hyparquet-writer';
import { VqlDataError } from './errors.js';
import type { EventSchema } from './event-schema.js';
import { loadEventSchema } from './event-schema.js';
import { eventSamplingOptions, readEvents } from './events.js';
import { buildCtrSamples } from './samples.js';
import { writeFixture } from './testing/fixtures.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vql-data-events-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function errorOf(promise: Promise<unknown>): Promise<VqlDataError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VqlDataError);
  return error as VqlDataError;
}

const schema: EventSchema = {
  user: 'uid',
  item: { column: 'sku', ids: 'string' },
  time: { column: 'ts', unit: 'ms' },
  label: { column: 'clicked' },
  features: [
    { name: 'category', column: 'cat', kind: 'categorical', scope: 'item' },
    { name: 'tags', kind: 'multi', scope: 'item', separator: '|' },
    { name: 'price', kind: 'numeric', scope: 'item', boundaries: [10, 100] },
    { name: 'device', kind: 'categorical', scope: 'event' },
    { name: 'dwell', kind: 'numeric', scope: 'event', default: 0 },
  ],
};

const CSV = [
  'uid,sku,ts,clicked,cat,tags,price,device,dwell',
  '7,A-1,1700000002000,1,shoes,red|sale,59.5,ios,3.5',
  '7,B-2,1700000001000,0,hats,,12,web,',
  '9,A-1,1700000003000,1,shoes,red|sale,59.5,android,1',
  '9,C-3,1700000004000,true,bags,blue|new|sale,250,ios,0.5',
  '',
].join('\n');

describe('readEvents', () => {
  it('reads a gzipped CSV by its schema: ids, ms times, labels, item and event features', async () => {
    const file = writeFixture(join(dir, 'log.csv.gz'), CSV);
    const t = await readEvents(file, schema);
    expect(t.name).toBe('log');
    expect(t.schema).toMatchObject({ numUsers: 2, numItems: 3, hasExplicitLabels: true });
    expect(Array.from(t.time)).toEqual([1700000001, 1700000002, 1700000003, 1700000004]); // sorted per user
    expect(Array.from(t.label)).toEqual([0, 1, 1, 1]);
    expect(t.vocabularies['@item']!.slice(1)).toEqual(['A-1', 'B-2', 'C-3']);
    const tags = t.schema.context.find((f) => f.name === 'tags')!;
    expect(tags).toMatchObject({ kind: 'multi', scope: 'item', width: 3 }); // width measured
    // item C-3 (dense 3): tags blue, new, sale
    const vocab = t.vocabularies['tags']!;
    expect(Array.from(t.itemContext['tags']!.subarray(9, 12), (id) => vocab[id])).toEqual(['blue', 'new', 'sale']);
    expect(Array.from(t.itemContext['price']!)).toEqual([0, 59.5, 12, 250]);
    expect(Array.from(t.eventContext['dwell']!)).toEqual([0, 3.5, 1, 0.5]); // blank → default 0
    expect(t.vocabularies['device']!.slice(1)).toEqual(['ios', 'web', 'android']);
  });

  it('reads TSV with ISO times and implicit labels; the schema sets seeded negatives', async () => {
    const file = writeFixture(join(dir, 'views.tsv'), 'user\titem\twhen\n1\t10\t2024-03-07T10:00:00Z\n1\t11\t2024-03-07\n2\t10\t2024-03-08T00:00:00+02:00\n');
    const s: EventSchema = { user: 'user', item: 'item', time: { column: 'when', unit: 'iso' }, label: 'implicit', negatives: { perPositive: 2, sampling: 'popularity' } };
    const t = await readEvents(file, s);
    expect(t.schema.hasExplicitLabels).toBe(false);
    expect(Array.from(t.time)).toEqual([Date.UTC(2024, 2, 7) / 1000, Date.UTC(2024, 2, 7, 10) / 1000, Date.UTC(2024, 2, 7, 22) / 1000]);
    const opts = eventSamplingOptions(s);
    expect(opts).toEqual({ negativesPerPositive: 2, negativeSampling: 'popularity' });
    const splits = buildCtrSamples(t, { ...opts, split: [0, 0, 1], seed: 1 });
    expect(splits.test.size).toBe(3); // one target with history, plus two sampled negatives
  });

  it('names file, line, column and value for every bad cell', async () => {
    const cases: Array<[string, RegExp]> = [
      ['uid,sku,ts,clicked\n,A,1700000000000,1\n', /bad\.csv:2 column "uid": expected a non-negative integer id.*got a blank value/],
      ['uid,sku,ts,clicked\n0x1F,A,1700000000000,1\n', /bad\.csv:2 column "uid".*got "0x1F"/],
      ['uid,sku,ts,clicked\n1e3,A,1700000000000,1\n', /bad\.csv:2 column "uid".*got "1e3"/],
      ['uid,sku,ts,clicked\n1,A,soon,1\n', /bad\.csv:2 column "ts": expected a finite decimal time in ms, got "soon"/],
      ['uid,sku,ts,clicked\n1,A,1700000000000,2\n', /bad\.csv:2 column "clicked": expected a 0\/1 label, got "2"/],
      ['uid,sku,ts,clicked\n1,A,1700000000000\n', /bad\.csv:2: expected 4 columns/],
      ['uid,sku,time,clicked\n1,A,1,1\n', /bad\.csv:1: missing column\(s\) "ts"/],
    ];
    const s: EventSchema = { user: 'uid', item: { column: 'sku', ids: 'string' }, time: { column: 'ts', unit: 'ms' }, label: { column: 'clicked' } };
    for (const [text, pattern] of cases) {
      const file = writeFixture(join(dir, 'bad.csv'), text);
      expect((await errorOf(readEvents(file, s))).message).toMatch(pattern);
    }
  });

  it('hints at milliseconds when times read as seconds leave nothing', async () => {
    const file = writeFixture(join(dir, 'ms.csv'), 'u,i,t\n1,1,1700000000000\n1,2,1700000001000\n');
    const e = await errorOf(readEvents(file, { user: 'u', item: 'i', time: { column: 't', unit: 's' }, label: 'implicit' }));
    expect(e.code).toBe('EMPTY_DATASET');
    expect(e.message).toMatch(/no events left after cleaning \(2 rows read; dropped 2 in the far future\)\. The times look like milliseconds.*"unit": "ms"/);
  });

  it('collects problems instead of throwing when asked, counting the skipped rows', async () => {
    const file = writeFixture(join(dir, 'mixed.csv'), 'u,i,t\n1,1,100\n,2,101\n1,3,x\n2,1,5\n');
    const problems: string[] = [];
    const t = await readEvents(file, { user: 'u', item: 'i', time: { column: 't', unit: 's' }, label: 'implicit' }, { onProblem: (e) => problems.push(e.message) });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/mixed\.csv:3 column "u"/);
    expect(t.numEvents).toBe(2);
    expect(t.report.droppedOther['bad row']).toBe(2);
    expect(t.report.rowsRead).toBe(4);
  });

  it('refuses a bad schema file naming the key', () => {
    const path = join(dir, 'schema.json');
    writeFileSync(path, JSON.stringify({ user: 'u', item: 'i', time: { column: 't', unit: 'minutes' }, label: 'implicit', featurez: [] }));
    expect(() => loadEventSchema(path)).toThrow(/schema\.json: invalid events schema: .*schema\.time\.unit.*schema: unknown key "featurez"/);
    writeFileSync(path, JSON.stringify({ user: 'u', item: 'i', time: { column: 't', unit: 's' }, label: { column: 'y' }, negatives: { perPositive: 1 } }));
    expect(() => loadEventSchema(path)).toThrow(/schema\.negatives: is only for "label": "implicit"/);
    writeFileSync(path, '{ "user": ');
    expect(() => loadEventSchema(path)).toThrow(/schema\.json: not valid JSON/);
  });

  it('reads Parquet (list column, bigint ids, row groups named in errors) and Arrow IPC', async () => {
    const pq = join(dir, 'log.parquet');
    parquetWriteFile({
      filename: pq,
      rowGroupSize: 2,
      columnData: [
        { name: 'uid', data: [5n, 5n, 6n] },
        { name: 'iid', data: [1, 2, 1] },
        { name: 'ts', data: [10, 20, 30] },
        { name: 'genres', data: [['a', 'b'], ['c'], []] },
      ],
      schema: [
        { name: 'root', num_children: 4 },
        { name: 'uid', type: 'INT64', repetition_type: 'REQUIRED' },
        { name: 'iid', type: 'INT32', repetition_type: 'REQUIRED' },
        { name: 'ts', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
        { name: 'genres', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      ],
    });
    const s: EventSchema = {
      user: 'uid',
      item: 'iid',
      time: { column: 'ts', unit: 's' },
      label: 'implicit',
      features: [{ name: 'genres', kind: 'multi', scope: 'item' }],
    };
    const t = await readEvents(pq, s);
    expect(t.schema).toMatchObject({ numUsers: 2, numItems: 2 });
    expect(Array.from(t.rawUserId)).toEqual([0, 5, 6]);
    expect(t.schema.context[0]).toMatchObject({ name: 'genres', width: 2, vocabSize: 3 });

    const badPq = join(dir, 'bad.parquet');
    parquetWriteFile({ filename: badPq, rowGroupSize: 2, columnData: [{ name: 'uid', data: [1, 2, -3], type: 'INT32' }, { name: 'iid', data: [1, 1, 1], type: 'INT32' }, { name: 'ts', data: [1, 2, 3], type: 'DOUBLE' }] });
    expect((await errorOf(readEvents(badPq, { ...s, features: [] }))).message).toMatch(/bad\.parquet row group 1, row 2 column "uid": expected a non-negative integer id.*got -3/);

    const arrow = join(dir, 'log.arrow');
    const table = new Table({ uid: vectorFromArray([3, 3, 4]), iid: vectorFromArray([7, 8, 7]), ts: vectorFromArray([1, 2, 3]), genres: vectorFromArray(['x|y', 'z', 'x']) });
    writeFileSync(arrow, tableToIPC(table, 'file'));
    const a = await readEvents(arrow, { ...s, features: [{ name: 'genres', kind: 'multi', scope: 'item', separator: '|' }] });
    expect(a.schema).toMatchObject({ numUsers: 2, numItems: 2 });
    expect(a.schema.context[0]).toMatchObject({ width: 2, vocabSize: 3 });
  });
});
