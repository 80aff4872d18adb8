import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '@vql/runtime';
import { parquetWriteFile } from 'hyparquet-writer';
import { availableDatasets, createExecutor } from './execute.js';
import { loadConfig } from './load-config.js';
import type { RunRecord } from './results.js';
import { runExperiment } from './runner.js';

// `pnpm experiment --events FILE --schema FILE` and `--longctr DIR` on data written here from
// scratch: users with two favourite categories (90% of their behaviour), so the models have
// something to learn; smoke-sized, two methods.
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vql-user-data-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const USERS = 60;
const ITEMS = 120;
const CATEGORIES = 8;
const categoryOf = (item: number) => item % CATEGORIES;

/** Per user: ~50 behaviours (item ids 1..ITEMS), mostly from the user's two categories. */
function behaviours(seed: number): number[][] {
  const rng = createRng(seed);
  return Array.from({ length: USERS }, () => {
    const likes = [rng.int(CATEGORIES), rng.int(CATEGORIES)];
    return Array.from({ length: 40 + rng.int(20) }, () => {
      if (rng.next() < 0.1) return 1 + rng.int(ITEMS);
      const c = likes[rng.int(2)]!;
      return 1 + c + CATEGORIES * rng.int(ITEMS / CATEGORIES - 1);
    });
  });
}

async function run(flags: Parameters<typeof loadConfig>[0], out: string): Promise<RunRecord[]> {
  const config = loadConfig({ preset: 'smoke', methods: 'vql,last-n', ...flags });
  const smokeStudies = { ...config.studies, ablations: false as const, latency: null };
  const cfg = { ...config, studies: smokeStudies };
  const available = availableDatasets(cfg, join(dir, 'no-shared-data'));
  await runExperiment({ config: cfg, outDir: out, available, executor: createExecutor(join(dir, 'no-shared-data'), () => {}), log: () => {}, progress: false });
  return JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).records as RunRecord[];
}

describe('the experiment on data the user brings', () => {
  it('runs on an event log (CSV, ms times, string item ids, implicit labels) described by a schema', async () => {
    const lines = ['user,item,ts_ms,category,device'];
    behaviours(1).forEach((items, u) => {
      items.forEach((item, k) => lines.push(`${1000 + u},sku-${item},${1_700_000_000_000 + u * 7 + k * 60_000},c${categoryOf(item)},${k % 3 === 0 ? 'app' : 'web'}`));
    });
    const events = join(dir, 'my-log.csv');
    writeFileSync(events, `${lines.join('\n')}\n`);
    const schema = join(dir, 'my-log.schema.json');
    writeFileSync(
      schema,
      JSON.stringify({
        user: 'user',
        item: { column: 'item', ids: 'string' },
        time: { column: 'ts_ms', unit: 'ms' },
        label: 'implicit',
        negatives: { perPositive: 1 },
        features: [
          { name: 'category', kind: 'categorical', scope: 'item' },
          { name: 'device', kind: 'categorical', scope: 'event' },
        ],
      }),
    );
    const records = await run({ events, schema }, join(dir, 'out-events'));
    const main = records.filter((r) => r.studies.includes('main'));
    expect(main.map((r) => r.method).sort()).toEqual(['last-n', 'vql']);
    for (const r of main) {
      expect(r.dataset).toBe('events');
      // Positives come from the user's favourite categories, negatives uniformly: learnable.
      expect(r.auc).toBeGreaterThan(0.55);
      expect(Number.isFinite(r.logloss)).toBe(true);
    }
  }, 240_000);

  it('runs on a LongCTR-layout Parquet folder with its own samples', async () => {
    const d = join(dir, 'longctr');
    mkdirSync(d);
    const seqs = behaviours(2);
    const list = (name: string) => [
      { name, repetition_type: 'OPTIONAL' as const, converted_type: 'LIST' as const, num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED' as const, num_children: 1 },
      { name: 'element', type: 'INT32' as const, repetition_type: 'OPTIONAL' as const },
    ];
    parquetWriteFile({
      filename: join(d, 'user_info.parquet'),
      columnData: [{ name: 'user_index', data: seqs.map((_, u) => u) }, { name: 'full_item_seq', data: seqs }],
      schema: [{ name: 'root', num_children: 2 }, { name: 'user_index', type: 'INT32', repetition_type: 'REQUIRED' }, ...list('full_item_seq')],
    });
    parquetWriteFile({
      filename: join(d, 'item_info.parquet'),
      columnData: [
        { name: 'item_index', data: Array.from({ length: ITEMS + 1 }, (_, i) => i), type: 'INT32' },
        { name: 'cate_id', data: Array.from({ length: ITEMS + 1 }, (_, i) => (i === 0 ? 0 : 1 + categoryOf(i))), type: 'INT32' },
      ],
    });
    // Samples: from position 5 on, the next behaviour (label 1) and a random item (label 0);
    // the last 20% of positions go to valid / test.
    const rng = createRng(3);
    const splits = { train: [] as number[][], valid: [] as number[][], test: [] as number[][] };
    seqs.forEach((items, u) => {
      for (let k = 5; k < items.length; k++) {
        const s = k < items.length * 0.8 ? splits.train : k < items.length * 0.9 ? splits.valid : splits.test;
        s.push([u, items[k]!, k, 1], [u, 1 + rng.int(ITEMS), k, 0]);
      }
    });
    for (const [name, rows] of Object.entries(splits)) {
      parquetWriteFile({
        filename: join(d, `${name}.parquet`),
        columnData: [
          { name: 'user_index', data: rows.map((r) => r[0]!), type: 'INT32' },
          { name: 'item_index', data: rows.map((r) => r[1]!), type: 'INT32' },
          { name: 'seq_len', data: rows.map((r) => r[2]!), type: 'INT32' },
          { name: 'is_click', data: rows.map((r) => r[3]!), type: 'FLOAT' },
        ],
      });
    }
    const records = await run({ longctr: d }, join(dir, 'out-longctr'));
    const main = records.filter((r) => r.studies.includes('main'));
    expect(main.map((r) => r.method).sort()).toEqual(['last-n', 'vql']);
    for (const r of main) {
      expect(r.dataset).toBe('longctr');
      expect(r.auc).toBeGreaterThan(0.55);
    }
  }, 240_000);
});
