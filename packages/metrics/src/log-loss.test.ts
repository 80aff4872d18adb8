import { logLoss } from './log-loss.js';

describe('logLoss', () => {
  it('matches hand-computed values', () => {
    const expected = -(Math.log(0.9) + Math.log(0.8) + Math.log(0.3)) / 3;
    expect(logLoss([1, 0, 1], [0.9, 0.2, 0.3])).toBeCloseTo(expected, 12);
  });

  it('clips probabilities at eps instead of returning Infinity', () => {
    expect(logLoss([1, 0], [0, 1], 1e-7)).toBeCloseTo(-Math.log(1e-7), 6);
  });

  it('rejects bad input, naming the argument', () => {
    expect(() => logLoss([1, 0], [0.5, 1.5])).toThrow(/probs\[1\] is 1.5; probabilities must be in \[0, 1\]/);
    expect(() => logLoss([1, 0.5], [0.5, 0.5])).toThrow(/labels\[1\] is 0.5/);
    expect(() => logLoss([1], [Number.NaN])).toThrow(/probs\[0\] is NaN/);
    expect(() => logLoss([1], [0.5], 0)).toThrow(/eps must be in \(0, 0.5\)/);
  });
});
