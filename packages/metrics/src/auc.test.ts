import { auc, gauc, gaucDetail } from './auc.js';

/** O(n²) pair count: the definition, to check the fast path against. */
function aucByPairs(labels: number[], scores: number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < labels.length; i++) {
    for (let j = 0; j < labels.length; j++) {
      if (labels[i] === 1 && labels[j] === 0) {
        den++;
        num += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
      }
    }
  }
  return num / den;
}

describe('auc', () => {
  it('matches hand-computed values', () => {
    expect(auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75, 12);
    expect(auc([1, 0], [0.9, 0.1])).toBe(1);
    expect(auc([1, 0], [0.1, 0.9])).toBe(0);
  });

  it('counts ties between classes as one half (average rank)', () => {
    expect(auc([1, 0], [0.5, 0.5])).toBe(0.5);
    // pos {0.5, 0.7}, neg {0.5, 0.5, 0.2}: 0.5 beats 0.2 and ties two → 2; 0.7 beats all → 3. 5/6.
    expect(auc([1, 0, 0, 1, 0], [0.5, 0.5, 0.5, 0.7, 0.2])).toBeCloseTo(5 / 6, 12);
  });

  it('agrees with the pairwise definition on random data with heavy ties', () => {
    let seed = 1;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let trial = 0; trial < 20; trial++) {
      const n = 50 + trial * 7;
      const labels = Array.from({ length: n }, () => (rand() < 0.3 ? 1 : 0));
      labels[0] = 1;
      labels[1] = 0;
      const scores = Array.from({ length: n }, () => Math.round(rand() * 10) / 10);
      expect(auc(labels, scores)).toBeCloseTo(aucByPairs(labels, scores), 12);
    }
  });

  it('accepts typed arrays', () => {
    expect(auc(new Float32Array([0, 1, 1]), new Float64Array([0.2, 0.3, 0.1]))).toBeCloseTo(0.5, 12);
  });

  it('rejects bad input, naming the argument', () => {
    expect(() => auc([0, 1], [0.5])).toThrow(/scores has length 1 but labels has length 2/);
    expect(() => auc([], [])).toThrow(/labels is empty/);
    expect(() => auc([0, 2], [0.1, 0.2])).toThrow(/labels\[1\] is 2; labels must be 0 or 1/);
    expect(() => auc([0, 1], [0.1, Number.NaN])).toThrow(/scores\[1\] is NaN/);
    expect(() => auc([0, 1], [0.1, Infinity])).toThrow(/scores\[1\] is Infinity/);
    expect(() => auc([1, 1, 1], [0.1, 0.2, 0.3])).toThrow(/only one class/);
  });
});

describe('gauc', () => {
  it('weights per-group AUC by group size and skips single-class groups', () => {
    const groups = [1, 1, 1, 1, 2, 2, 3, 3, 3];
    const labels = [0, 0, 1, 1, 1, 0, 1, 1, 1];
    const scores = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.5, 0.5, 0.5];
    // group 1: 0.75 (4 samples), group 2: 0 (2 samples), group 3 skipped.
    const detail = gaucDetail(groups, labels, scores);
    expect(detail.gauc).toBeCloseTo((0.75 * 4 + 0 * 2) / 6, 12);
    expect(detail.groupsUsed).toBe(2);
    expect(detail.groupsSkipped).toBe(1);
    expect(gauc(groups.map(String), labels, scores)).toBeCloseTo(detail.gauc, 12);
  });

  it('throws when every group has a single class', () => {
    expect(() => gauc([1, 1, 2], [1, 1, 0], [0.2, 0.3, 0.4])).toThrow(/all 2 groups contain a single class/);
  });

  it('rejects mismatched lengths', () => {
    expect(() => gauc([1], [0, 1], [0.1, 0.2])).toThrow(/labels has length 2 but groups has length 1/);
  });
});
