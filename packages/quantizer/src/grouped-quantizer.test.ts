import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, initBackend, createRng } from '@vql/runtime';
import { assertNoTensorLeak } from '@vql/runtime/testing';
import { GroupedQuantizer } from './grouped-quantizer.js';
import { VectorQuantizer } from './vector-quantizer.js';
import { Codebook } from './codebook.js';
import { VqlQuantizerError } from './errors.js';

beforeAll(async () => {
  await initBackend();
});

function gaussianKeys(n: number, g: number, d: number, seed: number): tf.Tensor3D {
  const rng = createRng(seed);
  const v = new Float32Array(n * g * d);
  for (let i = 0; i < v.length; i++) v[i] = rng.normal();
  return tf.tensor3d(v, [n, g, d]);
}

/** Brute-force nearest code, float64, for checking the matmul path. */
function bruteNearest(keys: Float32Array, codes: Float32Array, d: number): Int32Array {
  const n = keys.length / d;
  const k = codes.length / d;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += (keys[i * d + t]! - codes[j * d + t]!) ** 2;
      if (s < best) {
        best = s;
        out[i] = j;
      }
    }
  }
  return out;
}

function groupSlice(keys: Float32Array, n: number, g: number, d: number, gg: number): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) out.set(keys.subarray((i * g + gg) * d, (i * g + gg + 1) * d), i * d);
  return out;
}

