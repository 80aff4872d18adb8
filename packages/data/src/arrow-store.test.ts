import { mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEventTable, saveEventTable, withTableCache } from './arrow-store.js';
import { readMovieLens } from './movielens.js';
import { generateSynthetic } from './synthetic.js';
import { tinySyntheticConfig } from './testing/presets.js';
import { writeFixture } from './testing/fixtures.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vql-data-arrow-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Arrow event store', () => {
  it('round-trips every column, including multi-valued context, as views into the file', () => {
    const { table } = generateSynthetic(tinySyntheticConfig);
    const path = join(dir, 'synthetic');
    saveEventTable(table, path);
    const back = loadEventTable(path);
    expect(back.schema).toEqual(table.schema);
    expect(back.report).toEqual(table.report);
    expect(back.vocabularies).toEqual(table.vocabularies);
    for (const key of ['userOffsets', 'user', 'item', 'time', 'label', 'rawUserId', 'rawItemId'] as const) {
      expect(back[key]).toEqual(table[key]);
    }
    expect(back.eventContext.behavior).toEqual(table.eventContext.behavior);
    expect(back.itemContext.category).toEqual(table.itemContext.category);
    // zero-copy: the columns share one ArrayBuffer (the file buffer), not one each
    expect(back.item.buffer).toBe(back.time.buffer);
    expect(back.item.buffer.byteLength).toBe(readFileSync(join(path, 'events.arrow')).buffer.byteLength);
  });

  it('caches by source size/mtime and options, and rebuilds when either changes', async () => {
    const d = join(dir, 'ml');
    writeFixture(join(d, 'movies.csv'), 'movieId,title,genres\n1,"A, B",Drama|Comedy\n2,C,Drama\n');
    const ratings = writeFixture(join(d, 'ratings.csv'), 'userId,movieId,rating,timestamp\n1,1,4,10\n1,2,2,20\n');
    const files = [ratings, join(d, 'movies.csv')];
    let builds = 0;
    const build = () => {
      builds++;
      return readMovieLens({ dir: d });
    };
    const cache = join(dir, 'cache');
    const first = await withTableCache('ml', files, { t: 4 }, cache, build);
    const second = await withTableCache('ml', files, { t: 4 }, cache, build);
    expect([first.fromCache, second.fromCache, builds]).toEqual([false, true, 1]);
    expect(second.table.itemContext.genres).toEqual(first.table.itemContext.genres);
    expect(second.table.schema.context).toEqual(first.table.schema.context);
    expect((await withTableCache('ml', files, { t: 3 }, cache, build)).fromCache).toBe(false);
    utimesSync(ratings, new Date(), new Date(Date.now() + 5000));
    expect((await withTableCache('ml', files, { t: 4 }, cache, build)).fromCache).toBe(false);
    expect(builds).toBe(3);
  });

  it('rebuilds a corrupt cache entry instead of trusting it', async () => {
    const { table } = generateSynthetic(tinySyntheticConfig);
    const cache = join(dir, 'cache2');
    const files = [writeFixture(join(dir, 'src.txt'), 'x')];
    const first = await withTableCache('syn', files, {}, cache, async () => table);
    writeFixture(join(first.path, 'events.arrow'), 'not arrow');
    const again = await withTableCache('syn', files, {}, cache, async () => table);
    expect(again.fromCache).toBe(false);
    expect(loadEventTable(again.path).numEvents).toBe(table.numEvents);
  });
});
