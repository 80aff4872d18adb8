import { tf, initBackend, createRng } from '@vql/runtime';
import { Codebook } from './codebook.js';

beforeAll(async () => {
  await initBackend();
});

describe('Codebook', () => {
  it('EMA update with Laplace smoothing matches the formula of van den Oord et al. (2017)', () => {
    const cb = new Codebook({ size: 3, dim: 2, update: 'ema', decay: 0.8, eps: 0.01, seed: 1 });
    const init = cb.values();
    const points = Float32Array.from([1, 1, 3, 1, -2, 0]);
    const codes = Int32Array.from([0, 0, 2]);
    cb.emaUpdate(points, codes, 3);
    // Initial state: N_j = 1, m_j = c_j (one pseudo-observation at the initial code).
    const n = [0.8 + 0.2 * 2, 0.8, 0.8 + 0.2 * 1];
    const m = [
      [0.8 * init[0]! + 0.2 * 4, 0.8 * init[1]! + 0.2 * 2],
      [0.8 * init[2]!, 0.8 * init[3]!],
      [0.8 * init[4]! + 0.2 * -2, 0.8 * init[5]!],
    ];
    const total = n[0]! + n[1]! + n[2]!;
    const got = cb.values();
    for (let j = 0; j < 3; j++) {
      const smoothed = ((n[j]! + 0.01) / (total + 3 * 0.01)) * total;
      expect(got[j * 2]).toBeCloseTo(m[j]![0]! / smoothed, 5);
      expect(got[j * 2 + 1]).toBeCloseTo(m[j]![1]! / smoothed, 5);
    }
    expect(cb.trainableVariables()).toHaveLength(0);
    cb.dispose();
  });

  it('SimVQ: codes = basis · W, only W trains, restart solves b·W = v', () => {
    const cb = new Codebook({ size: 4, dim: 3, simvq: true, seed: 2 });
    const [w] = cb.trainableVariables();
    expect(w!.shape).toEqual([3, 3]);
    tf.tidy(() => w!.assign(tf.tensor2d([[2, 0, 1], [0, 1, 0], [1, 0, 3]])));
    const target = Float32Array.from([0.5, -1, 2]);
    expect(cb.restart([2], target)).toBe(1);
    const v = cb.values();
    for (let t = 0; t < 3; t++) expect(v[2 * 3 + t]).toBeCloseTo(target[t]!, 5);
    // A singular W cannot place a code: the restart is skipped, not faked.
    tf.tidy(() => w!.assign(tf.zeros([3, 3])));
    expect(cb.restart([1], target)).toBe(0);
    cb.dispose();
  });

  it('k-means initialisation puts codes on the data and validates options', () => {
    const cb = new Codebook({ size: 2, dim: 1, seed: 3 });
    cb.initializeFrom(Float32Array.from([-5, -5.2, -4.8, 7, 7.1, 6.9]), 6, createRng(1));
    const v = Array.from(cb.values()).sort((a, b) => a - b);
    expect(v[0]).toBeCloseTo(-5, 4);
    expect(v[1]).toBeCloseTo(7, 4);
    expect(cb.initialized).toBe(true);
    cb.dispose();
    expect(() => cb.values()).toThrow(/after dispose/);
    expect(() => new Codebook({ size: 0, dim: 4 })).toThrow(/size \(K\) must be an integer >= 1, got 0/);
    expect(() => new Codebook({ size: 4, dim: 4, eps: 0, update: 'ema' })).toThrow(/eps must be/);
    expect(() => new Codebook({ size: 4, dim: 4, initStd: Number.NaN })).toThrow(/initStd/);
  });
});