describe('GroupedQuantizer.quantize', () => {
  it('follows the contract: shapes, nearest codes per group, straight-through forward values', () => {
    const q = new GroupedQuantizer({ dim: 4, codebookSizes: [3, 5, 7], init: 'random', seed: 1 });
    const keys = gaussianKeys(20, 3, 4, 2);
    const out = q.quantize(keys);
    expect(out.quantized.shape).toEqual([20, 3, 4]);
    expect(out.codes.shape).toEqual([20, 3]);
    expect(out.codes.dtype).toBe('int32');
    expect(out.codebookLoss.shape).toEqual([]);
    expect(out.commitmentLoss.shape).toEqual([]);
    const kv = keys.dataSync() as Float32Array;
    const codes = out.codes.dataSync();
    const qv = out.quantized.dataSync();
    for (let g = 0; g < 3; g++) {
      const cv = q.codebookValues(g);
      expect(cv.length).toBe(q.codebookSizes[g]! * 4);
      const expected = bruteNearest(groupSlice(kv, 20, 3, 4, g), cv, 4);
      const fromAssign = q.assign(groupSlice(kv, 20, 3, 4, g), g);
      for (let i = 0; i < 20; i++) {
        expect(codes[i * 3 + g]).toBe(expected[i]);
        expect(fromAssign[i]).toBe(expected[i]);
        for (let t = 0; t < 4; t++) expect(qv[(i * 3 + g) * 4 + t]).toBeCloseTo(cv[expected[i]! * 4 + t]!, 5);
      }
    }
    // Commitment = codebook loss in value (they differ only in where the gradient goes), and
    // both equal the mean squared key–code difference.
    let sse = 0;
    for (let i = 0; i < kv.length; i++) sse += (kv[i]! - qv[i]!) ** 2;
    expect(out.commitmentLoss.dataSync()[0]).toBeCloseTo(sse / kv.length, 5);
    expect(out.codebookLoss.dataSync()[0]).toBeCloseTo(sse / kv.length, 5);
    tf.dispose([keys, out.quantized, out.codes, out.codebookLoss, out.commitmentLoss]);
    q.dispose();
  });

  it('finds the same codes as brute force for many keys and codes (blocked matmul path)', () => {
    const q = new GroupedQuantizer({ dim: 8, codebookSizes: [300], init: 'random', seed: 3 });
    const keys = gaussianKeys(2000, 1, 8, 4);
    const out = q.quantize(keys);
    const expected = bruteNearest(keys.dataSync() as Float32Array, q.codebookValues(0), 8);
    const got = out.codes.dataSync();
    let mismatches = 0;
    for (let i = 0; i < 2000; i++) if (got[i] !== expected[i]) mismatches++;
    // float32 matmul vs float64 can flip exact near-ties only.
    expect(mismatches).toBeLessThanOrEqual(2);
    tf.dispose([keys, out.quantized, out.codes, out.codebookLoss, out.commitmentLoss]);
    q.dispose();
  });

  it('leaves padding out of the losses', () => {
    const q = new GroupedQuantizer({ dim: 3, codebookSizes: [4, 4], init: 'random', seed: 5 });
    const keys = gaussianKeys(6, 2, 3, 6);
    const padded = tf.concat([keys, tf.fill([3, 2, 3], 50)], 0) as tf.Tensor3D;
    const mask = tf.tensor1d([1, 1, 1, 1, 1, 1, 0, 0, 0]);
    const a = q.quantize(keys);
    const b = q.quantize(padded, { mask });
    expect(b.commitmentLoss.dataSync()[0]).toBeCloseTo(a.commitmentLoss.dataSync()[0]!, 5);
    expect(b.codebookLoss.dataSync()[0]).toBeCloseTo(a.codebookLoss.dataSync()[0]!, 5);
    expect(b.codes.shape).toEqual([9, 2]);
    tf.dispose([keys, padded, mask, a.quantized, a.codes, a.codebookLoss, a.commitmentLoss, b.quantized, b.codes, b.codebookLoss, b.commitmentLoss]);
    q.dispose();
  });

  it('shared: one codebook of Σ K_g codes for every group', () => {
    const q = new GroupedQuantizer({ dim: 4, codebookSizes: [16, 64, 256], shared: true, init: 'random', seed: 7 });
    expect(q.codebookValues(0).length).toBe(336 * 4);
    expect(q.codebookValues(2)).toEqual(q.codebookValues(0));
    const keys = gaussianKeys(50, 3, 4, 8);
    const out = q.quantize(keys);
    const codes = out.codes.dataSync();
    const kv = keys.dataSync() as Float32Array;
    const cv = q.codebookValues(0);
    for (let g = 0; g < 3; g++) {
      const expected = bruteNearest(groupSlice(kv, 50, 3, 4, g), cv, 4);
      for (let i = 0; i < 50; i++) expect(codes[i * 3 + g]).toBe(expected[i]);
    }
    expect(Object.keys(q.getWeights()).sort()).toEqual(['shared/codes']);
    tf.dispose([keys, out.quantized, out.codes, out.codebookLoss, out.commitmentLoss]);
    q.dispose();
  });

  it('cosine: keys and codes compared on the unit sphere', () => {
    const q = new GroupedQuantizer({ dim: 5, codebookSizes: [9], metric: 'cosine', init: 'random', seed: 9 });
    const keys = gaussianKeys(40, 1, 5, 10);
    const scaled = tf.mul(keys, 7) as tf.Tensor3D;
    const a = q.quantize(keys);
    const b = q.quantize(scaled);
    expect(Array.from(b.codes.dataSync())).toEqual(Array.from(a.codes.dataSync()));
    const qv = a.quantized.dataSync();
    for (let i = 0; i < 40; i++) {
      let s = 0;
      for (let t = 0; t < 5; t++) s += qv[i * 5 + t]! ** 2;
      expect(Math.sqrt(s)).toBeCloseTo(1, 4);
    }
    expect(Array.from(q.assign(Float32Array.from(keys.dataSync()), 0))).toEqual(Array.from(a.codes.dataSync()));
    tf.dispose([keys, scaled, a.quantized, a.codes, a.codebookLoss, a.commitmentLoss, b.quantized, b.codes, b.codebookLoss, b.commitmentLoss]);
    q.dispose();
  });
});

