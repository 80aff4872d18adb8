import { createRng } from '@vql/runtime';
import { kmeansPlusPlus } from './kmeans.js';
import { VqlQuantizerError } from './errors.js';

function clustered(n: number, k: number, d: number, seed: number): { points: Float32Array; centers: Float32Array } {
  const rng = createRng(seed);
  const centers = Float32Array.from({ length: k * d }, () => 10 * rng.normal());
  const points = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = i % k;
    for (let t = 0; t < d; t++) points[i * d + t] = centers[c * d + t]! + 0.1 * rng.normal();
  }
  return { points, centers };
}

describe('kmeansPlusPlus', () => {
  it('recovers well-separated clusters (one centre per cluster, right sizes)', () => {
    const { points, centers } = clustered(800, 8, 4, 1);
    const result = kmeansPlusPlus(points, 800, 4, 8, createRng(2));
    const matched = new Set<number>();
    for (let c = 0; c < 8; c++) {
      let best = -1;
      let bestD = Infinity;
      for (let j = 0; j < 8; j++) {
        let s = 0;
        for (let t = 0; t < 4; t++) s += (centers[c * 4 + t]! - result.centers[j * 4 + t]!) ** 2;
        if (s < bestD) {
          bestD = s;
          best = j;
        }
      }
      expect(Math.sqrt(bestD)).toBeLessThan(0.1);
      matched.add(best);
    }
    expect(matched.size).toBe(8);
    expect(Array.from(result.counts)).toEqual(new Array(8).fill(100));
  });

  it('is deterministic given the rng and handles fewer points than centres', () => {
    const { points } = clustered(50, 5, 3, 3);
    const a = kmeansPlusPlus(points, 50, 3, 7, createRng('s'));
    const b = kmeansPlusPlus(points, 50, 3, 7, createRng('s'));
    expect(Array.from(a.centers)).toEqual(Array.from(b.centers));
    const few = kmeansPlusPlus(points, 3, 3, 6, createRng(1));
    expect(few.centers.length).toBe(18);
    expect(few.centers.every(Number.isFinite)).toBe(true);
    expect(few.counts.reduce((x, y) => x + y, 0)).toBe(3);
  });

  it('rejects empty input, k < 1 and short arrays', () => {
    expect(() => kmeansPlusPlus(new Float32Array(0), 0, 2, 3, createRng(1))).toThrow(/at least one point/);
    expect(() => kmeansPlusPlus(new Float32Array(4), 2, 2, 0, createRng(1))).toThrow(VqlQuantizerError);
    expect(() => kmeansPlusPlus(new Float32Array(3), 2, 2, 1, createRng(1))).toThrow(/need 4 values, got 3/);
  });
});
