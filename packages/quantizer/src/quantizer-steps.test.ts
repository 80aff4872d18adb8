import { createRng } from '@vql/runtime';
import { deadCodes, restartVectors } from './dead-code-restart.js';
import { resolveOptions } from './grouped-quantizer-options.js';
import { subsampleRows, validKeysOf } from './init-sample.js';
import { freshWindow, summarizeWindow } from './window-stats.js';

// The named steps of GroupedQuantizer, each on its own (the class tests cover them together).

describe('resolveOptions', () => {
  it('fills every default and copies the sizes', () => {
    const sizes = [4, 8];
    const o = resolveOptions({ dim: 3, codebookSizes: sizes, seed: 1 }, 'Q');
    expect(o).toEqual({
      dim: 3, codebookSizes: [4, 8], shared: false, beta: 0.25, update: 'gradient', decay: 0.99, eps: 1e-5, metric: 'euclidean', init: 'kmeans++',
      initStd: 1, kmeansIterations: 10, initBatches: 1, initSamples: null, deadCodeSteps: 100, simvq: false, checkFinite: true, seed: 1,
    });
    expect(o.codebookSizes).not.toBe(sizes);
  });

  it('names the option at fault', () => {
    expect(() => resolveOptions({ dim: 3, codebookSizes: [], seed: 1 }, 'Q')).toThrow(/Q: options.codebookSizes must be a non-empty array/);
    expect(() => resolveOptions({ dim: 3, codebookSizes: [4], seed: 1, deadCodeSteps: -1 }, 'Q')).toThrow(/options.deadCodeSteps must be an integer >= 0/);
    expect(() => resolveOptions({ dim: 3, codebookSizes: [4] } as never, 'Q')).toThrow(/options.seed \(number or string\) is required/);
    expect(() => resolveOptions({ dim: 3, codebookSizes: [4], seed: 1, metrc: 'cosine' } as never, 'Q')).toThrow(expect.objectContaining({ code: 'UNKNOWN_OPTION' }));
  });
});

describe('statistics window', () => {
  it('summarises counts as perplexity and unused fraction, errors as means', () => {
    const w = freshWindow(4);
    expect(summarizeWindow(w, 0)).toMatchObject({ size: 4, assignments: 0, perplexity: 0, deadFraction: 1 });
    expect(Number.isNaN(summarizeWindow(w, 0).relativeError)).toBe(true);
    w.counts.set([2, 2, 0, 0]);
    Object.assign(w, { relErrSum: 0.6, relErrN: 3, sqErrSum: 2, sqErrN: 4 });
    const s = summarizeWindow(w, 5);
    expect(s.perplexity).toBeCloseTo(2, 12); // two codes used equally
    expect([s.assignments, s.deadFraction, s.meanSquaredError, s.restarts]).toEqual([4, 0.5, 0.5, 5]);
    expect(s.relativeError).toBeCloseTo(0.2, 12);
    expect(s.counts).not.toBe(w.counts);
  });
});

describe('dead-code restart', () => {
  it('finds codes unused for deadCodeSteps steps', () => {
    expect(deadCodes(Int32Array.of(10, 3, 7, 0), 10, 3)).toEqual([1, 2, 3]);
    expect(deadCodes(Int32Array.of(10, 9), 10, 3)).toEqual([]);
  });

  it('re-seeds from keys drawn ∝ squared error (a drawn key then weighs 0), uniformly once no error is left', () => {
    const batch = { keys: Float32Array.of(1, 1, 2, 2, 3, 3), codes: Int32Array.of(0, 0, 0), sqErr: Float64Array.of(0, 5, 0), n: 3 };
    const one = restartVectors([4, 7], batch, 2, createRng(3));
    expect(one.chosen).toEqual([4, 7]);
    expect(Array.from(one.vectors.subarray(0, 2))).toEqual([2, 2]); // the only key with error goes first
    // Then no weight is left: the second key is drawn uniformly among all three.
    expect([[1, 1], [2, 2], [3, 3]]).toContainEqual(Array.from(one.vectors.subarray(2)));
    const flat = restartVectors([0, 1, 2, 3], { ...batch, sqErr: new Float64Array(3) }, 2, createRng(4));
    expect(flat.chosen).toEqual([0, 1, 2]); // no more codes than keys
    expect(flat.vectors.length).toBe(6);
    expect(restartVectors([1], batch, 2, createRng(5))).toEqual(restartVectors([1], batch, 2, createRng(5)));
  });
});

describe('initialisation sample', () => {
  it('takes the valid keys of the served groups, item-major, normalised under cosine', () => {
    // n = 2 items, G = 2 groups, d = 2; item 1 is padding.
    const keys = Float32Array.of(3, 4, 1, 0, 9, 9, 9, 9);
    expect(validKeysOf(keys, 2, Float32Array.of(1, 0), [1], 2, 2, 'euclidean')).toEqual({ keys: Float32Array.of(1, 0), m: 1 });
    expect(validKeysOf(keys, 2, null, [0, 1], 2, 2, 'euclidean').m).toBe(4);
    const unit = validKeysOf(keys, 1, null, [0], 2, 2, 'cosine').keys;
    expect([unit[0], unit[1]].map((x) => Number(x!.toFixed(6)))).toEqual([0.6, 0.8]);
  });

  it('subsamples rows without replacement, seeded, only above the limit', () => {
    const points = Float32Array.from({ length: 20 }, (_, i) => Math.floor(i / 2)); // 10 rows of [r, r]
    expect(subsampleRows(points, 10, 10, 2, createRng(1)).sample).toBe(points);
    const { sample, count } = subsampleRows(points, 10, 4, 2, createRng(1));
    const rows = Array.from({ length: count }, (_, i) => sample[2 * i]!);
    expect(count).toBe(4);
    expect(new Set(rows).size).toBe(4);
    for (let i = 0; i < count; i++) expect(sample[2 * i + 1]).toBe(sample[2 * i]);
    expect(subsampleRows(points, 10, 4, 2, createRng(1)).sample).toEqual(sample);
  });
});