describe('gradients (finite differences on a tiny case)', () => {
  it('reach the keys through the straight-through path and the codes only through the codebook loss', () => {
    const d = 3;
    const q = new GroupedQuantizer({ dim: d, codebookSizes: [4, 2], init: 'random', beta: 0.25, seed: 11 });
    const n = 5;
    const keys = gaussianKeys(n, 2, d, 12);
    const head = tf.tensor2d(Array.from({ length: 2 * d * 2 }, (_, i) => Math.sin(i + 1)), [2 * d, 2]);
    // A non-linear downstream of the quantized keys: the straight-through gradient w.r.t. the keys
    // must equal its derivative w.r.t. the quantized keys, evaluated at the codes.
    const downstream = (x: tf.Tensor): tf.Scalar => tf.sum(tf.tanh(tf.matMul(tf.reshape(x, [n, 2 * d]), head)));
    const total = (k: tf.Tensor3D): tf.Scalar => {
      const out = q.quantize(k);
      return tf.addN([downstream(out.quantized), out.codebookLoss, tf.mul(q.beta, out.commitmentLoss)]) as tf.Scalar;
    };
    const grads = tf.variableGrads(() => total(keys), q.trainableVariables());
    const gKeys = tf.grad((k: tf.Tensor) => total(k as tf.Tensor3D))(keys);
    const [g0, g1] = q.trainableVariables().map((v) => grads.grads[v.name]!.dataSync());
    const kv = Float32Array.from(keys.dataSync());
    const base = q.quantize(keys);
    const qv = Float32Array.from(base.quantized.dataSync());
    const codesIdx = base.codes.dataSync();
    tf.dispose([base.quantized, base.codes, base.codebookLoss, base.commitmentLoss]);
    const h = 1e-2;
    const evalDown = (x: Float32Array): number => tf.tidy(() => downstream(tf.tensor3d(x, [n, 2, d])).dataSync()[0]!);
    const commitOf = (kArr: Float32Array): number =>
      tf.tidy(() => {
        const o = q.quantize(tf.tensor3d(kArr, [n, 2, d]));
        return o.commitmentLoss.dataSync()[0]!;
      });
    const gk = gKeys.dataSync();
    for (let i = 0; i < kv.length; i++) {
      const plus = Float32Array.from(qv);
      const minus = Float32Array.from(qv);
      plus[i] = plus[i]! + h;
      minus[i] = minus[i]! - h;
      const fdDown = (evalDown(plus) - evalDown(minus)) / (2 * h);
      const kp = Float32Array.from(kv);
      const km = Float32Array.from(kv);
      kp[i] = kp[i]! + 1e-3;
      km[i] = km[i]! - 1e-3;
      const fdCommit = (commitOf(kp) - commitOf(km)) / 2e-3;
      expect(gk[i]).toBeCloseTo(fdDown + q.beta * fdCommit, 2);
    }
    // Codes: the finite difference of the codebook loss alone (the commitment term stops it).
    const vars = q.trainableVariables();
    vars.forEach((v, vi) => {
      const values = Float32Array.from(v.dataSync());
      const analytic = vi === 0 ? g0! : g1!;
      const used = new Set<number>();
      for (let i = 0; i < n; i++) used.add(codesIdx[i * 2 + vi]!);
      for (let e = 0; e < values.length; e++) {
        const row = Math.floor(e / d);
        const cb = (delta: number): number => {
          const p = Float32Array.from(values);
          p[e] = p[e]! + delta;
          tf.tidy(() => v.assign(tf.tensor2d(p, v.shape as [number, number])));
          return tf.tidy(() => q.quantize(keys).codebookLoss.dataSync()[0]!);
        };
        const fd = (cb(1e-3) - cb(-1e-3)) / 2e-3;
        tf.tidy(() => v.assign(tf.tensor2d(values, v.shape as [number, number])));
        expect(analytic[e]).toBeCloseTo(fd, 3);
        if (!used.has(row)) expect(analytic[e]).toBe(0);
      }
    });
    expect(Array.from(g0!).some((x) => Math.abs(x) > 1e-3)).toBe(true);
    tf.dispose([keys, head, gKeys, grads.value, ...Object.values(grads.grads)]);
    q.dispose();
  });

  it('works inside optimizer.minimize without leaking tensors (training mode, EMA and restart on)', async () => {
    const q = new GroupedQuantizer({ dim: 4, codebookSizes: [8, 16], deadCodeSteps: 2, seed: 13 });
    const qe = new GroupedQuantizer({ dim: 4, codebookSizes: [8, 16], update: 'ema', deadCodeSteps: 2, seed: 13 });
    const proj = tf.variable(tf.randomNormal([6, 8], 0, 0.5, 'float32', 14));
    const optimizer = tf.train.adam(0.01);
    const rng = createRng(15);
    const step = (): void => {
      const x = tf.tensor2d(Float32Array.from({ length: 64 * 6 }, () => rng.normal()), [64, 6]);
      for (const quant of [q, qe]) {
        const loss = optimizer.minimize(() => {
          const k = tf.reshape(tf.matMul(x, proj), [64, 2, 4]) as tf.Tensor3D;
          const out = quant.quantize(k, { training: true });
          return tf.addN([tf.mean(tf.square(out.quantized)), out.codebookLoss, tf.mul(quant.beta, out.commitmentLoss)]) as tf.Scalar;
        }, true, [proj, ...quant.trainableVariables()]);
        loss!.dispose();
        quant.update();
      }
      x.dispose();
    };
    await assertNoTensorLeak(step, { warmup: 3, steps: 6, label: 'training step' });
    expect(q.initialized && qe.initialized).toBe(true);
    expect(qe.trainableVariables()).toHaveLength(0);
    const s = q.stats();
    expect(s).toHaveLength(2);
    expect(s[0]!.assignments).toBe(9 * 64);
    expect(s[1]!.size).toBe(16);
    optimizer.dispose();
    proj.dispose();
    q.dispose();
    qe.dispose();
  });
});

