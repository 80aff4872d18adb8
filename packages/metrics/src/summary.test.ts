import { meanStd } from './summary.js';

describe('meanStd', () => {
  it('gives the mean and the sample standard deviation', () => {
    const s = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(s.mean).toBe(5);
    expect(s.std).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(s.n).toBe(8);
    expect(meanStd([0.7])).toEqual({ mean: 0.7, std: 0, n: 1 });
  });

  it('does not lose precision to a large common offset', () => {
    expect(meanStd([1e9 + 1, 1e9 + 2, 1e9 + 3]).std).toBeCloseTo(1, 9);
  });

  it('rejects empty and non-finite input', () => {
    expect(() => meanStd([])).toThrow(/values is empty/);
    expect(() => meanStd([1, Number.NaN])).toThrow(/values\[1\] is NaN/);
  });
});
