import { createRng } from './rng.js';

describe('createRng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const seqA = Array.from({ length: 10 }, () => a.uint32());
    expect(Array.from({ length: 10 }, () => b.uint32())).toEqual(seqA);
    expect(Array.from({ length: 10 }, () => c.uint32())).not.toEqual(seqA);
    expect(createRng('movielens').next()).toBe(createRng('movielens').next());
  });

  it('draws uniforms in [0,1) with the right mean and normals with the right moments', () => {
    const rng = createRng(1);
    let sum = 0;
    let sumN = 0;
    let sumN2 = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      expect(u >= 0 && u < 1).toBe(true);
      sum += u;
      const z = rng.normal();
      sumN += z;
      sumN2 += z * z;
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(sumN / n)).toBeLessThan(0.01);
    expect(Math.abs(sumN2 / n - 1)).toBeLessThan(0.02);
  });

  it('int(n) covers [0, n) uniformly', () => {
    const rng = createRng(5);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[rng.int(7)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });

  it('shuffles in place into a permutation, reproducibly', () => {
    const p = createRng(9).permutation(1000);
    expect(Array.from(p).sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(createRng(9).permutation(1000))).toEqual(Array.from(p));
    const arr = ['a', 'b', 'c', 'd'];
    expect(createRng(2).shuffle(arr)).toBe(arr);
  });

  it('forks into independent, reproducible streams', () => {
    const f1 = createRng(11).fork();
    const f2 = createRng(11).fork();
    expect(f1.uint32()).toBe(f2.uint32());
  });

  it('rejects bad seeds and bounds', () => {
    expect(() => createRng(Number.NaN)).toThrow(/seed must be a finite number/);
    expect(() => createRng({} as unknown as number)).toThrow(/seed must be a number or a string/);
    expect(() => createRng(1).int(0)).toThrow(/n must be a positive integer, got 0/);
  });
});