describe('bad input', () => {
  it('refuses bad options with the option named', () => {
    expect(() => new GroupedQuantizer({ dim: 4, codebookSizes: [16, 0], seed: 1 })).toThrow(/codebookSizes\[1\].*>= 1, got 0/);
    expect(() => new GroupedQuantizer({ dim: 4, codebookSizes: [], seed: 1 })).toThrow(/codebookSizes must be a non-empty/);
    expect(() => new GroupedQuantizer({ dim: 0, codebookSizes: [4], seed: 1 })).toThrow(/options\.dim must be an integer >= 1/);
    expect(() => new GroupedQuantizer({ dim: 4, codebookSizes: [4], beta: -1, seed: 1 })).toThrow(/beta/);
    expect(() => new GroupedQuantizer({ dim: 4, codebookSizes: [4], update: 'ema', decay: 1, seed: 1 })).toThrow(/decay must be in \(0, 1\)/);
    expect(() => new GroupedQuantizer({ dim: 4, codebookSizes: [4], update: 'ema', simvq: true, seed: 1 })).toThrow(/simvq/);
    expect(() => new GroupedQuantizer({ dim: 4, codebookSizes: [4] } as never)).toThrow(/seed/);
    let caught: unknown = null;
    try {
      new GroupedQuantizer({ dim: 4, codebookSizes: [2.5], seed: 1 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(VqlQuantizerError);
    expect((caught as VqlQuantizerError).code).toBe('INVALID_ARGUMENT');
  });

  it('names shape mismatches, NaN keys and bad masks', () => {
    const q = new GroupedQuantizer({ dim: 4, codebookSizes: [8, 8], init: 'random', seed: 1 });
    const wrongD = tf.zeros([5, 2, 3]) as tf.Tensor3D;
    const wrongG = tf.zeros([5, 3, 4]) as tf.Tensor3D;
    expect(() => q.quantize(wrongD)).toThrow(/keys must have shape \[N, 2, 4\].*got \[5, 2, 3\]/);
    expect(() => q.quantize(wrongG)).toThrow(/G=2 groups/);
    const values = new Float32Array(5 * 2 * 4);
    values[2 * 8 + 4 + 1] = Number.NaN;
    const nan = tf.tensor3d(values, [5, 2, 4]);
    expect(() => q.quantize(nan)).toThrow(/keys\[2, 1, 1\] is NaN/);
    expect(() => q.quantize(nan, { training: true })).toThrow(VqlQuantizerError);
    const ok = tf.zeros([5, 2, 4]) as tf.Tensor3D;
    const badMask = tf.tensor1d([1, 1, 0]);
    const fuzzyMask = tf.tensor1d([1, 0.5, 1, 1, 1]);
    expect(() => q.quantize(ok, { mask: badMask })).toThrow(/mask must have shape \[5\]/);
    expect(() => q.quantize(ok, { mask: fuzzyMask })).toThrow(/got 0\.5 at index 1/);
    expect(() => q.assign(new Float32Array(7), 0)).toThrow(/not a multiple of dim=4/);
    expect(() => q.assign(Float32Array.from([0, 0, Number.POSITIVE_INFINITY, 0]), 1)).toThrow(/key 0 has Infinity at dimension 2/);
    expect(() => q.assign(new Float32Array(4), 2)).toThrow(/group must be an integer in \[0, 1\], got 2/);
    expect(() => q.codebookValues(-1)).toThrow(/group must be/);
    const numTensors = tf.memory().numTensors;
    expect(() => q.quantize(nan)).toThrow();
    expect(tf.memory().numTensors).toBe(numTensors);
    tf.dispose([wrongD, wrongG, nan, ok, badMask, fuzzyMask]);
    q.dispose();
    expect(() => q.quantize(ok)).toThrow(/used after dispose/);
  });
});

describe('weights and fingerprint', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vql-quantizer-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips through getWeights/setWeights and save/load with a stable fingerprint', async () => {
    const keys = gaussianKeys(200, 3, 4, 21);
    for (const opts of [{ update: 'gradient' as const }, { update: 'ema' as const }, { simvq: true }, { shared: true }]) {
      const a = new GroupedQuantizer({ dim: 4, codebookSizes: [4, 8, 16], seed: 22, ...opts });
      a.initialize(keys);
      const w = a.getWeights();
      const names = Object.keys(w).sort();
      if (opts.shared === true) expect(names).toEqual(['shared/codes']);
      else if (opts.update === 'ema') expect(names).toContain('group2/emaSum');
      else if (opts.simvq === true) expect(names).toEqual(['group0/basis', 'group0/linear', 'group1/basis', 'group1/linear', 'group2/basis', 'group2/linear']);
      else expect(names).toEqual(['group0/codes', 'group1/codes', 'group2/codes']);
      const b = new GroupedQuantizer({ dim: 4, codebookSizes: [4, 8, 16], seed: 99, ...opts });
      expect(b.fingerprint()).not.toBe(a.fingerprint());
      b.setWeights(w);
      expect(b.fingerprint()).toBe(a.fingerprint());
      expect(a.fingerprint()).toMatch(/^[0-9a-f]{64}$/);
      const ra = a.quantize(keys);
      const rb = b.quantize(keys);
      expect(Array.from(rb.codes.dataSync())).toEqual(Array.from(ra.codes.dataSync()));
      await a.save(dir);
      const c = await GroupedQuantizer.load(dir);
      expect(c.fingerprint()).toBe(a.fingerprint());
      expect(c.codebookSizes).toEqual([4, 8, 16]);
      expect(c.shared).toBe(opts.shared === true);
      tf.dispose([...Object.values(w), ra.quantized, ra.codes, ra.codebookLoss, ra.commitmentLoss, rb.quantized, rb.codes, rb.codebookLoss, rb.commitmentLoss]);
      a.dispose();
      b.dispose();
      c.dispose();
    }
    keys.dispose();
  });

  it('refuses missing or mis-shaped weights without changing anything', () => {
    const q = new GroupedQuantizer({ dim: 4, codebookSizes: [4, 8], init: 'random', seed: 1 });
    const before = q.fingerprint();
    const w = q.getWeights();
    const bad = tf.zeros([8, 5]);
    expect(() => q.setWeights({ 'group0/codes': w['group0/codes']! })).toThrow(/missing tensor "group1\/codes"/);
    expect(() => q.setWeights({ ...w, 'group1/codes': bad })).toThrow(/"group1\/codes" has shape \[8, 5\], expected \[8, 4\]/);
    expect(q.fingerprint()).toBe(before);
    tf.dispose([...Object.values(w), bad]);
    q.dispose();
  });

  it('is deterministic given the seed', () => {
    const run = (seed: number): string => {
      const q = new GroupedQuantizer({ dim: 4, codebookSizes: [8, 16], update: 'ema', deadCodeSteps: 1, seed });
      for (let s = 0; s < 4; s++) {
        const keys = gaussianKeys(100, 2, 4, 100 + s);
        const out = q.quantize(keys, { training: true });
        tf.dispose([keys, out.quantized, out.codes, out.codebookLoss, out.commitmentLoss]);
      }
      q.update();
      const f = q.fingerprint();
      q.dispose();
      return f;
    };
    expect(run(5)).toBe(run(5));
    expect(run(5)).not.toBe(run(6));
  });
});

describe('unknown option keys', () => {
  it('are errors at every options boundary, naming the key and the closest known one', () => {
    expect(() => new GroupedQuantizer({ dim: 4, codebookSizes: [4], seed: 1, metrc: 'cosine' } as never)).toThrow(
      /GroupedQuantizer: options: unknown option "metrc" \(did you mean "metric"\?\)/,
    );
    expect(() => new VectorQuantizer({ size: 4, dim: 4, seed: 1, codebookSizes: [4] } as never)).toThrow(/VectorQuantizer: options: unknown option "codebookSizes"/);
    expect(() => new Codebook({ size: 4, dim: 4, seed: 1, decays: 0.9 } as never)).toThrow(expect.objectContaining({ code: 'UNKNOWN_OPTION' }));
    const q = new GroupedQuantizer({ dim: 4, codebookSizes: [4], seed: 1, init: 'random' });
    try {
      tf.tidy(() => {
        expect(() => q.quantize(tf.zeros([2, 1, 4]) as tf.Tensor3D, { train: true } as never)).toThrow(/quantize: options: unknown option "train" \(did you mean "training"\?\)/);
      });
    } finally {
      q.dispose();
    }
  });
});
