import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExperimentConfigError } from './errors.js';
import type { RunRecord } from './results.js';
import { ResultsStore } from './results.js';

const record = (runId: string): RunRecord => ({ runId, auc: 0.7 } as unknown as RunRecord);

describe('ResultsStore never loses results', () => {
  it('resumes the same config and refuses another, naming both configs and the flags', () => {
    const out = mkdtempSync(join(tmpdir(), 'vql-results-'));
    const first = new ResultsStore(out, 'quick', 'aaaa', false, { name: 'quick', seeds: [1], methods: ['vql'] });
    first.add(record('r1'));
    first.add(record('r2'));
    expect(readdirSync(out)).toEqual(['results.json']); // the temp file was renamed into place
    expect(new ResultsStore(out, 'quick', 'aaaa', false, { name: 'quick', seeds: [1], methods: ['vql'] }).records).toHaveLength(2);
    const before = readFileSync(join(out, 'results.json'), 'utf8');
    let error: unknown;
    try {
      new ResultsStore(out, 'quick', 'bbbb', false, { name: 'quick', seeds: [2], methods: ['vql'] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ExperimentConfigError);
    expect((error as ExperimentConfigError).code).toBe('RESULTS_OTHER_CONFIG');
    expect((error as Error).message).toMatch(
      /results\.json holds 2 runs of "quick" seeds 1 \(config aaaa\), not of this run's "quick" seeds 2 \(config bbbb\); they differ in seeds\. Nothing was written\. Use --out <dir> .* or --fresh/,
    );
    expect(readFileSync(join(out, 'results.json'), 'utf8')).toBe(before);
  });

  it('--fresh moves the old file aside instead of overwriting it', () => {
    const out = mkdtempSync(join(tmpdir(), 'vql-results-'));
    new ResultsStore(out, 'quick', 'aaaa', false).add(record('r1'));
    const fresh = new ResultsStore(out, 'quick', 'bbbb', true);
    expect(fresh.movedAside).toBe(join(out, 'results.aaaa.json'));
    expect(JSON.parse(readFileSync(join(out, 'results.aaaa.json'), 'utf8')).records).toHaveLength(1);
    expect(fresh.records).toHaveLength(0);
    fresh.add(record('r9'));
    expect(new ResultsStore(out, 'quick', 'cccc', true).movedAside).toBe(join(out, 'results.bbbb.json'));
    new ResultsStore(out, 'quick', 'cccc', false).add(record('x'));
    expect(new ResultsStore(out, 'quick', 'aaaa', true).movedAside).toBe(join(out, 'results.cccc.json'));
  });

  it('names a corrupt results file and keeps it', () => {
    const out = mkdtempSync(join(tmpdir(), 'vql-results-'));
    writeFileSync(join(out, 'results.json'), '{"experiment":"quick","configHash":"aaaa","records":[{"runId":');
    expect(() => new ResultsStore(out, 'quick', 'aaaa', false)).toThrow(new RegExp(`${join(out, 'results.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not a readable results file .*left as it is`));
    expect(readFileSync(join(out, 'results.json'), 'utf8')).toMatch(/"runId":$/);
    const fresh = new ResultsStore(out, 'quick', 'aaaa', true);
    expect(fresh.movedAside).toBe(join(out, 'results.corrupt.json'));
    expect(existsSync(join(out, 'results.corrupt.json'))).toBe(true);
  });
});
