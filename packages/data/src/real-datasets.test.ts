import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetDir, defaultDataDir, loadDatasetWithInfo } from './load-dataset.js';
import { buildCtrSamples } from './samples.js';
import { datasetStats } from './stats.js';

// Figures from ../shared/datasets/README.md.
const EXPECTED = {
  movielens: { users: 610, items: 9724, rows: 100836, p50: 70.5, max: 2698, duplicates: 0 },
  taobao: { users: 814, items: 55233, rows: 84287, p50: 78, max: 539, duplicates: 0 },
  kuairand: { users: 664, items: 9359, rows: 41828, p50: 44, max: null, duplicates: null },
} as const;

const dataDir = defaultDataDir();
const present = (Object.keys(EXPECTED) as (keyof typeof EXPECTED)[]).filter((n) => datasetDir(n, dataDir) !== null);
if (present.length === 0) console.warn(`real-datasets.test: skipped, no dataset found under ${dataDir}`);
const describeReal = present.length > 0 ? describe : describe.skip;

describeReal(`real datasets in ${dataDir}`, () => {
  let cacheDir: string;
  beforeAll(() => {
    cacheDir = mkdtempSync(join(tmpdir(), 'vql-data-real-'));
  });
  afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

  it.each(present)('%s: stats match the README, and the Arrow cache reloads the same table', async (name) => {
    const e = EXPECTED[name];
    const first = await loadDatasetWithInfo(name, { dataDir, cacheDir });
    const s = datasetStats(first.table);
    expect([s.users, s.items, s.rowsRead]).toEqual([e.users, e.items, e.rows]);
    expect(s.length.p50).toBeCloseTo(e.p50, 6);
    if (e.max !== null) expect(s.length.max).toBe(e.max);
    const r = first.table.report;
    expect(s.events).toBe(r.rowsRead - r.droppedDuplicates); // the only cleaning these files need
    if (e.duplicates !== null) expect(r.droppedDuplicates).toBe(e.duplicates);
    const second = await loadDatasetWithInfo(name, { dataDir, cacheDir });
    expect([first.fromCache, second.fromCache]).toEqual([false, true]);
    expect(second.table.item).toEqual(first.table.item);
    expect(second.table.time).toEqual(first.table.time);
    const { train, test } = buildCtrSamples(second.table, { seed: 1 });
    expect(train.size).toBeGreaterThan(test.size * 4);
  });
});
