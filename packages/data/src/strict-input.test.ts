import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batches } from './batches.js';
import { parseId, parseNumber } from './csv.js';
import { resolveCleaning } from './event-table-builder.js';
import { readMovieLens } from './movielens.js';
import { buildCtrSamples } from './samples.js';
import { generateSynthetic } from './synthetic.js';
import { tinySyntheticConfig } from './testing/presets.js';
import { writeFixture } from './testing/fixtures.js';

const at = { file: '/x/log.csv', line: 4, column: 'userId' };

describe('strict ids and numbers', () => {
  it('refuses blank, hex, exponent, signed and fractional ids', () => {
    expect(parseId('42', at)).toBe(42);
    expect(parseId(' 7 ', at)).toBe(7);
    for (const bad of ['', ' ', '0x1F', '1e3', '-1', '1.0', '+3', 'NaN']) {
      expect(() => parseId(bad, at)).toThrow(/log\.csv:4 column "userId": expected a non-negative integer id/);
    }
    expect(() => parseId(' ', at)).toThrow(/got a blank id/);
  });

  it('reads decimal numbers only', () => {
    expect(parseNumber('1.5e3', at)).toBe(1500);
    expect(parseNumber('-0.25', at)).toBe(-0.25);
    for (const bad of ['', '0x1F', 'Infinity', '1,5', '0b11']) expect(() => parseNumber(bad, at)).toThrow(/expected a finite decimal number/);
  });

  it('a MovieLens file with millisecond timestamps gets a hint, not only "no events left"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vql-data-strict-'));
    try {
      writeFixture(join(dir, 'movies.csv'), 'movieId,title,genres\n1,A,Drama\n');
      writeFixture(join(dir, 'ratings.csv'), 'userId,movieId,rating,timestamp\n1,1,4,1700000000000\n');
      await expect(readMovieLens({ dir })).rejects.toThrow(/no events left after cleaning.*look like milliseconds/);
      writeFixture(join(dir, 'ratings.csv'), 'userId,movieId,rating,timestamp\n,1,4,1700000000\n');
      await expect(readMovieLens({ dir })).rejects.toThrow(/ratings\.csv:2 column "userId".*blank id/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('unknown option keys', () => {
  const ds = generateSynthetic({ ...tinySyntheticConfig, seed: 1 });
  it('buildCtrSamples names the unknown key', () => {
    expect(() => buildCtrSamples(ds.table, { negatives: 3 } as never)).toThrow(/buildCtrSamples: unknown option "negatives" \(did you mean "negativesPerPositive"\?\); allowed: split, negativesPerPositive/);
  });
  it('batches, cleaning and readers do too', async () => {
    expect(() => [...batches(ds.samples.train, { batchSize: 8, maxLen: 4, shufle: true } as never)]).toThrow(/batches: unknown option "shufle"/);
    expect(() => resolveCleaning({ minEvents: 2 } as never)).toThrow(/cleaning: unknown option "minEvents"/);
    await expect(readMovieLens({ dir: '/nowhere', threshold: 3 } as never)).rejects.toThrow(/readMovieLens: unknown option "threshold"/);
  });
});
